/**
 * Test support for @herald/react: a real events client over the client package's fake
 * EventSource, the WebSocket-era fixture messages, and providers to render hooks in.
 */
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import {
  createEventsClient,
  type EventsClient,
  type EventsClientOptions,
  type HeraldClientError,
} from "@herald/client";
import { act } from "@testing-library/react";
import { type ReactNode, StrictMode } from "react";
import { vi } from "vitest";
import { type FakeEventSources, fakeEventSources } from "../../client/test/fake-event-source.ts";
import { HeraldProvider } from "../src/herald-provider.tsx";

export const BASE = "http://hub.test";
export const LINGER_MS = 1000;

// A path, not a URL object: under happy-dom the global URL is the DOM's, which node:fs refuses.
const FIXTURE = resolve(
  dirname(fileURLToPath(import.meta.url)),
  "../../../../shared/fixtures/legacy-ws-messages.jsonl",
);

/** The messages WebSocket-era clients received, one a line, as they were sent. */
export function legacyMessages(): Record<string, unknown>[] {
  return readFileSync(FIXTURE, "utf8")
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

export interface Harness {
  fakes: FakeEventSources;
  client: EventsClient;
  /** Every `client.subscribe` call the hooks made. */
  subscribe: ReturnType<typeof vi.fn<EventsClient["subscribe"]>>;
  /** What the client reported to `onError`. */
  errors: HeraldClientError[];
  /** A provider around the harness's client, in StrictMode where asked. */
  wrapper: (props: { children?: ReactNode }) => ReactNode;
}

export function createHarness(
  options: { strict?: boolean; maxAttempts?: number; client?: EventsClientOptions } = {},
): Harness {
  const fakes = fakeEventSources();
  const errors: HeraldClientError[] = [];
  const real = createEventsClient({
    baseUrl: BASE,
    EventSource: fakes.EventSource,
    onError: (error) => errors.push(error),
    random: () => 0.5,
    lingerMs: LINGER_MS,
    ...options.client,
  });
  const subscribe = vi.fn<EventsClient["subscribe"]>(real.subscribe);
  const client: EventsClient = { ...real, subscribe };
  const wrapper = ({ children }: { children?: ReactNode }) => {
    const provided = (
      <HeraldProvider client={client} maxAttempts={options.maxAttempts}>
        {children}
      </HeraldProvider>
    );
    return options.strict ? <StrictMode>{provided}</StrictMode> : provided;
  };
  return { fakes, client, subscribe, errors, wrapper };
}

/** Lets queued microtasks run (the client's coalesced re-open), without moving the clock. */
export async function settle(): Promise<void> {
  await act(async () => {
    for (let i = 0; i < 50; i += 1) await Promise.resolve();
  });
}

/** Runs `change` (an event fed to a fake EventSource) inside act, for the re-render it causes. */
export function fire(change: () => void): void {
  act(change);
}

/** The channels of the newest EventSource, or [] where none is open. */
export function openChannels(fakes: FakeEventSources): string[] {
  const source = fakes.instances.at(-1);
  if (!source || source.closed) return [];
  return source.query.getAll("channel");
}
