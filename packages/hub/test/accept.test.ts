/**
 * `acceptEventStreams`: streams taken on fresh connections before node:http parses them, and
 * every other connection handed to node:http untouched. Real servers, raw sockets, so the
 * bytes each side sends are exactly the ones under test.
 */
import { createServer, type Server } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { type AddressInfo, connect, type Socket } from "node:net";
import { openRawStream } from "@herald/test-support/raw-sse";
import { TEST_SECRET } from "@herald/test-support/server";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createHub, createJwtAuth, createMemoryStore, type Hub } from "../src/index.ts";
import { acceptEventStreams, createNodeHandler } from "../src/node.ts";
import { parsePlainGet } from "../src/request-head.ts";

describe("parsePlainGet", () => {
  const head = (...lines: string[]) => `${lines.join("\r\n")}\r\n\r\n`;

  it("reads the target and headers of a plain HTTP/1.1 GET", () => {
    const parsed = parsePlainGet(
      head(
        "GET /api/v1/events/file.a?token=x HTTP/1.1",
        "Host: example",
        "Last-Event-ID:  e1-5 ",
        "Cookie: a=1",
        "cookie: herald_token=t",
        "Accept: text/event-stream",
        "accept: */*",
        "Authorization: Bearer first",
        "Authorization: Bearer second",
      ),
    );
    expect(parsed?.target).toBe("/api/v1/events/file.a?token=x");
    expect(parsed?.header("host")).toBe("example");
    expect(parsed?.header("last-event-id")).toBe("e1-5");
    // Joined as node:http joins them: cookies with "; ", most others with ", ", some not at all.
    expect(parsed?.header("cookie")).toBe("a=1; herald_token=t");
    expect(parsed?.header("accept")).toBe("text/event-stream, */*");
    expect(parsed?.header("authorization")).toBe("Bearer first");
    expect(parsed?.header("origin")).toBeUndefined();
  });

  it.each([
    ["another method", head("POST /api/v1/events/file.a HTTP/1.1", "Host: x")],
    ["HTTP/1.0", head("GET /api/v1/events/file.a HTTP/1.0", "Host: x")],
    ["an absolute target", head("GET http://x/api/v1/events/file.a HTTP/1.1", "Host: x")],
    ["a space in the target", head("GET /api/v1/events/file a HTTP/1.1", "Host: x")],
    ["no Host", head("GET /api/v1/events/file.a HTTP/1.1")],
    ["a body length", head("GET /e HTTP/1.1", "Host: x", "Content-Length: 0")],
    ["a chunked body", head("GET /e HTTP/1.1", "Host: x", "Transfer-Encoding: chunked")],
    ["an upgrade", head("GET /e HTTP/1.1", "Host: x", "Upgrade: websocket")],
    ["an expectation", head("GET /e HTTP/1.1", "Host: x", "Expect: 100-continue")],
    ["a folded header", head("GET /e HTTP/1.1", "Host: x", "X-A: 1", " continued")],
    ["a space before the colon", head("GET /e HTTP/1.1", "Host: x", "X-A : 1")],
    ["a bare LF", head("GET /e HTTP/1.1", "Host: x\nX-Smuggled: 1")],
    ["a bare CR", head("GET /e HTTP/1.1", "Host: x\rX-Smuggled: 1")],
    ["a NUL in a value", head("GET /e HTTP/1.1", "Host: x", "X-A: a\u0000b")],
    ["a header line without a colon", head("GET /e HTTP/1.1", "Host: x", "nonsense")],
  ])("leaves a request with %s to node:http", (_, text) => {
    expect(parsePlainGet(text)).toBeUndefined();
  });
});

const auth = createJwtAuth({ secret: TEST_SECRET });
let hub: Hub;
let server: Server;
let port: number;
/** The same hub behind node:http alone, to compare answers with. */
let plain: Server;
let plainPort: number;
let token: string;
/** The requests (method and target) that reached node:http on the accepting server. */
const throughNodeHttp: string[] = [];
const sockets = new Set<Socket>();

function serve(onRequest?: (url: string) => void): Server {
  const handle = createNodeHandler(hub, { auth });
  return createServer((req, res) => {
    onRequest?.(`${req.method} ${req.url}`);
    handle(req, res).then(
      (handled) => {
        if (!handled) res.writeHead(404, { "content-type": "text/plain" }).end("not found");
      },
      (error: unknown) => res.destroy(error instanceof Error ? error : new Error(String(error))),
    );
  });
}

async function listen(target: Server): Promise<number> {
  await new Promise<void>((resolve) => target.listen(0, "127.0.0.1", resolve));
  return (target.address() as AddressInfo).port;
}

beforeAll(async () => {
  hub = createHub({ store: createMemoryStore() });
  token = await auth.sign({ sub: "t", channels: ["file.*"], publish: ["file.*"] });
  server = serve((url) => throughNodeHttp.push(url));
  acceptEventStreams(server, hub, { auth });
  port = await listen(server);
  plain = serve();
  plainPort = await listen(plain);
});

afterEach(async () => {
  for (const socket of sockets) socket.destroy();
  sockets.clear();
  throughNodeHttp.length = 0;
  await until(async () => (await openStreams()) === 0);
});

afterAll(async () => {
  await hub.close();
  for (const target of [server, plain]) {
    target.closeAllConnections();
    await new Promise<void>((resolve) => target.close(() => resolve()));
  }
  await hub.store.close();
});

async function openStreams(): Promise<number> {
  return (await hub.metrics.openStreams.get()).values[0]?.value ?? 0;
}

async function until(condition: () => Promise<boolean>): Promise<void> {
  while (!(await condition())) await new Promise((resolve) => setTimeout(resolve, 10));
}

interface Connection {
  socket: Socket;
  /** Everything received so far, as latin1 text. */
  readonly received: string;
  /** Resolves once the received text matches. */
  receive(pattern: RegExp): Promise<string>;
  /** Resolves with everything received when the server closes the connection. */
  readonly closed: Promise<string>;
  send(bytes: string): Promise<void>;
}

async function connection(to = port): Promise<Connection> {
  const socket = connect(to, "127.0.0.1");
  socket.setNoDelay(true);
  sockets.add(socket);
  let received = "";
  const waiters = new Set<() => void>();
  socket.on("data", (chunk: Buffer) => {
    received += chunk.toString("latin1");
    for (const waiter of waiters) waiter();
  });
  const closed = new Promise<string>((resolve) => socket.on("close", () => resolve(received)));
  socket.on("error", () => {
    // A reset shows as `close`, which the tests wait for.
  });
  await new Promise<void>((resolve) => socket.once("connect", resolve));
  return {
    socket,
    get received() {
      return received;
    },
    receive(pattern) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (pattern.test(received)) {
            waiters.delete(check);
            resolve(received);
          }
        };
        waiters.add(check);
        closed.then(() => {
          waiters.delete(check);
          if (!pattern.test(received))
            reject(new Error(`closed before ${pattern}: ${JSON.stringify(received)}`));
        });
        check();
      });
    },
    closed,
    send: (bytes) => new Promise<void>((resolve) => socket.write(bytes, "latin1", () => resolve())),
  };
}

const streamRequest = (path: string, extra = "") =>
  `GET ${path} HTTP/1.1\r\nHost: hub\r\nAuthorization: Bearer ${token}\r\n${extra}\r\n`;

async function publish(channel: string, n: number): Promise<string> {
  const response = await fetch(`http://127.0.0.1:${port}/api/v1/events/${channel}`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify({ type: "data", data: { n } }),
  });
  expect(response.status).toBe(201);
  return ((await response.json()) as { id: string }).id;
}

describe("acceptEventStreams on a real server", () => {
  it("serves a stream on a fresh connection without node:http, with node:http's headers", async () => {
    const accepted = await openRawStream(`http://127.0.0.1:${port}/api/v1/events/file.one`, {
      authorization: `Bearer ${token}`,
    });
    const viaNode = await openRawStream(`http://127.0.0.1:${plainPort}/api/v1/events/file.one`, {
      authorization: `Bearer ${token}`,
    });
    for (const stream of [accepted, viaNode]) {
      await stream.until((s) => s.comments.includes("ok"), "the opening comment");
    }
    expect(throughNodeHttp).toEqual([]);
    expect(accepted.status).toBe(200);
    for (const name of [
      "content-type",
      "cache-control",
      "x-accel-buffering",
      "transfer-encoding",
    ]) {
      expect(accepted.headers[name], name).toBe(viaNode.headers[name]);
    }
    const ids = [await publish("file.one", 1), await publish("file.one", 2)];
    for (const stream of [accepted, viaNode]) {
      await stream.until((s) => s.events.length === 2, "two events");
      expect(stream.events.map((event) => event.id)).toEqual(ids);
    }
    expect(accepted.text).toBe(viaNode.text);
    expect(throughNodeHttp).toEqual([
      "POST /api/v1/events/file.one",
      "POST /api/v1/events/file.one",
    ]);
    accepted.close();
    viaNode.close();
  });

  it("reads a head that arrives a byte at a time", async () => {
    const client = await connection();
    for (const byte of streamRequest("/api/v1/events/file.slow")) await client.send(byte);
    await client.receive(/: ok\n/);
    const id = await publish("file.slow", 1);
    await client.receive(new RegExp(`id: ${id}\n`));
    expect(throughNodeHttp).toEqual(["POST /api/v1/events/file.slow"]);
  });

  it("hands every other request to node:http: a publish whose body comes in pieces, a health check, an unknown path", async () => {
    const reader = await openRawStream(`http://127.0.0.1:${port}/api/v1/events/file.pieces`, {
      authorization: `Bearer ${token}`,
    });
    await reader.until((s) => s.comments.includes("ok"), "the opening comment");
    const body = JSON.stringify({ type: "data", data: { text: "x".repeat(20_000) } });
    const client = await connection();
    await client.send(
      `POST /api/v1/events/file.pieces HTTP/1.1\r\nHost: hub\r\nAuthorization: Bearer ${token}\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 10)}`,
    );
    await client.send(body.slice(10));
    await client.receive(/^HTTP\/1\.1 201 [\s\S]*"id"/);
    await reader.until((s) => s.events.length === 1, "the published event");
    // The same connection, kept alive by node:http, serves the next requests.
    await client.send("GET /healthz HTTP/1.1\r\nHost: hub\r\n\r\n");
    await client.receive(/"status":"ok"/);
    await client.send("GET /elsewhere HTTP/1.1\r\nHost: hub\r\n\r\n");
    await client.receive(/404 Not Found[\s\S]*not found\r\n0\r\n\r\n$/);
    expect(throughNodeHttp).toEqual([
      "POST /api/v1/events/file.pieces",
      "GET /healthz",
      "GET /elsewhere",
    ]);
    reader.close();
  });

  it("serves a stream asked for on a connection that served other requests first, through node:http", async () => {
    const client = await connection();
    await client.send("GET /healthz HTTP/1.1\r\nHost: hub\r\n\r\n");
    await client.receive(/"status":"ok"/);
    await client.send(streamRequest("/api/v1/events/file.later"));
    await client.receive(/: ok\n/);
    const id = await publish("file.later", 1);
    await client.receive(new RegExp(`id: ${id}\n`));
    expect(throughNodeHttp).toEqual([
      "GET /healthz",
      "GET /api/v1/events/file.later",
      "POST /api/v1/events/file.later",
    ]);
  });

  it.each([
    ["a folded header", () => streamRequest("/api/v1/events/file.a", "X-A: 1\r\n continued\r\n")],
    ["a bare LF", () => streamRequest("/api/v1/events/file.a", "X-A: 1\nX-B: 2\r\n")],
    ["no Host", () => `GET /api/v1/events/file.a HTTP/1.1\r\nAuthorization: Bearer t\r\n\r\n`],
    [
      "a head too large",
      () => streamRequest("/api/v1/events/file.a", `X-Big: ${"b".repeat(20_000)}\r\n`),
    ],
    [
      "a chunked GET",
      () => streamRequest("/api/v1/events/file.a", "Transfer-Encoding: chunked\r\n"),
    ],
    ["HTTP/1.0", () => "GET /api/v1/events/file.a HTTP/1.0\r\nHost: hub\r\n\r\n"],
    ["a dot segment leading out", () => streamRequest("/api/v1/events/../../healthz")],
    [
      "a HEAD",
      () =>
        `HEAD /api/v1/events/file.a HTTP/1.1\r\nHost: hub\r\nAuthorization: Bearer ${token}\r\n\r\n`,
    ],
  ])("answers a stream request with %s exactly as node:http alone does", async (_, request) => {
    // A function: the token exists only once beforeAll has run.
    const answers: string[] = [];
    for (const to of [port, plainPort]) {
      const client = await connection(to);
      await client.send(request());
      const received = await client.receive(/\r\n\r\n/);
      answers.push(received.slice(0, received.indexOf("\r\n")));
      client.socket.destroy();
    }
    expect(answers[0]).toMatch(/^HTTP\/1\.[01] \d{3} /);
    expect(answers[0]).toBe(answers[1]);
  });

  it("answers a refused stream with its JSON error and closes the connection", async () => {
    const client = await connection();
    await client.send("GET /api/v1/events/file.a HTTP/1.1\r\nHost: hub\r\n\r\n");
    const received = await client.closed;
    const [head = "", body = ""] = received.split("\r\n\r\n");
    expect(head).toMatch(/^HTTP\/1\.1 401 Unauthorized\r\n/);
    expect(head).toMatch(/\r\ncontent-type: application\/json; charset=utf-8\r\n/);
    expect(head).toMatch(/\r\nconnection: close(\r\n|$)/);
    expect(head).toContain(`\r\ncontent-length: ${Buffer.byteLength(body)}`);
    expect(JSON.parse(body)).toEqual({
      error: { code: "unauthorized", message: expect.any(String) },
    });
    expect(throughNodeHttp).toEqual([]);
  });

  it.each([
    ["resets the connection", (socket: Socket) => socket.resetAndDestroy()],
    ["half-closes the connection", (socket: Socket) => socket.end()],
  ])("closes the hub's stream when the client %s", async (_, leave) => {
    const client = await connection();
    await client.send(streamRequest("/api/v1/events/file.gone"));
    await client.receive(/: ok\n/);
    expect(await openStreams()).toBe(1);
    leave(client.socket);
    await client.closed;
    await until(async () => (await openStreams()) === 0);
  });

  it("answers 408 and closes a connection whose head does not arrive within the server's headersTimeout", async () => {
    const before = server.headersTimeout;
    server.headersTimeout = 50;
    try {
      const client = await connection();
      await client.send("GET /api/v1/events/file.a HTTP/1.1\r\nHost: hub\r\n");
      const answer = await client.closed;
      expect(answer).toMatch(/^HTTP\/1\.1 408 /);
      expect(answer).toContain('"code":"request_timeout"');
    } finally {
      server.headersTimeout = before;
    }
  });

  it("cuts a head trickled a byte at a time at headersTimeout, counted from the first byte", async () => {
    const before = server.headersTimeout;
    server.headersTimeout = 300;
    try {
      const client = await connection();
      await client.send("GET /api/v1/events/file.a HTTP/1.1\r\nHost: hub\r\n");
      // A byte every 20 ms: an idle timer would be reset forever.
      const trickle = setInterval(() => {
        if (!client.socket.destroyed) client.socket.write("x");
      }, 20);
      const answer = await client.closed;
      clearInterval(trickle);
      expect(answer).toMatch(/^HTTP\/1\.1 408 /);
    } finally {
      server.headersTimeout = before;
    }
  });

  it("answers a head with bare LF line endings with 400 at once, not at the timeout", async () => {
    const client = await connection();
    await client.send("GET /api/v1/events/file.a HTTP/1.1\nHost: hub\n\n");
    // The suite's headersTimeout is node's default (a minute): an answer now is not the timer's.
    const answer = await client.closed;
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    expect(answer).toContain("bare LF");
  });
});

describe("the stream cap", () => {
  it("gives a closed stream's place back once, whether acceptEventStreams or node:http took it", async () => {
    const capped = createHub({ store: createMemoryStore() });
    const options = { auth, streamCaps: { maxOpenStreams: 1 } };
    const handle = createNodeHandler(capped, options);
    const own = createServer((req, res) => {
      handle(req, res).then(
        (handled) => {
          if (!handled) res.writeHead(404).end();
        },
        (error: unknown) => res.destroy(error instanceof Error ? error : new Error(String(error))),
      );
    });
    acceptEventStreams(own, capped, options);
    const ownPort = await listen(own);
    const streamsOpen = async () => (await capped.metrics.openStreams.get()).values[0]?.value;
    const status = async (client: Connection) => {
      const received = await client.receive(/\r\n/);
      return received.slice(0, received.indexOf("\r\n"));
    };
    try {
      const fresh = await connection(ownPort);
      await fresh.send(streamRequest("/api/v1/events/file.cap"));
      expect(await status(fresh)).toBe("HTTP/1.1 200 OK");
      const refused = await connection(ownPort);
      await refused.send(streamRequest("/api/v1/events/file.cap"));
      const answer = await refused.closed;
      expect(answer).toMatch(/^HTTP\/1\.1 503 /);
      expect(answer).toContain('"code":"unavailable"');
      fresh.socket.destroy();
      await until(async () => (await streamsOpen()) === 0);

      // Through node:http: a stream asked for after another request on the same connection.
      const later = await connection(ownPort);
      await later.send("GET /healthz HTTP/1.1\r\nHost: hub\r\n\r\n");
      await later.receive(/"status":"ok"/);
      await later.send(streamRequest("/api/v1/events/file.cap"));
      await later.receive(/: ok\n/);
      const refusedAgain = await connection(ownPort);
      await refusedAgain.send(streamRequest("/api/v1/events/file.cap"));
      expect(await refusedAgain.closed).toMatch(/^HTTP\/1\.1 503 /);
      later.socket.destroy();
      await until(async () => (await streamsOpen()) === 0);

      // One place back, not two: the next stream opens, the one after is refused.
      const next = await connection(ownPort);
      await next.send(streamRequest("/api/v1/events/file.cap"));
      expect(await status(next)).toBe("HTTP/1.1 200 OK");
      const over = await connection(ownPort);
      await over.send(streamRequest("/api/v1/events/file.cap"));
      expect(await over.closed).toMatch(/^HTTP\/1\.1 503 /);
    } finally {
      await capped.close();
      own.closeAllConnections();
      await new Promise<void>((resolve) => own.close(() => resolve()));
      await capped.store.close();
    }
  });
});

describe("closing a server with acceptEventStreams", () => {
  it("ends connections still sending their head on close(), and streams on closeAllConnections()", async () => {
    const own = serve();
    const ownHub = hub;
    acceptEventStreams(own, ownHub, { auth });
    const ownPort = await listen(own);
    const silent = await connection(ownPort);
    await silent.send("GET /api/v1/ev");
    const streaming = await connection(ownPort);
    await streaming.send(streamRequest("/api/v1/events/file.closing"));
    await streaming.receive(/: ok\n/);
    const closed = new Promise<void>((resolve) => own.close(() => resolve()));
    expect(await silent.closed).toBe("");
    own.closeAllConnections();
    await streaming.closed;
    await closed;
  });

  it("refuses an https server, whose connections carry TLS", () => {
    expect(() => acceptEventStreams(createHttpsServer(), hub, { auth })).toThrow(/TLS/);
  });
});
