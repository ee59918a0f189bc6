/** The Image Generator page's logic: its form, and the user's images kept live. */
import { useCallback } from "react";
import { api } from "../api.ts";
import type { FileSettings, GenerationConfig } from "../api-types.ts";
import { useGenerationConfig } from "./use-generation-config.ts";
import { type Generations, useGenerations } from "./use-generations.ts";
import {
  type CommonValues,
  commonRequest,
  type FormState,
  useGeneratorForm,
} from "./use-generator-form.ts";

export type ImageFormValues = CommonValues;

export interface ImageGenerator {
  config: GenerationConfig | undefined;
  configError: string | undefined;
  form: FormState<ImageFormValues>;
  generations: Generations;
}

export function useImageGenerator(): ImageGenerator {
  const { config, error: configError } = useGenerationConfig();
  const generations = useGenerations("image");

  const send = useCallback(
    async (values: ImageFormValues) => {
      const common = commonRequest(values, config);
      const resolution = values.resolution || config?.image.defaultResolution || "1024x1024";
      const request = { ...common, resolution };
      const started = await api.generateImage(request);
      const settings: FileSettings = { style: common.style, resolution, seed: common.seed };
      return { started, settings, prompt: common.prompt };
    },
    [config],
  );

  const form = useGeneratorForm<ImageFormValues>(
    { prompt: "", style: "", resolution: "", seed: "" },
    send,
    generations.track,
  );
  return { config, configError, form, generations };
}
