// @vitest-environment happy-dom
// @vitest-environment-options {"settings":{"fetch":{"disableSameOriginPolicy":true}}}
/**
 * The hooks over a real client, the `eventsource` package and a real SSE server on a free port:
 * what a page gets when messages really travel over HTTP. The `eventsource` package fetches with
 * the page's fetch, here happy-dom's; the page (localhost:3000) and the test server (a free
 * port) are different origins, and the test server sends no CORS headers, hence the option.
 */
import {
  createEventsClient,
  type EventsClient,
  type HeraldClientError,
  type Message,
} from "@herald/client";
import { act, cleanup, renderHook } from "@testing-library/react";
import { EventSource } from "eventsource";
import { createElement, type ReactNode, StrictMode } from "react";
import { afterEach, beforeEach, expect, it, vi } from "vitest";
import { type SseTestServer, startSseTestServer } from "../../client/test/sse-test-server.ts";
import { HeraldProvider } from "../src/herald-provider.tsx";
import { useImageSSE } from "../src/legacy-hooks.ts";
import { useChannel } from "../src/use-channel.ts";
import type { EventHandlers } from "../src/use-channel-handlers.ts";
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

it("useImageSSE gets every WebSocket-era message with its fields intact, and lets go on unmount", async () => {
  const fixtures = legacyMessages();
  const all: Message[] = [];
  const tasks: Message[] = [];
  const eventHandlers: EventHandlers = {
    task: (message) => {
      tasks.push(message);
    },
    onMessage: (message) => {
      all.push(message);
    },
  };
  const { result, unmount } = renderHook(() => useImageSSE({ projectId: "p_01", eventHandlers }), {
    wrapper: strictWrapper,
  });
  await vi.waitFor(() => expect(result.current.isConnected).toBe(true));
  await act(async () => {
    for (const fixture of fixtures) server.publish("project.p_01", fixture);
    await vi.waitFor(() => expect(all).toHaveLength(fixtures.length));
  });

  // The same fields and values as over WebSocket, plus channel and ts.
  all.forEach((message, i) => {
    const { channel, ts, ...rest } = message;
    expect(rest).toEqual(fixtures[i]);
    expect(channel).toBe("project.p_01");
    expect(typeof ts).toBe("number");
  });
  expect(tasks).toEqual(all.filter((m) => m.type === "task"));
  expect(result.current).toMatchObject({ isConnected: true, connectionAttempts: 0 });

  unmount();
  await server.until(() => server.openStreams() === 0);
  expect(client.connection.getSnapshot().status).toBe("idle");
  expect(server.requests).toHaveLength(1);
});

it("reports reconnecting attempts while the server is cut off, then connected again", async () => {
  const { result } = renderHook(() => useImageSSE({ projectId: "p1", eventHandlers: {} }), {
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
