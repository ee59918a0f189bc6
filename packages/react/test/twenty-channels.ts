/**
 * The page of `renders-only-where-needed.test.ts`: twenty components, each on its own channel,
 * counting how often React calls their functions. Imported only after the test has chosen
 * React's production build, with `@herald/react` as built (Vitest compiles the sources' JSX for
 * React's development runtime, which the production build does not have), and written with
 * `createElement` for the same reason.
 */
import type { EventsClient } from "@herald/client";
import { createElement as h, useState } from "react";
import { createRoot, type Root } from "react-dom/client";

/** @herald/react as npm users get it: its `dist/`, built by tsc for React's JSX runtime. */
type HeraldReact = typeof import("../src/index.ts");
const built = "../dist/index.js";
const { HeraldProvider, useArtifactSSE, useChannel, useConnectionState } = (await import(
  built
)) as HeraldReact;

export interface Page {
  /** How many times each component's function ran, by index. */
  renders: number[];
  /** The `n` of each message component 0 received, in order. */
  seen: number[];
  /** What component 0 last showed. */
  shown: () => string | null;
  root: Root;
}

/** One page per test file: the counters are the module's. */
const renders = Array.from({ length: 20 }, () => 0);
const seen: number[] = [];

function Subscribed() {
  renders[0] = (renders[0] ?? 0) + 1;
  const [count, setCount] = useState(0);
  const { status } = useChannel("project.c0", (message) => {
    seen.push(Number(message.data?.n));
    setCount((n) => n + 1);
  });
  return h("p", { id: "c0" }, `${status}:${count}`);
}

// Half read the whole state from useChannel and a selected field, half are the app's hooks.
function OnItsOwnChannel({ index }: { index: number }) {
  renders[index] = (renders[index] ?? 0) + 1;
  const connection = useChannel(`project.c${index}`, () => {});
  const open = useConnectionState((state) => state.status === "open");
  return h("p", null, `${connection.status}${open}`);
}

function LegacyOnItsOwnChannel({ index }: { index: number }) {
  renders[index] = (renders[index] ?? 0) + 1;
  const { isConnected, connectionAttempts } = useArtifactSSE({
    channel: `project.c${index}`,
    eventHandlers: [() => {}],
  });
  return h("p", null, `${isConnected}${connectionAttempts}`);
}

export function mountTwenty(client: EventsClient, container: HTMLElement): Page {
  const root = createRoot(container);
  const others = renders.slice(1).map((_, i) => {
    const index = i + 1;
    return h(index % 2 === 0 ? OnItsOwnChannel : LegacyOnItsOwnChannel, { key: index, index });
  });
  root.render(h(HeraldProvider, { client }, h(Subscribed), ...others));
  return { renders, seen, root, shown: () => container.querySelector("#c0")?.textContent ?? null };
}
