/**
 * Generated hostile input against one real hub (PROTOCOL.md sections 1, 3, 5 and 8): random,
 * unicode, huge and empty channel names, cursors, query strings, header values and publish
 * bodies, sent by Node's HTTP client where it can send them and as raw HTTP/1.1 bytes on a
 * socket where it cannot. Every answer is a 4xx JSON refusal whose code fits its status, or a
 * 200 stream (for cursors: one whose events before live ones are only `stream_reset`); never a
 * 5xx, never a stack trace, and the hub still serves after every batch.
 */
import { createServer, type Server } from "node:http";
import { type AddressInfo, connect } from "node:net";
import { ERROR_STATUS, type HeraldError, isValidChannel } from "@herald/protocol";
import { openRawStream, type RawEvent, type RawStream } from "@herald/test-support/raw-sse";
import { TEST_SECRET } from "@herald/test-support/server";
import fc from "fast-check";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createHub, createJwtAuth, createMemoryStore, type Hub } from "../src/index.ts";
import { acceptEventStreams, createNodeHandler } from "../src/node.ts";

const HUGE = 100_000;
const RESET_REASONS = ["history_expired", "unknown_cursor", "server_restarted"];
/** A frame of a stack trace: `at fn (file:1:2)`, `at file:///x.ts:1:2`, `at node:internal/…`. */
const STACK_FRAME = /\bat\s+\S.*:\d+:\d+|\bat\s+(?:async\s+)?\S+\s+\((?:node|file):/;

let hub: Hub;
let server: Server;
let port: number;
let url: string;
let token: string;
const reported: HeraldError[] = [];
let closes: StreamWatch;
/** Every connection the test opened and has not seen closed, so a failed run leaves none. */
const connections = new Set<{ close(): void }>();

beforeAll(async () => {
  const auth = createJwtAuth({ secret: TEST_SECRET });
  hub = createHub({ store: createMemoryStore(), onError: (error) => reported.push(error) });
  closes = watchStreamCloses(hub);
  const handle = createNodeHandler(hub, { auth });
  // Large enough for 100 KB values in the URL and headers: they reach the hub, not Node's 431.
  server = createServer({ maxHeaderSize: 16 * 1024 * 1024 }, (req, res) => {
    handle(req, res).then(
      (handled) => {
        // What an app does with paths that are not the hub's (a dot segment can lead out of it).
        if (!handled) {
          res.writeHead(404, { "content-type": "application/json; charset=utf-8" });
          res.end(JSON.stringify({ error: { code: "not_found", message: "not the hub's path" } }));
        }
      },
      (error: unknown) => res.destroy(error instanceof Error ? error : new Error(String(error))),
    );
  });
  // As deployed: fresh connections asking for streams are read by the hub, the rest by node:http.
  acceptEventStreams(server, hub, { auth });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as AddressInfo).port;
  url = `http://127.0.0.1:${port}`;
  token = await auth.sign({
    sub: "fuzzer",
    channels: ["project.*", "file.*", "user.*"],
    publish: ["project.*"],
  });
});

afterAll(async () => {
  await hub.close();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await hub.store.close();
});

afterEach(async () => {
  // A failed run may leave its connection open: closing it must leave the hub with no stream.
  for (const connection of [...connections]) connection.close();
  connections.clear();
  await closes.allClosed();
  expect((await hub.metrics.openStreams.get()).values[0]?.value ?? 0).toBe(0);
  // Nothing the fuzzer sent was a failure of the hub's own.
  expect(reported.splice(0).map((error) => `${error.code}: ${error.message}`)).toEqual([]);
  await expectStillServing();
});

interface StreamWatch {
  /** Resolves when the hub is next told that a stream has ended. */
  nextClose(): Promise<void>;
  /** Resolves once the hub has been told that every stream it opened has ended. */
  allClosed(): Promise<void>;
}

/** Watches the ends of streams by wrapping the OpenStream the hub returns to its adapter. */
function watchStreamCloses(target: Hub): StreamWatch {
  const openStream = target.openStream.bind(target);
  const next: Array<() => void> = [];
  const idle: Array<() => void> = [];
  let open = 0;
  target.openStream = (request, sink) => {
    const stream = openStream(request, sink);
    open++;
    let closed = false;
    return {
      close() {
        stream.close();
        if (closed) return;
        closed = true;
        open--;
        for (const resolve of next.splice(0)) resolve();
        if (open === 0) for (const resolve of idle.splice(0)) resolve();
      },
    };
  };
  return {
    nextClose: () => new Promise<void>((resolve) => next.push(resolve)),
    allClosed: () => new Promise<void>((resolve) => (open === 0 ? resolve() : idle.push(resolve))),
  };
}

let channelCount = 0;
/** A channel nobody has used: its stream can only see resets and what the test publishes. */
const freshChannel = () => `project.fuzz${++channelCount}`;

/** `/healthz` answers and a new stream receives a newly published event. */
async function expectStillServing(): Promise<void> {
  const health = await fetch(`${url}/healthz`);
  expect(health.status).toBe(200);
  const channel = freshChannel();
  const stream = await openRawStream(`${url}/api/v1/events/${channel}`, bearer());
  expect(stream.status).toBe(200);
  await stream.until((s) => s.comments.includes("ok"), "the opening comment");
  const id = await hub.publish(channel, { type: "data", data: { alive: true } });
  await stream.until((s) => s.events.some((event) => event.id === id), "the live event");
  await closeStream(stream.close.bind(stream));
}

async function closeStream(close: () => void): Promise<void> {
  const closed = closes.nextClose();
  close();
  await closed;
}

const bearer = (): Record<string, string> => ({ authorization: `Bearer ${token}` });

/** Checks a refusal: 4xx, JSON of the section 8 shape, a code that fits the status, no stack. */
function expectRefusal(status: number, contentType: string | undefined, text: string): string {
  expect(status).toBeGreaterThanOrEqual(400);
  expect(status).toBeLessThan(500);
  expect(contentType).toMatch(/^application\/json/);
  expect(text).not.toMatch(STACK_FRAME);
  const body = JSON.parse(text) as { error: { code: keyof typeof ERROR_STATUS; message: string } };
  expect(Object.keys(body)).toEqual(["error"]);
  expect(Object.keys(body.error).sort()).toEqual(["code", "message"]);
  expect(ERROR_STATUS[body.error.code]).toBe(status);
  expect(typeof body.error.message).toBe("string");
  expect(body.error.message).not.toMatch(/[\r\n]/);
  return body.error.code;
}

/** Checks the first bytes of a stream answer. */
function expectStreamHeaders(contentType: string | undefined): void {
  expect(contentType).toBe("text/event-stream; charset=utf-8");
}

/**
 * Publishes a marker on the stream's first channel and checks that everything before it was a
 * `stream_reset` of one of its channels, at most one each, with an id Herald made (never an
 * echo of what the client sent), and that nothing was injected after it.
 */
async function expectResetsThenLive(
  channels: readonly string[],
  events: () => readonly RawEvent[],
  until: (predicate: () => boolean, what: string) => Promise<void>,
): Promise<void> {
  const id = await hub.publish(channels[0] as string, { type: "data", data: { marker: true } });
  await until(() => events().some((event) => event.id === id), "the live marker");
  const all = events();
  const index = all.findIndex((event) => event.id === id);
  expect(all.length).toBe(index + 1);
  const resetChannels: string[] = [];
  for (const event of all.slice(0, index)) {
    const message = JSON.parse(event.data) as {
      type: string;
      channel: string;
      object: { reason: string };
    };
    expect(message.type).toBe("stream_reset");
    expect(channels).toContain(message.channel);
    expect(RESET_REASONS).toContain(message.object.reason);
    expect(event.id).toMatch(/^[A-Za-z0-9]+-\d+$/);
    resetChannels.push(message.channel);
  }
  expect(new Set(resetChannels).size).toBe(resetChannels.length);
}

/** Whether a path still names the hub's endpoints once a URL parser resolved its dot segments. */
const reachesHub = (path: string) =>
  /^\/api\/v1\/events(\/|$)/.test(new URL(`http://hub.test${path}`).pathname);

/** Percent-encodes every byte of the UTF-8 form except the unreserved characters. */
function percentEncode(value: string): string {
  let out = "";
  for (const byte of new TextEncoder().encode(value)) {
    const char = String.fromCharCode(byte);
    out += /[A-Za-z0-9\-._~]/.test(char)
      ? char
      : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

interface Exchange {
  status: number;
  contentType: string | undefined;
  stream: RawStream;
  /** The whole body of an answer that is not a stream. */
  text: string;
}

/** One request by Node's HTTP client; a stream answer is left open for the caller. */
async function exchange(path: string, headers: Record<string, string>): Promise<Exchange> {
  const stream = await openRawStream(`${url}${path}`, headers);
  connections.add(stream);
  stream.ended.then(() => connections.delete(stream));
  const contentType = stream.headers["content-type"];
  if (stream.status !== 200) await stream.ended;
  return { status: stream.status, contentType, stream, text: stream.text };
}

// ---------------------------------------------------------------------------------------------
// Arbitraries

const huge = fc
  .string({ unit: "binary", minLength: 1, maxLength: 8 })
  .map((seed) => seed.repeat(Math.ceil(HUGE / seed.length)).slice(0, HUGE));

const trickyChannels = fc.constantFrom(
  "",
  ".",
  "project",
  "project.",
  "project..x",
  "../x",
  "..%2Fx",
  "..\\x",
  "Project.1",
  "PROJECT.1",
  "project.*",
  "*",
  `project.${"a".repeat(129)}`,
  `project.${"a".repeat(200)}`,
  "project.a b",
  "project.a%00",
  "project.\u0000",
  "project.a\r\nx",
  "project%2Ep1",
  "project.%",
  "project.a/../b",
  "project.\uD800",
  "project.é",
  "project.a#b",
  "project.a?b",
  "project.-a",
  "project._a",
  "file.a.b",
);

const validChannels = fc.stringMatching(/^(project|file|user)\.[A-Za-z0-9][A-Za-z0-9_-]{0,20}$/);

const anyText = fc.oneof(
  { weight: 4, arbitrary: fc.string({ unit: "binary", maxLength: 64 }) },
  { weight: 2, arbitrary: fc.string({ unit: "grapheme", maxLength: 32 }) },
  { weight: 1, arbitrary: fc.constant("") },
  { weight: 1, arbitrary: huge },
);

const channelNames = fc.oneof(
  { weight: 4, arbitrary: anyText },
  { weight: 3, arbitrary: trickyChannels },
  { weight: 1, arbitrary: validChannels },
);

/** Characters Node's HTTP client sends in a header value (tab, printable ASCII, Latin-1). */
const headerChar = fc
  .oneof(
    fc.integer({ min: 0x20, max: 0x7e }),
    fc.integer({ min: 0x80, max: 0xff }),
    fc.constant(0x09),
  )
  .map((code) => String.fromCharCode(code));
const sendableHeaderValue = fc.oneof(
  { weight: 5, arbitrary: fc.string({ unit: headerChar, maxLength: 80 }) },
  { weight: 1, arbitrary: fc.constant("") },
  {
    weight: 1,
    arbitrary: fc
      .string({ unit: headerChar, minLength: 1, maxLength: 4 })
      .map((s) => s.repeat(HUGE / 4).slice(0, HUGE)),
  },
);
/** What Node's server makes of a header value: leading and trailing spaces and tabs dropped. */
const asReceived = (value: string) => value.replace(/^[\t ]+|[\t ]+$/g, "");

const NUM_RUNS = 120;

// ---------------------------------------------------------------------------------------------

describe("channel names", () => {
  it("refuses every invalid channel in the path with 400 invalid_channel and opens valid ones", async () => {
    await fc.assert(
      fc.asyncProperty(channelNames, async (name) => {
        const path = `/api/v1/events/${percentEncode(name)}`;
        const answer = await exchange(path, bearer());
        if (!reachesHub(path)) {
          // `..` (or `%2E%2E`) is a dot segment: URL parsing leaves the hub's path before it routes.
          expect(expectRefusal(answer.status, answer.contentType, answer.text)).toBe("not_found");
        } else if (isValidChannel(name)) {
          expect(answer.status).toBe(200);
          expectStreamHeaders(answer.contentType);
          await closeStream(answer.stream.close.bind(answer.stream));
        } else {
          expect(expectRefusal(answer.status, answer.contentType, answer.text)).toBe(
            "invalid_channel",
          );
        }
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it("refuses every invalid channel in the channel query with 400 invalid_channel", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(channelNames, { minLength: 1, maxLength: 3 }), async (names) => {
        const query = names.map((name) => `channel=${percentEncode(name)}`).join("&");
        const answer = await exchange(`/api/v1/events?${query}`, bearer());
        // What the server decodes: UTF-8, with lone surrogates become U+FFFD.
        const decoded = new URLSearchParams(query).getAll("channel");
        if (decoded.every((name) => isValidChannel(name))) {
          expect(answer.status).toBe(200);
          expectStreamHeaders(answer.contentType);
          await closeStream(answer.stream.close.bind(answer.stream));
        } else {
          expect(expectRefusal(answer.status, answer.contentType, answer.text)).toBe(
            "invalid_channel",
          );
        }
      }),
      { numRuns: NUM_RUNS },
    );
  });
});

describe("cursor values", () => {
  const cursors = fc.oneof(
    { weight: 4, arbitrary: anyText },
    { weight: 1, arbitrary: fc.nat().map((seq) => `${hub.store.epoch}-${seq}`) },
    {
      weight: 1,
      arbitrary: fc
        .tuple(fc.stringMatching(/^[A-Za-z0-9]{1,40}$/), fc.bigInt({ min: 0n, max: 10n ** 20n }))
        .map(([epoch, seq]) => `${epoch}-${seq}`),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        '\r\n\r\ndata: {"type":"evil"}',
        "0-0",
        "-1",
        "x-",
        "a-01",
        "\u0000",
      ),
    },
  );

  it("answers any lastEventId query value with a stream that resets, or a 400 invalid_cursor", async () => {
    await fc.assert(
      fc.asyncProperty(cursors, async (cursor) => {
        const channel = freshChannel();
        const query = `lastEventId=${percentEncode(cursor)}`;
        const answer = await exchange(`/api/v1/events/${channel}?${query}`, bearer());
        const received = new URLSearchParams(query).get("lastEventId") ?? "";
        await expectCursorAnswer(answer, channel, received);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it("answers any Last-Event-ID header Node can send with a stream that resets, or a 400", async () => {
    const values = fc.oneof(
      { weight: 3, arbitrary: sendableHeaderValue },
      { weight: 1, arbitrary: fc.nat().map((seq) => `${hub.store.epoch}-${seq}`) },
    );
    await fc.assert(
      fc.asyncProperty(values, fc.option(cursors, { nil: undefined }), async (header, query) => {
        const channel = freshChannel();
        const path = query === undefined ? "" : `?lastEventId=${percentEncode(query)}`;
        const answer = await exchange(`/api/v1/events/${channel}${path}`, {
          ...bearer(),
          "last-event-id": header,
        });
        // The header wins over the query wherever both are given; an empty header is no id.
        const fromQuery = new URLSearchParams(path.slice(1)).get("lastEventId") ?? "";
        await expectCursorAnswer(answer, channel, asReceived(header) || fromQuery);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  async function expectCursorAnswer(answer: Exchange, channel: string, received: string) {
    if (received.length > 1024) {
      expect(expectRefusal(answer.status, answer.contentType, answer.text)).toBe("invalid_cursor");
      return;
    }
    expect(answer.status).toBe(200);
    expectStreamHeaders(answer.contentType);
    const { stream } = answer;
    await stream.until((s) => s.comments.includes("ok"), "the opening comment");
    await expectResetsThenLive(
      [channel],
      () => stream.events,
      (predicate, what) => stream.until(predicate, what),
    );
    await closeStream(stream.close.bind(stream));
  }
});

describe("query strings and header values", () => {
  it("answers any query string on a stream with a stream or a JSON refusal", async () => {
    const keys = fc.oneof(
      fc.constantFrom("channel", "lastEventId", "from", "token", "channel[]", ""),
      fc.string({ unit: "binary", maxLength: 12 }),
    );
    const values = fc.oneof(channelNames, fc.constantFrom("start", "later", ""));
    const queries = fc.oneof(
      fc
        .array(fc.tuple(keys, values), { maxLength: 6 })
        .map((pairs) =>
          pairs.map(([key, value]) => `${percentEncode(key)}=${percentEncode(value)}`).join("&"),
        ),
      fc.string({ unit: "binary", maxLength: 200 }).map(percentEncode),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom("/api/v1/events", "/api/v1/events/project.q"),
        queries,
        async (base, query) => {
          const answer = await exchange(`${base}?${query}`, bearer());
          if (answer.status === 200) {
            expectStreamHeaders(answer.contentType);
            await answer.stream.until((s) => s.comments.includes("ok"), "the opening comment");
            await closeStream(answer.stream.close.bind(answer.stream));
          } else {
            expectRefusal(answer.status, answer.contentType, answer.text);
          }
        },
      ),
      { numRuns: NUM_RUNS },
    );
  });

  it("refuses any other Authorization or cookie value with 401, and ignores other headers", async () => {
    const names = fc.oneof(
      fc.constantFrom(
        "authorization",
        "cookie",
        "accept",
        "x-forwarded-for",
        "origin",
        "cache-control",
      ),
      fc.stringMatching(/^x-[a-z0-9-]{1,20}$/),
    );
    await fc.assert(
      fc.asyncProperty(names, sendableHeaderValue, async (name, value) => {
        const credential = name === "authorization" || name === "cookie";
        const headers = credential ? { [name]: value } : { ...bearer(), [name]: value };
        const answer = await exchange(`/api/v1/events/${freshChannel()}`, headers);
        if (credential) {
          expect(expectRefusal(answer.status, answer.contentType, answer.text)).toBe(
            "unauthorized",
          );
        } else {
          expect(answer.status).toBe(200);
          expectStreamHeaders(answer.contentType);
          await closeStream(answer.stream.close.bind(answer.stream));
        }
      }),
      { numRuns: NUM_RUNS },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Raw HTTP/1.1 over a socket, for what no well-behaved client sends

interface RawAnswer {
  status: number;
  headers: Map<string, string>;
  /** The body so far, de-chunked, as text. */
  body(): string;
  until(predicate: (body: string) => boolean, what: string): Promise<void>;
  readonly ended: Promise<void>;
  close(): void;
}

/** Writes raw bytes and resolves once the answer's head has arrived. */
function rawRequest(request: Buffer): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    const connection = { close: () => socket.destroy() };
    connections.add(connection);
    let head: Buffer = Buffer.alloc(0);
    let rest: Buffer = Buffer.alloc(0);
    let chunked = false;
    let answer: RawAnswer | undefined;
    let body: Buffer = Buffer.alloc(0);
    const waiters = new Set<() => void>();
    let ended = false;
    const endedPromise = new Promise<void>((resolveEnd) => {
      socket.on("close", () => {
        connections.delete(connection);
        ended = true;
        for (const waiter of [...waiters]) waiter();
        if (!answer)
          reject(new Error(`the connection closed before an answer: ${head.toString("latin1")}`));
        resolveEnd();
      });
    });
    const dechunk = () => {
      if (!chunked) {
        body = Buffer.concat([body, rest]);
        rest = Buffer.alloc(0);
        return;
      }
      for (;;) {
        const lineEnd = rest.indexOf("\r\n");
        if (lineEnd < 0) return;
        const size = Number.parseInt(rest.subarray(0, lineEnd).toString("latin1"), 16);
        if (rest.length < lineEnd + 2 + size + 2) return;
        body = Buffer.concat([body, rest.subarray(lineEnd + 2, lineEnd + 2 + size)]);
        rest = rest.subarray(lineEnd + 2 + size + 2);
      }
    };
    socket.on("error", () => {
      // A reset after the answer is how some refusals end; `close` follows and settles all.
    });
    socket.on("data", (data: Buffer) => {
      if (!answer) {
        head = Buffer.concat([head, data]);
        const end = head.indexOf("\r\n\r\n");
        if (end < 0) return;
        rest = head.subarray(end + 4);
        const lines = head.subarray(0, end).toString("latin1").split("\r\n");
        const status = Number(lines[0]?.split(" ")[1]);
        const headers = new Map<string, string>();
        for (const line of lines.slice(1)) {
          const colon = line.indexOf(":");
          headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
        }
        chunked = headers.get("transfer-encoding") === "chunked";
        answer = {
          status,
          headers,
          body: () => body.toString("utf8"),
          until(predicate, what) {
            return new Promise<void>((resolveWait, rejectWait) => {
              const check = () => {
                if (predicate(body.toString("utf8"))) {
                  waiters.delete(check);
                  resolveWait();
                } else if (ended) {
                  waiters.delete(check);
                  rejectWait(new Error(`the connection ended before ${what}`));
                }
              };
              waiters.add(check);
              check();
            });
          },
          ended: endedPromise,
          close: () => socket.destroy(),
        };
        resolve(answer);
      } else {
        rest = Buffer.concat([rest, data]);
      }
      dechunk();
      for (const waiter of [...waiters]) waiter();
    });
    socket.write(request);
  });
}

/** Unnamed events of the hub's frames (LF line ends) in a body. */
function eventsIn(body: string): RawEvent[] {
  const events: RawEvent[] = [];
  for (const block of body.split("\n\n").slice(0, -1)) {
    // The opening cursor (PROTOCOL.md section 3) is not a message.
    if (block.startsWith("event: cursor\n")) continue;
    let id: string | undefined;
    const data: string[] = [];
    for (const line of block.split("\n")) {
      if (line.startsWith("id: ")) id = line.slice(4);
      else if (line.startsWith("data: ")) data.push(line.slice(6));
    }
    if (data.length > 0) events.push({ id, event: undefined, data: data.join("\n") });
  }
  return events;
}

/** Node's own parser refuses the request before the hub sees it: a bare 400, no body. */
function expectParserRefusal(answer: RawAnswer): void {
  expect(answer.status).toBe(400);
  expect(answer.headers.get("content-type")).toBeUndefined();
  expect(answer.headers.get("connection")).toBe("close");
}

/** Bytes Node's parser refuses in a request target: anything but visible ASCII. */
const refusedInTarget = (target: Buffer) => target.some((byte) => byte < 0x21 || byte > 0x7e);
/** Bytes Node's parser refuses in a header value: controls other than tab, and DEL. */
const refusedInHeader = (value: Buffer) =>
  value.some((byte) => (byte < 0x20 && byte !== 0x09) || byte === 0x7f);

/** Pieces of a hostile request target: good and broken percent-encoding, stray bytes. */
const targetPiece = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 0x21, max: 0x7e }).map((code) => Buffer.from([code])) },
  {
    weight: 4,
    arbitrary: fc
      .constantFrom(
        "%",
        "%z",
        "%zz",
        "%G0",
        "%0",
        "%%",
        "%00",
        "%0D",
        "%0A",
        "%0d%0a",
        "%C3%28",
        "%FF",
        "%E2%82",
        "%F0%90%80",
        "%ED%A0%80",
        "%2E",
        "%2F",
        "%5C",
        "%23",
        "%3F",
        "%26",
        "%3D",
        "..",
        "//",
        "\\",
        "[",
        "]",
        "@",
        ":99999",
        "#",
        "?",
        "&",
        "=",
        ";",
        "+",
        "project.a",
        "channel=",
        "lastEventId=",
        "from=start",
        "token=x",
      )
      .map((text) => Buffer.from(text, "latin1")),
  },
  {
    // Any byte but the request line's own delimiters: CR and LF would end it and start headers
    // of their own, and Node's parser takes a space before the version as a second separator.
    weight: 1,
    arbitrary: fc
      .integer({ min: 0, max: 0xff })
      .filter((code) => code !== 0x0a && code !== 0x0d && code !== 0x20)
      .map((code) => Buffer.from([code])),
  },
);
const targetTail = fc.array(targetPiece, { maxLength: 40 }).map((pieces) => Buffer.concat(pieces));

function requestBytes(target: Buffer, headers: Array<[string, Buffer]>): Buffer {
  const lines: Buffer[] = [
    Buffer.from("GET "),
    target,
    Buffer.from(" HTTP/1.1\r\nHost: hub.test\r\nConnection: close\r\n"),
  ];
  for (const [name, value] of headers)
    lines.push(Buffer.from(`${name}: `), value, Buffer.from("\r\n"));
  lines.push(Buffer.from("\r\n"));
  return Buffer.concat(lines);
}

describe("raw requests no client library would send", () => {
  it("answers hostile request targets with a JSON refusal, a stream, or Node's own 400", async () => {
    const prefixes = fc.constantFrom(
      "/api/v1/events/",
      "/api/v1/events?",
      "/api/v1/events/project.r?",
      "/api/v1/events?channel=",
      // A target starting with `//` is still a path, whatever follows (`//[`, `//x:99999/`).
      "//",
      "/",
    );
    await fc.assert(
      fc.asyncProperty(prefixes, targetTail, fc.boolean(), async (prefix, tail, withToken) => {
        const target = Buffer.concat([Buffer.from(prefix), tail]);
        const headers: Array<[string, Buffer]> = withToken
          ? [["Authorization", Buffer.from(`Bearer ${token}`)]]
          : [];
        const answer = await rawRequest(requestBytes(target, headers));
        if (refusedInTarget(target)) {
          expectParserRefusal(answer);
        } else if (answer.status === 200) {
          expect(answer.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
          await answer.until(
            (body) => body.startsWith("retry: 2000\n\n: ok\n\n"),
            "the opening bytes",
          );
          expect(withToken).toBe(true);
          await closeStream(answer.close);
        } else {
          await answer.ended;
          expectRefusal(answer.status, answer.headers.get("content-type"), answer.body());
        }
        answer.close();
      }),
      { numRuns: 200 },
    );
  });

  it("answers hostile cursor bytes, header or query, with a resetting stream, a 400, or Node's own 400", async () => {
    const headerBytes = fc
      .oneof(
        { weight: 5, arbitrary: fc.uint8Array({ maxLength: 60 }) },
        {
          weight: 1,
          arbitrary: fc
            .uint8Array({ minLength: 1, maxLength: 4 })
            .map((seed) =>
              Buffer.from(seed)
                .toString("latin1")
                .repeat(HUGE / 4),
            )
            .map((text) => Buffer.from(text, "latin1")),
        },
      )
      .map((bytes) =>
        // CR and LF would end the header line and start another, which is a different request;
        // a CR alone is kept as a CR followed by something else, which Node must refuse.
        Buffer.from(
          Buffer.from(bytes).toString("latin1").replace(/\n/g, "").replace(/\r+$/g, ""),
          "latin1",
        ),
      );
    await fc.assert(
      fc.asyncProperty(
        fc.option(headerBytes, { nil: undefined }),
        targetTail,
        async (header, queryTail) => {
          const channel = freshChannel();
          const target = Buffer.concat([
            Buffer.from(`/api/v1/events/${channel}?lastEventId=`),
            queryTail,
          ]);
          const headers: Array<[string, Buffer]> = [
            ["Authorization", Buffer.from(`Bearer ${token}`)],
          ];
          if (header !== undefined) headers.push(["Last-Event-ID", header]);
          const answer = await rawRequest(requestBytes(target, headers));
          if (refusedInTarget(target) || (header !== undefined && refusedInHeader(header))) {
            expectParserRefusal(answer);
            answer.close();
            return;
          }
          // The oracle reads the request as the URL standard does; the hub's checks come in order.
          const parsed = new URL(`http://hub.test${target.toString("latin1")}`).searchParams;
          const received =
            header !== undefined
              ? asReceived(header.toString("latin1"))
              : (parsed.get("lastEventId") ?? "");
          const channels = [channel, ...parsed.getAll("channel")];
          const from = parsed.get("from");
          let expected: string | undefined;
          if (from !== null && from !== "start") expected = "invalid_cursor";
          else if (received.length > 1024) expected = "invalid_cursor";
          else if (channels.length > 32) expected = "too_many_channels";
          else if (channels.some((name) => !isValidChannel(name))) expected = "invalid_channel";
          if (expected !== undefined) {
            await answer.ended;
            const contentType = answer.headers.get("content-type");
            expect(expectRefusal(answer.status, contentType, answer.body())).toBe(expected);
          } else {
            expect(answer.status).toBe(200);
            expect(answer.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
            await answer.until((body) => body.includes(": ok\n\n"), "the opening comment");
            // The request always names a cursor (`lastEventId=` at least), so `from` never replays.
            await expectResetsThenLive(
              [...new Set(channels)],
              () => eventsIn(answer.body()),
              (predicate, what) => answer.until(predicate, what),
            );
            await closeStream(answer.close);
          }
          answer.close();
        },
      ),
      { numRuns: 200 },
    );
  });
});

// ---------------------------------------------------------------------------------------------

describe("publish bodies", () => {
  const nested = (depth: number, open: string, close: string) =>
    open.repeat(depth) + close.repeat(depth);
  const bodies = fc.oneof(
    { weight: 3, arbitrary: fc.uint8Array({ maxLength: 512 }) },
    { weight: 3, arbitrary: fc.jsonValue().map((value) => JSON.stringify(value)) },
    {
      weight: 3,
      arbitrary: fc
        .record(
          { type: fc.string({ maxLength: 80 }), data: fc.jsonValue() },
          { requiredKeys: ["type"] },
        )
        .map((message) => JSON.stringify(message)),
    },
    {
      weight: 2,
      arbitrary: fc
        .tuple(fc.integer({ min: 1, max: 30_000 }), fc.constantFrom(["[", "]"], ['{"a":', "}"]))
        .map(
          ([depth, [open, close]]) =>
            `{"type":"deep","data":{"d":${nested(depth, open as string, close as string)}}}`,
        ),
    },
    {
      weight: 1,
      arbitrary: fc.integer({ min: 1, max: 30_000 }).map((depth) => nested(depth, "[", "]")),
    },
    {
      weight: 2,
      arbitrary: fc
        .integer({ min: 1_000, max: 40_000 })
        .map((length) => JSON.stringify({ type: "wide", data: { a: new Array(length).fill(0) } })),
    },
    { weight: 1, arbitrary: huge.map((text) => JSON.stringify({ type: "huge", data: { text } })) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        "",
        " ",
        "\uFEFF{}",
        "{",
        '{"type":1}',
        '{"type":""}',
        '{"type":"x","object":[]}',
        '{"type":"task","object":{}}',
        '{"__proto__":{"type":"x"}}',
        '{"type":"x","data":null}',
      ),
    },
  );

  it("answers any publish body with 201, or 400 invalid_message, or 413 payload_too_large", async () => {
    await fc.assert(
      fc.asyncProperty(bodies, async (body) => {
        const bytes = typeof body === "string" ? new TextEncoder().encode(body) : body;
        const response = await fetch(`${url}/api/v1/events/project.pub`, {
          method: "POST",
          headers: { ...bearer(), "content-type": "application/json" },
          body: bytes,
        });
        const text = await response.text();
        if (response.status === 201) {
          expect(Object.keys(JSON.parse(text) as object)).toEqual(["id"]);
          // Only a JSON object with a non-empty string type is a message.
          const message = JSON.parse(new TextDecoder().decode(bytes)) as unknown;
          expect(message).toBeTypeOf("object");
          expect(Array.isArray(message)).toBe(false);
          expect((message as { type?: unknown }).type).toBeTypeOf("string");
          return;
        }
        const code = expectRefusal(
          response.status,
          response.headers.get("content-type") ?? undefined,
          text,
        );
        if (bytes.byteLength > 64 * 1024) expect(code).toBe("payload_too_large");
        else expect(["invalid_message", "payload_too_large"]).toContain(code);
      }),
      { numRuns: 150 },
    );
  });

  it("publishes a reasonably nested message and refuses an absurdly nested one", async () => {
    const publish = (depth: number) =>
      fetch(`${url}/api/v1/events/project.pub`, {
        method: "POST",
        headers: bearer(),
        body: `{"type":"deep","data":{"d":${nested(depth, "[", "]")}}}`,
      });
    expect((await publish(100)).status).toBe(201);
    const deep = await publish(20_000);
    const text = await deep.text();
    expect(expectRefusal(deep.status, deep.headers.get("content-type") ?? undefined, text)).toBe(
      "invalid_message",
    );
  });
});
