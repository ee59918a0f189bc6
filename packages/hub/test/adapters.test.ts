/**
 * The same small scenario through every HTTP adapter (ARCHITECTURE.md, "hub"): the Fastify
 * plugin on a real Fastify app, the fetch-style handler behind a real Node server and called
 * directly with a `Request`, and the Node handler. Each opens a stream, receives three events
 * published over HTTP, refuses without a token, and forgets a stream its client closes.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ReadableStream as NodeReadableStream } from "node:stream/web";
import { openRawStream, type RawEvent } from "@herald/test-support/raw-sse";
import { startTestHub, TEST_SECRET } from "@herald/test-support/server";
import Fastify, { type FastifyInstance } from "fastify";
import { afterEach, describe, expect, it } from "vitest";
import { heraldPlugin } from "../src/fastify.ts";
import { createFetchHandler, type FetchEventsHandler } from "../src/fetch.ts";
import {
  createHub,
  createJwtAuth,
  createMemoryStore,
  type Hub,
  type JwtAuth,
} from "../src/index.ts";

interface Reader {
  status: number;
  headers: Headers;
  readonly events: RawEvent[];
  readonly comments: string[];
  until(predicate: (reader: Reader) => boolean, what: string): Promise<void>;
  close(): Promise<void>;
}

interface Answer {
  status: number;
  headers: Headers;
  text: string;
}

interface Transport {
  hub: Hub;
  token: string;
  open(path: string, headers?: Record<string, string>): Promise<Reader>;
  request(
    method: string,
    path: string,
    init?: { headers?: Record<string, string>; body?: string },
  ): Promise<Answer>;
  close(): Promise<void>;
}

const ALL = ["project.*", "file.*", "user.*"];

async function hubAndToken(): Promise<{ hub: Hub; auth: JwtAuth; token: string }> {
  const auth = createJwtAuth({ secret: TEST_SECRET });
  const hub = createHub({ store: createMemoryStore() });
  const token = await auth.sign({ sub: "adapter-test", channels: ALL, publish: ALL });
  return { hub, auth, token };
}

/** The transport of any adapter reachable at a URL: a byte-level SSE reader and fetch. */
function overHttp(url: string): Pick<Transport, "open" | "request"> {
  return {
    async open(path, headers = {}) {
      const raw = await openRawStream(`${url}${path}`, headers);
      const reader: Reader = {
        status: raw.status,
        headers: new Headers(raw.headers as Record<string, string>),
        get events() {
          return raw.events;
        },
        get comments() {
          return raw.comments;
        },
        until: (predicate, what) => raw.until(() => predicate(reader), what),
        async close() {
          raw.close();
        },
      };
      return reader;
    },
    async request(method, path, init = {}) {
      const response = await fetch(`${url}${path}`, {
        method,
        headers: init.headers ?? {},
        body: init.body ?? null,
      });
      return { status: response.status, headers: response.headers, text: await response.text() };
    },
  };
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve, reject) =>
    server.close((error) => (error ? reject(error) : resolve())),
  );
}

/** Reads SSE frames as the hub writes them (LF line ends) from a fetch body. */
function readFetchStream(response: Response): Reader {
  const body = response.body;
  if (!body) throw new Error("the stream answer has no body");
  const stream = body.getReader();
  const decoder = new TextDecoder();
  const events: RawEvent[] = [];
  const comments: string[] = [];
  const waiters = new Set<() => void>();
  let buffer = "";
  let ended = false;

  const notify = () => {
    for (const waiter of [...waiters]) waiter();
  };
  const pump = async () => {
    for (;;) {
      const { done, value } = await stream.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      for (let end = buffer.indexOf("\n\n"); end >= 0; end = buffer.indexOf("\n\n")) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        let id: string | undefined;
        const data: string[] = [];
        for (const line of block.split("\n")) {
          if (line.startsWith(":")) comments.push(line.slice(1).trimStart());
          else if (line.startsWith("id: ")) id = line.slice(4);
          else if (line.startsWith("data: ")) data.push(line.slice(6));
        }
        // The opening cursor (PROTOCOL.md section 3) is not a message.
        const opening = block.startsWith("event: cursor\n");
        if (data.length > 0 && !opening)
          events.push({ id, event: undefined, data: data.join("\n") });
      }
      notify();
    }
  };
  const pumped = pump().finally(() => {
    ended = true;
    notify();
  });

  const reader: Reader = {
    status: response.status,
    headers: response.headers,
    events,
    comments,
    until(predicate, what) {
      return new Promise<void>((resolve, reject) => {
        const check = () => {
          if (predicate(reader)) {
            waiters.delete(check);
            resolve();
          } else if (ended) {
            waiters.delete(check);
            reject(new Error(`the stream ended before ${what}`));
          }
        };
        waiters.add(check);
        check();
      });
    },
    async close() {
      await stream.cancel();
      await pumped;
    },
  };
  return reader;
}

/** The fetch handler called directly with `Request` objects: no server, no socket. */
function direct(handler: FetchEventsHandler): Pick<Transport, "open" | "request"> {
  const base = "http://hub.test";
  return {
    async open(path, headers = {}) {
      const response = await handler(new Request(`${base}${path}`, { headers }));
      if (response.body && response.headers.get("content-type")?.includes("event-stream")) {
        return readFetchStream(response);
      }
      return {
        status: response.status,
        headers: response.headers,
        events: [],
        comments: [],
        until: () => Promise.reject(new Error(`not a stream: ${response.status}`)),
        close: async () => {},
      };
    },
    async request(method, path, init = {}) {
      const response = await handler(
        new Request(`${base}${path}`, {
          method,
          headers: init.headers ?? {},
          body: init.body ?? null,
        }),
      );
      return { status: response.status, headers: response.headers, text: await response.text() };
    },
  };
}

/**
 * Serves a fetch-style handler from a Node server, as a runtime without native fetch serving
 * would: IncomingMessage to Request, Response body piped back, and the client's going away
 * both aborts the Request and cancels the body.
 */
async function bridge(
  handler: FetchEventsHandler,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const controller = new AbortController();
  res.once("close", () => controller.abort());
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    for (const item of Array.isArray(value) ? value : [value ?? ""]) headers.append(name, item);
  }
  const init: RequestInit & { duplex?: "half" } = {
    method: req.method ?? "GET",
    headers,
    signal: controller.signal,
  };
  if (init.method !== "GET" && init.method !== "HEAD") {
    init.body = Readable.toWeb(req) as ReadableStream<Uint8Array>;
    init.duplex = "half";
  }
  const response = await handler(new Request(`http://bridge.test${req.url ?? "/"}`, init));
  res.writeHead(response.status, Object.fromEntries(response.headers));
  if (!response.body) {
    res.end();
    return;
  }
  try {
    await pipeline(Readable.fromWeb(response.body as NodeReadableStream<Uint8Array>), res);
  } catch (error) {
    // The client going away ends the pipe early; that is how every stream ends.
    if (!res.closed) throw error;
  }
}

async function fastifyTransport(acceptConnections: boolean) {
  const { hub, auth, token } = await hubAndToken();
  const app = await startFastify(hub, auth, acceptConnections);
  return {
    hub,
    token,
    fastify: app,
    ...overHttp(app.url),
    async close() {
      await hub.close();
      await app.instance.close();
    },
  };
}

const transports: Record<string, () => Promise<Transport & { fastify?: FastifyApp }>> = {
  "the Fastify plugin": () => fastifyTransport(true),
  "the Fastify plugin without acceptConnections": () => fastifyTransport(false),
  async "the fetch handler behind a Node server"() {
    const { hub, auth, token } = await hubAndToken();
    const handler = createFetchHandler(hub, { auth });
    const server = createServer((req, res) => {
      bridge(handler, req, res).catch((error: unknown) => {
        res.destroy(error instanceof Error ? error : new Error(String(error)));
      });
    });
    const url = await listen(server);
    return {
      hub,
      token,
      ...overHttp(url),
      async close() {
        await hub.close();
        await closeServer(server);
      },
    };
  },
  async "the fetch handler called directly"() {
    const { hub, auth, token } = await hubAndToken();
    return {
      hub,
      token,
      ...direct(createFetchHandler(hub, { auth })),
      close: () => hub.close(),
    };
  },
  async "the Node handler and acceptEventStreams"() {
    const test = await startTestHub();
    return { hub: test.hub, token: test.token, ...overHttp(test.url), close: () => test.close() };
  },
  async "the Node handler alone"() {
    const test = await startTestHub({ acceptConnections: false });
    return { hub: test.hub, token: test.token, ...overHttp(test.url), close: () => test.close() };
  },
};

interface FastifyApp {
  instance: FastifyInstance;
  url: string;
  /** Paths that reached Fastify's body parsing (its preParsing hooks). */
  parsed: string[];
}

async function startFastify(
  hub: Hub,
  auth: JwtAuth,
  acceptConnections = true,
): Promise<FastifyApp> {
  const instance = Fastify();
  const parsed: string[] = [];
  instance.addHook("preParsing", async (request, _reply, payload) => {
    parsed.push(request.url);
    return payload;
  });
  instance.get("/hello", async () => ({ hello: "world" }));
  instance.post("/echo", async (request) => ({ received: request.body }));
  await instance.register(heraldPlugin, { hub, auth, acceptConnections });
  await instance.listen({ port: 0, host: "127.0.0.1" });
  const { port } = instance.server.address() as AddressInfo;
  return { instance, url: `http://127.0.0.1:${port}`, parsed };
}

/** Resolves when the hub is told a stream has ended, by wrapping the OpenStream it returns. */
function watchStreamCloses(hub: Hub): { nextClose(): Promise<void> } {
  const openStream = hub.openStream.bind(hub);
  const waiting: Array<() => void> = [];
  hub.openStream = (request, sink) => {
    const stream = openStream(request, sink);
    return {
      close() {
        stream.close();
        for (const resolve of waiting.splice(0)) resolve();
      },
    };
  };
  return {
    nextClose: () => new Promise<void>((resolve) => waiting.push(resolve)),
  };
}

async function gauge(hub: Hub, name: "openStreams" | "subscriptions"): Promise<number> {
  return (await hub.metrics[name].get()).values[0]?.value ?? 0;
}

let transport: (Transport & { fastify?: FastifyApp }) | undefined;
afterEach(async () => {
  await transport?.close();
  transport = undefined;
});

describe.each(Object.keys(transports))("through %s", (name) => {
  async function start(): Promise<Transport & { fastify?: FastifyApp }> {
    const make = transports[name];
    if (!make) throw new Error(`no transport ${name}`);
    transport = await make();
    return transport;
  }

  const bearer = (t: Transport) => ({ authorization: `Bearer ${t.token}` });

  it("delivers three messages published over HTTP, in order and with their ids", async () => {
    const t = await start();
    const reader = await t.open("/api/v1/events/project.adapt", bearer(t));
    expect(reader.status).toBe(200);
    expect(reader.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
    await reader.until((r) => r.comments.includes("ok"), "the opening comment");

    const ids: string[] = [];
    for (const n of [1, 2, 3]) {
      const answer = await t.request("POST", "/api/v1/events/project.adapt", {
        headers: { ...bearer(t), "content-type": "application/json" },
        body: JSON.stringify({ type: "data", data: { n } }),
      });
      expect(answer.status).toBe(201);
      ids.push((JSON.parse(answer.text) as { id: string }).id);
    }
    await reader.until((r) => r.events.length === 3, "three events");
    expect(reader.events.map((event) => event.id)).toEqual(ids);
    expect(new Set(ids).size).toBe(3);
    const messages = reader.events.map(
      (event) => JSON.parse(event.data) as { data: { n: number }; channel: string },
    );
    expect(messages.map((message) => message.data.n)).toEqual([1, 2, 3]);
    expect(messages.every((message) => message.channel === "project.adapt")).toBe(true);
    await reader.close();
  });

  it("delivers a batch published in one POST, in order and with its ids", async () => {
    const t = await start();
    const reader = await t.open("/api/v1/events?channel=project.a&channel=file.b", bearer(t));
    await reader.until((r) => r.comments.includes("ok"), "the opening comment");
    const answer = await t.request("POST", "/api/v1/events", {
      headers: { ...bearer(t), "content-type": "application/json" },
      body: JSON.stringify({
        events: [
          { channel: "project.a", message: { type: "data", data: { n: 1 } } },
          { channel: "file.b", message: { type: "data", data: { n: 2 } } },
        ],
      }),
    });
    expect(answer.status).toBe(201);
    const { ids } = JSON.parse(answer.text) as { ids: string[] };
    await reader.until((r) => r.events.length === 2, "the batch's two events");
    expect(reader.events.map((event) => event.id)).toEqual(ids);
    await reader.close();
  });

  it("answers a request without a token with a 401 JSON error", async () => {
    const t = await start();
    for (const method of ["GET", "POST"]) {
      const answer = await t.request(method, "/api/v1/events/project.adapt", {
        ...(method === "POST" ? { body: JSON.stringify({ type: "data" }) } : {}),
      });
      expect(answer.status).toBe(401);
      expect(answer.headers.get("content-type")).toMatch(/^application\/json/);
      expect(JSON.parse(answer.text)).toEqual({
        error: { code: "unauthorized", message: expect.any(String) },
      });
    }
    const refused = await t.open("/api/v1/events/project.adapt");
    expect(refused.status).toBe(401);
    expect(await gauge(t.hub, "openStreams")).toBe(0);
  });

  it("removes a stream its client closes", async () => {
    const t = await start();
    const closes = watchStreamCloses(t.hub);
    const reader = await t.open("/api/v1/events?channel=project.a&channel=user.b", bearer(t));
    await reader.until((r) => r.comments.includes("ok"), "the opening comment");
    expect(await gauge(t.hub, "openStreams")).toBe(1);
    expect(await gauge(t.hub, "subscriptions")).toBe(2);
    const closed = closes.nextClose();
    await reader.close();
    await closed;
    expect(await gauge(t.hub, "openStreams")).toBe(0);
    expect(await gauge(t.hub, "subscriptions")).toBe(0);
    // Nothing is written for it any more: a publish still succeeds and nobody receives it.
    const answer = await t.request("POST", "/api/v1/events/project.a", {
      headers: bearer(t),
      body: JSON.stringify({ type: "data" }),
    });
    expect(answer.status).toBe(201);
    expect((await t.hub.metrics.delivered.get()).values[0]?.value ?? 0).toBe(0);
  });
});

describe("the Fastify plugin beside other routes", () => {
  async function start() {
    const made = await transports["the Fastify plugin"]?.();
    if (!made?.fastify) throw new Error("no Fastify app");
    transport = made;
    return { t: made, app: made.fastify };
  }

  it("leaves the app's own routes, body parsing included, working", async () => {
    const { t, app } = await start();
    const hello = await t.request("GET", "/hello");
    expect(hello.status).toBe(200);
    expect(JSON.parse(hello.text)).toEqual({ hello: "world" });
    const echo = await t.request("POST", "/echo", {
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ a: 1 }),
    });
    expect(JSON.parse(echo.text)).toEqual({ received: { a: 1 } });
    expect(app.parsed).toEqual(["/hello", "/echo"]);
  });

  it("takes a publish before Fastify parses its body, whatever its content type", async () => {
    const { t, app } = await start();
    for (const contentType of ["application/json", "application/vnd.herald+json", "text/plain"]) {
      const answer = await t.request("POST", "/api/v1/events/project.f", {
        headers: { authorization: `Bearer ${t.token}`, "content-type": contentType },
        body: JSON.stringify({ type: "data", data: { contentType } }),
      });
      // Fastify itself would answer 415 to the vendor type, and would have drained the body.
      expect(answer.status).toBe(201);
    }
    expect(app.parsed).toEqual([]);
  });

  it("serves the operations endpoints through Fastify", async () => {
    const { t } = await start();
    expect((await t.request("GET", "/healthz")).status).toBe(200);
    expect((await t.request("GET", "/readyz")).status).toBe(200);
    const metrics = await t.request("GET", "/metrics");
    expect(metrics.text).toContain("herald_open_streams");
  });

  it("refuses a malformed channel with the hub's 400, not Fastify's own answer", async () => {
    const { t } = await start();
    const answer = await t.request("GET", `/api/v1/events/project.${"a".repeat(200)}`, {
      headers: { authorization: `Bearer ${t.token}` },
    });
    expect(answer.status).toBe(400);
    expect(JSON.parse(answer.text)).toMatchObject({ error: { code: "invalid_channel" } });
  });
});

describe("the fetch handler's own answers", () => {
  it("answers a path that is not the hub's with a 404 JSON error", async () => {
    const { hub, auth } = await hubAndToken();
    const handler = createFetchHandler(hub, { auth });
    const response = await handler(new Request("http://hub.test/elsewhere"));
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ error: { code: "not_found" } });
    await hub.close();
  });

  it("caps the process's streams (503 with Retry-After) and gives a place back when a stream ends", async () => {
    const { hub, auth, token } = await hubAndToken();
    // A Request names no client: without clientAddress the per-address cap of 1 does not apply.
    const handler = createFetchHandler(hub, {
      auth,
      streamCaps: { maxOpenStreams: 2, maxStreamsPerAddress: 1 },
    });
    const open = (signal?: AbortSignal) =>
      handler(
        new Request("http://hub.test/api/v1/events/file.cap", {
          headers: { authorization: `Bearer ${token}` },
          ...(signal ? { signal } : {}),
        }),
      );
    const aborted = new AbortController();
    const first = await open(aborted.signal);
    const second = await open();
    expect([first.status, second.status]).toEqual([200, 200]);
    const refused = await open();
    expect(refused.status).toBe(503);
    expect(refused.headers.get("retry-after")).toBe("5");
    expect(await refused.json()).toMatchObject({ error: { code: "unavailable" } });

    aborted.abort();
    const afterAbort = await open();
    expect(afterAbort.status).toBe(200);
    expect((await open()).status).toBe(503);
    await second.body?.cancel();
    const afterCancel = await open();
    expect(afterCancel.status).toBe(200);

    await Promise.all([first, afterAbort, afterCancel].map((r) => r.body?.cancel()));
    await hub.close();
  });

  it("caps streams per client address when clientAddress names one (429)", async () => {
    const { hub, auth, token } = await hubAndToken();
    const handler = createFetchHandler(hub, {
      auth,
      streamCaps: { maxStreamsPerAddress: 1 },
      clientAddress: (remoteAddress, header) => {
        expect(remoteAddress).toBeUndefined();
        return header("x-forwarded-for") ?? "unknown";
      },
    });
    const open = (address: string) =>
      handler(
        new Request("http://hub.test/api/v1/events/file.cap", {
          headers: { authorization: `Bearer ${token}`, "x-forwarded-for": address },
        }),
      );
    const first = await open("203.0.113.7");
    expect(first.status).toBe(200);
    const sameAddress = await open("203.0.113.7");
    expect(sameAddress.status).toBe(429);
    expect(await sameAddress.json()).toMatchObject({ error: { code: "too_many_connections" } });
    const other = await open("203.0.113.8");
    expect(other.status).toBe(200);
    await Promise.all([first, other].map((r) => r.body?.cancel()));
    await hub.close();
  });

  it("forgets a stream whose Request is aborted", async () => {
    const { hub, auth, token } = await hubAndToken();
    const handler = createFetchHandler(hub, { auth });
    const closes = watchStreamCloses(hub);
    const controller = new AbortController();
    const response = await handler(
      new Request("http://hub.test/api/v1/events/project.abort", {
        headers: { authorization: `Bearer ${token}` },
        signal: controller.signal,
      }),
    );
    expect(response.status).toBe(200);
    expect(await gauge(hub, "openStreams")).toBe(1);
    const closed = closes.nextClose();
    controller.abort();
    await closed;
    expect(await gauge(hub, "openStreams")).toBe(0);
    await response.body?.cancel();
    await hub.close();
  });
});
