/**
 * The client against a real SSE server over HTTP, with the real `eventsource` package: refusals,
 * cut connections and re-opens, counting every event the handlers get.
 */
import type { Message } from "@herald/protocol";
import { EventSource } from "eventsource";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { ConnectionState } from "../src/connection-state.ts";
import type { HeraldClientError } from "../src/errors.ts";
import {
  createEventsClient,
  type EventsClient,
  type EventsClientOptions,
} from "../src/events-client.ts";
import { type SseTestServer, startSseTestServer } from "./sse-test-server.ts";

let server: SseTestServer;
let clients: EventsClient[];

beforeEach(async () => {
  server = await startSseTestServer();
  clients = [];
});

afterEach(async () => {
  for (const client of clients) client.close();
  await server.close();
});

function makeClient(options: EventsClientOptions = {}): EventsClient {
  const client = createEventsClient({
    baseUrl: server.baseUrl,
    EventSource,
    backoff: { initialMs: 20, maxMs: 100 },
    onError: () => {},
    ...options,
  });
  clients.push(client);
  return client;
}

function collect() {
  const messages: Message[] = [];
  return {
    handler: (message: Message) => {
      messages.push(message);
    },
    numbers: () => messages.map((message) => message.data?.n),
  };
}

function untilState(
  client: EventsClient,
  predicate: (state: ConnectionState) => boolean,
): Promise<ConnectionState> {
  return new Promise((resolve) => {
    const check = (state: ConnectionState) => {
      if (!predicate(state)) return;
      stop();
      resolve(state);
    };
    const stop = client.connection.subscribe(check);
    check(client.connection.getSnapshot());
  });
}

function recordStates(client: EventsClient): ConnectionState[] {
  const states: ConnectionState[] = [];
  client.connection.subscribe((state) => states.push(state));
  return states;
}

const isOpen = (state: ConnectionState) => state.status === "open";

function publishTask(channel: string, n: number): string {
  return server.publish(channel, { type: "task", data: { n } });
}

describe("client against a real SSE server", () => {
  it("recovers from 5xx refusals with backoff and resumes with no event lost or repeated", async () => {
    const client = makeClient();
    const got = collect();
    client.subscribe("project.p1", got.handler);
    await untilState(client, isOpen);
    publishTask("project.p1", 1);
    publishTask("project.p1", 2);
    await vi.waitFor(() => expect(got.numbers()).toEqual([1, 2]));

    const states = recordStates(client);
    server.refuseNext(502, 3);
    server.dropConnections();
    await server.until(() => server.openStreams() === 0);
    publishTask("project.p1", 3);
    await untilState(client, isOpen);
    publishTask("project.p1", 4);

    await vi.waitFor(() => expect(got.numbers()).toEqual([1, 2, 3, 4]));
    expect(server.requests.map((request) => request.status)).toEqual([200, 502, 502, 502, 200]);
    // EventSource's own retry sends the header; the client's new EventSources the parameter.
    expect(server.requests[1]?.lastEventIdHeader).toBe("e1-2");
    expect(server.requests[4]).toMatchObject({
      lastEventIdQuery: "e1-2",
      lastEventIdHeader: undefined,
      channels: ["project.p1"],
    });
    expect(states.some((s) => s.status === "reconnecting" && s.lastError?.status === 502)).toBe(
      true,
    );
    expect(Math.max(...states.map((s) => s.attempts))).toBe(4);
    expect(client.connection.getSnapshot()).toMatchObject({ status: "open", attempts: 0 });
  });

  it("on 401 calls onUnauthorized, then reconnects with the new token from the last id", async () => {
    let token = "t1";
    server.acceptTokens(["t1"]);
    const onUnauthorized = vi.fn(async () => {
      token = "t2";
    });
    const client = makeClient({ token: () => token, onUnauthorized });
    const got = collect();
    client.subscribe("project.p1", got.handler);
    await untilState(client, isOpen);
    publishTask("project.p1", 1);
    await vi.waitFor(() => expect(got.numbers()).toEqual([1]));

    // The old token expires while the connection is down.
    server.acceptTokens(["t2"]);
    server.dropConnections();
    await server.until(() => server.openStreams() === 0);
    publishTask("project.p1", 2);
    await server.until(() => server.openStreams() === 1);
    publishTask("project.p1", 3);

    await vi.waitFor(() => expect(got.numbers()).toEqual([1, 2, 3]));
    expect(onUnauthorized).toHaveBeenCalledTimes(1);
    expect(server.requests).toMatchObject([
      { status: 200, token: "t1" },
      { status: 401, token: "t1", lastEventIdHeader: "e1-1" },
      { status: 200, token: "t2", lastEventIdQuery: "e1-1" },
    ]);
    await untilState(client, isOpen);
    expect(client.connection.getSnapshot().attempts).toBe(0);
  });

  it("on 403 stops for good: state closed, onError with the server's message", async () => {
    server.refuseNext(403);
    const reported = new Promise<HeraldClientError>((resolve) => {
      makeClient({ onError: resolve }).subscribe("project.p1", () => {});
    });
    const error = await reported;
    const client = clients[0];

    expect(error).toMatchObject({ code: "forbidden", status: 403 });
    expect(error.message).toContain("test server answers 403");
    expect(client?.connection.getSnapshot()).toMatchObject({
      status: "closed",
      lastError: { code: "forbidden", status: 403 },
    });
    expect(server.requests).toHaveLength(1);
    expect(server.openStreams()).toBe(0);
  });

  it("after a network drop lets EventSource reconnect by itself with Last-Event-ID", async () => {
    let made = 0;
    class CountingEventSource extends EventSource {
      constructor(...args: ConstructorParameters<typeof EventSource>) {
        super(...args);
        made += 1;
      }
    }
    const client = makeClient({ EventSource: CountingEventSource });
    const got = collect();
    client.subscribe("project.p1", got.handler);
    await untilState(client, isOpen);
    publishTask("project.p1", 1);
    publishTask("project.p1", 2);
    await vi.waitFor(() => expect(got.numbers()).toEqual([1, 2]));

    const states = recordStates(client);
    server.dropConnections();
    await server.until(() => server.openStreams() === 0);
    publishTask("project.p1", 3);
    await server.until(() => server.openStreams() === 1);
    publishTask("project.p1", 4);

    await vi.waitFor(() => expect(got.numbers()).toEqual([1, 2, 3, 4]));
    expect(made).toBe(1);
    expect(server.requests).toHaveLength(2);
    expect(server.requests[1]).toMatchObject({
      status: 200,
      lastEventIdHeader: "e1-2",
      lastEventIdQuery: null,
    });
    expect(states.map((s) => s.status)).toContain("reconnecting");
    await untilState(client, isOpen);
  });

  it("re-opens without a channel once it is unsubscribed, from the last id", async () => {
    const client = makeClient();
    const p1 = collect();
    const p2 = collect();
    client.subscribe("project.p1", p1.handler);
    const offP2 = client.subscribe("project.p2", p2.handler);
    await untilState(client, isOpen);
    expect(server.requests[0]?.channels).toEqual(["project.p1", "project.p2"]);
    publishTask("project.p1", 1);
    publishTask("project.p2", 2);
    await vi.waitFor(() => expect([p1.numbers(), p2.numbers()]).toEqual([[1], [2]]));

    offP2();
    await server.until(() => server.requests.length === 2 && server.openStreams() === 1);
    expect(server.requests[1]).toMatchObject({
      channels: ["project.p1"],
      lastEventIdQuery: "e1-2",
    });
    publishTask("project.p2", 3);
    publishTask("project.p1", 4);

    await vi.waitFor(() => expect(p1.numbers()).toEqual([1, 4]));
    expect(p2.numbers()).toEqual([2]);
  });

  it("keeps the stream through a quick unsubscribe/subscribe and closes it lingerMs after the last", async () => {
    const lingerMs = 100;
    const client = makeClient({ lingerMs });
    const first = collect();
    const offFirst = client.subscribe("project.p1", first.handler);
    await untilState(client, isOpen);

    offFirst();
    await Promise.resolve();
    const second = collect();
    const offSecond = client.subscribe("project.p1", second.handler);
    publishTask("project.p1", 1);
    await vi.waitFor(() => expect(second.numbers()).toEqual([1]));
    expect(first.numbers()).toEqual([]);
    expect(server.requests).toHaveLength(1);

    offSecond();
    const unsubscribedAt = performance.now();
    await server.until(() => server.openStreams() === 0);
    // Timers may fire a millisecond early on some platforms.
    expect(performance.now() - unsubscribedAt).toBeGreaterThanOrEqual(lingerMs - 2);
    await untilState(client, (state) => state.status === "idle");
    expect(server.requests).toHaveLength(1);
  });

  it("sends the headers option on every request, EventSource's own reconnects included", async () => {
    let n = 0;
    // No EventSource option: in Node the eventsource package is chosen by default.
    const client = createEventsClient({
      baseUrl: server.baseUrl,
      headers: async () => ({ Authorization: `Bearer token-${n++}` }),
      onError: () => {},
    });
    clients.push(client);
    client.subscribe("user.u1", () => {});
    await untilState(client, isOpen);
    server.dropConnections();
    await server.until(() => server.requests.length === 2 && server.openStreams() === 1);

    expect(server.requests.map((request) => request.authorization)).toEqual([
      "Bearer token-0",
      "Bearer token-1",
    ]);
  });
});
