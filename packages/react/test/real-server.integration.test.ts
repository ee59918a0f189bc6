// @vitest-environment happy-dom
// @vitest-environment-options {"settings":{"fetch":{"disableSameOriginPolicy":true}}}
/**
 * The hooks over a real client, the `eventsource` package and a real SSE server on a free port:
 * what a page gets when messages really travel over HTTP. The `eventsource` package fetches with
 * the page's fetch, here happy-dom's; the page (localhost:3000) and the test server (a free
 * port) are different origins, and the test server sends no CORS headers, hence the option.
 */
import { createEventsClient, type EventsClient, type HeraldClientError } from "@herald/client";
import { act, cleanup, renderHook } from "@testing-library/react";
import { EventSource } from "eventsource";
import { createElement, type ReactNode, StrictMode } from "react";
import { afterEach, beforeEach, expect, it, vi } from "vitest";
import { type SseTestServer, startSseTestServer } from "../../client/test/sse-test-server.ts";
import { HeraldProvider } from "../src/herald-provider.tsx";
import { useImageSSE } from "../src/legacy-hooks.ts";
import type { LegacyMessage } from "../src/legacy-message.ts";
import { useChannel } from "../src/use-channel.ts";
import { legacyMessages } from "./support.tsx";

const LINGER_MS = 50;

let server: SseTestServer;
let client: EventsClient;
/** What the client reported: nothing, in every test here. */
let reported: HeraldClientError[];

beforeEach(async () => {
  server = await startSseTestServer();
  reported = [];
  client = createEventsClient({
    baseUrl: server.baseUrl,
    EventSource,
    lingerMs: LINGER_MS,
    backoff: { initialMs: 20, maxMs: 100 },
    onError: (error) => reported.push(error),
  });
});

afterEach(async () => {
  cleanup();
  expect(reported).toEqual([]);
  client.close();
  await server.close();
});

function strictWrapper({ children }: { children?: ReactNode }): ReactNode {
  return createElement(StrictMode, null, createElement(HeraldProvider, { client }, children));
}

it("useChannel under StrictMode opens one stream and gets each published message once", async () => {
  const got: unknown[] = [];
  const { result } = renderHook(
    () => useChannel(["project.p1", "user.u1"], (message) => got.push(message.data?.n)),
    { wrapper: strictWrapper },
  );
  await vi.waitFor(() => expect(result.current.status).toBe("open"));
  await act(async () => {
    server.publish("project.p1", { type: "data", data: { n: 1 } });
    server.publish("user.u1", { type: "data", data: { n: 2 } });
    server.publish("project.other", { type: "data", data: { n: 99 } });
    server.publish("project.p1", { type: "data", data: { n: 3 } });
    await vi.waitFor(() => expect(got).toHaveLength(3));
  });
  expect(got).toEqual([1, 2, 3]);
  expect(server.requests).toHaveLength(1);
  expect(server.requests[0]?.channels.sort()).toEqual(["project.p1", "user.u1"]);
});

it("useImageSSE hands its array of handlers every WebSocket-era message, fields intact, and lets go on unmount", async () => {
  const fixtures = legacyMessages();
  const all: LegacyMessage[] = [];
  const { result, unmount } = renderHook(
    () => useImageSSE({ fileId: "f_01", eventHandlers: [(message) => all.push(message)] }),
    { wrapper: strictWrapper },
  );
  await vi.waitFor(() => expect(result.current.isConnected).toBe(true));
  await act(async () => {
    for (const fixture of fixtures) server.publish("file.f_01", fixture);
    await vi.waitFor(() => expect(all).toHaveLength(fixtures.length));
  });

  // The same fields and values as over WebSocket (mirrors only added), plus channel and ts.
  all.forEach((message, i) => {
    expect(message).toMatchObject(fixtures[i] ?? {});
    expect(message.channel).toBe("file.f_01");
    expect(typeof message.ts).toBe("number");
  });
  expect(result.current).toMatchObject({ isConnected: true, connectionAttempts: 0 });

  unmount();
  await server.until(() => server.openStreams() === 0);
  expect(client.connection.getSnapshot().status).toBe("idle");
  expect(server.requests).toHaveLength(1);
});

it("reports reconnecting attempts while the server is cut off, then connected again", async () => {
  const { result } = renderHook(() => useImageSSE({ fileId: "f1", eventHandlers: {} }), {
    wrapper: strictWrapper,
  });
  await vi.waitFor(() => expect(result.current.isConnected).toBe(true));
  const seen: number[] = [];
  const stop = client.connection.subscribe((state) => seen.push(state.attempts));
  await act(async () => {
    server.dropConnections();
    await vi.waitFor(() => expect(seen.some((attempts) => attempts > 0)).toBe(true));
    await vi.waitFor(() => expect(result.current.isConnected).toBe(true));
  });
  stop();
  expect(result.current.connectionAttempts).toBe(0);
});
