/** What the generation endpoints accept (styles, resolutions, limits), read once per page. */
import { useEffect, useState } from "react";
import { api } from "../api.ts";
import type { GenerationConfig } from "../api-types.ts";
import { messageOf } from "../format.ts";

export interface GenerationConfigState {
  config: GenerationConfig | undefined;
  error: string | undefined;
}

let cached: Promise<GenerationConfig> | undefined;

/** One request for the whole app: the answer does not change while the server runs. */
function loadConfig(): Promise<GenerationConfig> {
  cached ??= api.config().catch((error: unknown) => {
    cached = undefined; // the next page that asks tries again
    throw error;
  });
  return cached;
}

export function useGenerationConfig(): GenerationConfigState {
  const [state, setState] = useState<GenerationConfigState>({
    config: undefined,
    error: undefined,
  });
  useEffect(() => {
    let live = true;
    loadConfig().then(
      (config) => {
        if (live) setState({ config, error: undefined });
      },
      (error: unknown) => {
        if (live)
          setState({
            config: undefined,
            error: `Could not load the settings: ${messageOf(error)}`,
          });
      },
    );
    return () => {
      live = false;
    };
  }, []);
  return state;
}
