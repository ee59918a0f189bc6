/**
 * Bounds and refusals (PROTOCOL.md sections 1, 2, 5, 8, 9) over real HTTP against a real hub:
 * channels per stream, streams per subject, message size, malformed requests, and the
 * operations endpoints with metrics that move.
 */
import { request as httpRequest } from "node:http";
import { openRawStream, type RawStream } from "@herald/test-support/raw-sse";
import { startTestHub, type TestHub } from "@herald/test-support/server";
import { afterEach, describe, expect, it } from "vitest";
import type { EventStore, Hub } from "../src/index.ts";
import { createMemoryStore } from "../src/index.ts";

let server: TestHub | undefined;
const streams: RawStream[] = [];
afterEach(async () => {
  for (const stream of streams.splice(0)) stream.close();
  await server?.close();
  server = undefined;
});

async function start(options: Parameters<typeof startTestHub>[0] = {}): Promise<TestHub> {
  server = await startTestHub(options);
  return server;
}

async function open(hub: TestHub, path: string, token = hub.token): Promise<RawStream> {
  const stream = await openRawStream(`${hub.url}${path}`, { authorization: `Bearer ${token}` });
  streams.push(stream);
  if (stream.status === 200) await stream.until((s) => s.comments.includes("ok"), "the opening");
  return stream;
}

/**
 * Resolves when the hub has closed the next stream that closes: the adapter calls the
 * OpenStream's close when its connection ends, so this waits on that call, not on time.
 */
function watchStreamCloses(hub: Hub): { nextClose(): Promise<void> } {
  const openStream = hub.openStream.bind(hub);
  let waiting: Array<() => void> = [];
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
    nextClose: () =>
      new Promise<void>((resolve) => {
        waiting = [...waiting, resolve];
      }),
  };
}

interface Answer {
  status: number;
  headers: Headers;
  text: string;
  code: string | undefined;
}

async function answerOf(response: Response): Promise<Answer> {
  const text = await response.text();
  let code: string | undefined;
  if (response.headers.get("content-type")?.startsWith("application/json")) {
    const body = JSON.parse(text) as { error?: { code?: string; message?: string } };
    code = body.error?.code;
    if (response.status >= 400) {
      expect(Object.keys(body)).toEqual(["error"]);
      expect(typeof body.error?.message).toBe("string");
      expect(text).not.toMatch(/\n\s*at /);
    }
  }
  return { status: response.status, headers: response.headers, text, code };
}

async function get(hub: TestHub, path: string, token: string | undefined = hub.token) {
  const headers: Record<string, string> = {};
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  const controller = new AbortController();
  const response = await fetch(`${hub.url}${path}`, { headers, signal: controller.signal });
  if (response.status === 200 && response.headers.get("content-type")?.includes("event-stream")) {
    // A stream never ends by itself: only its status and headers are of interest here.
    controller.abort();
    return { status: 200, headers: response.headers, text: "", code: undefined } as Answer;
  }
  return answerOf(response);
}

async function post(
  hub: TestHub,
  channel: string,
  body: string | Uint8Array<ArrayBuffer>,
  token = hub.token,
) {
  return answerOf(
    await fetch(`${hub.url}/api/v1/events/${channel}`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body,
    }),
  );
}

/** A POST through node:http, with or without content-length, the body written in chunks. */
function postRaw(
  hub: TestHub,
  channel: string,
  chunks: readonly Uint8Array[],
  options: { contentLength: boolean },
): Promise<Answer & { json: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const total = chunks.reduce((sum, chunk) => sum + chunk.byteLength, 0);
    const headers: Record<string, string | number> = {
      authorization: `Bearer ${hub.token}`,
      "content-type": "application/json",
    };
    if (options.contentLength) headers["content-length"] = total;
    const req = httpRequest(
      `${hub.url}/api/v1/events/${channel}`,
      { method: "POST", agent: false, headers },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          text += chunk;
        });
        res.on("end", () => {
          const json = JSON.parse(text) as Record<string, unknown>;
          const error = json.error as { code?: string } | undefined;
          resolve({
            status: res.statusCode ?? 0,
            headers: new Headers(res.headers as Record<string, string>),
            text,
            code: error?.code,
            json,
          });
        });
      },
    );
    // The server may answer and close before the whole body is sent; the answer still counts.
    req.on("error", reject);
    if (!options.contentLength) expect(req.getHeader("content-length")).toBeUndefined();
    for (const chunk of chunks) req.write(chunk);
    req.end();
  });
}

const channels = (count: number) =>
  Array.from({ length: count }, (_, n) => `channel=project.c${n}`).join("&");

describe("channels per stream", () => {
  it("refuses 33 channels on one stream with 400 too_many_channels", async () => {
    const hub = await start();
    const answer = await get(hub, `/api/v1/events?${channels(33)}`);
    expect(answer).toMatchObject({ status: 400, code: "too_many_channels" });
  });

  it("counts the path channel with the query channels", async () => {
    const hub = await start();
    const answer = await get(hub, `/api/v1/events/project.extra?${channels(32)}`);
    expect(answer).toMatchObject({ status: 400, code: "too_many_channels" });
  });

  it("opens a stream on exactly 32 channels", async () => {
    const hub = await start();
    const stream = await open(hub, `/api/v1/events?${channels(32)}`);
    expect(stream.status).toBe(200);
    expect(await hub.hub.metrics.subscriptions.get()).toMatchObject({ values: [{ value: 32 }] });
  });
});

describe("streams per subject", () => {
  it("refuses a third stream of one subject with 429, and opens one after another closes", async () => {
    const hub = await start({ limits: { maxStreamsPerSubject: 2 } });
    const closes = watchStreamCloses(hub.hub);
    const token = await hub.sign({ sub: "limited", channels: ["project.*"] });
    const first = await open(hub, "/api/v1/events/project.a", token);
    const second = await open(hub, "/api/v1/events/project.b", token);
    expect([first.status, second.status]).toEqual([200, 200]);

    const third = await get(hub, "/api/v1/events/project.c", token);
    expect(third).toMatchObject({ status: 429, code: "too_many_connections" });
    // Another subject is not held back by this one's streams.
    const other = await open(hub, "/api/v1/events/project.c");
    expect(other.status).toBe(200);

    const closed = closes.nextClose();
    first.close();
    await closed;
    const again = await open(hub, "/api/v1/events/project.c", token);
    expect(again.status).toBe(200);
    expect(await get(hub, "/api/v1/events/project.d", token)).toMatchObject({
      status: 429,
      code: "too_many_connections",
    });
  });
});

describe("message size", () => {
  const big = (bytes: number) => {
    const message = JSON.stringify({ type: "data", data: { pad: "" } });
    return JSON.stringify({ type: "data", data: { pad: "x".repeat(bytes - message.length) } });
  };

  it("refuses a body over 64 KiB announced by content-length with 413 payload_too_large", async () => {
    const hub = await start();
    const body = new TextEncoder().encode(big(64 * 1024 + 1));
    const answer = await postRaw(hub, "project.a", [body], { contentLength: true });
    expect(answer).toMatchObject({ status: 413, code: "payload_too_large" });
  });

  it("refuses a chunked body over 64 KiB without content-length with 413", async () => {
    const hub = await start();
    const body = new TextEncoder().encode(big(80 * 1024));
    const chunks = [body.subarray(0, 30_000), body.subarray(30_000, 60_000), body.subarray(60_000)];
    const answer = await postRaw(hub, "project.a", chunks, { contentLength: false });
    expect(answer).toMatchObject({ status: 413, code: "payload_too_large" });
    await expect(hub.hub.metrics.published.get()).resolves.toMatchObject({
      values: [{ value: 0 }],
    });
  });

  it("accepts a chunked body just under the limit with 201", async () => {
    const hub = await start();
    const body = new TextEncoder().encode(big(60 * 1024));
    const chunks = [body.subarray(0, 20_000), body.subarray(20_000)];
    const answer = await postRaw(hub, "project.a", chunks, { contentLength: false });
    expect(answer.status).toBe(201);
    expect(typeof answer.json.id).toBe("string");
  });

  it("refuses a body under the limit whose message outgrows it with channel and ts", async () => {
    const hub = await start();
    const answer = await post(hub, "project.a", big(64 * 1024 - 5));
    expect(answer).toMatchObject({ status: 413, code: "payload_too_large" });
  });
});

describe("malformed requests", () => {
  it("refuses a body that is not JSON with 400 invalid_message", async () => {
    const hub = await start();
    expect(await post(hub, "project.a", "{not json")).toMatchObject({
      status: 400,
      code: "invalid_message",
    });
    expect(await post(hub, "project.a", "")).toMatchObject({
      status: 400,
      code: "invalid_message",
    });
    expect(await post(hub, "project.a", new Uint8Array([0x7b, 0xff, 0x7d]))).toMatchObject({
      status: 400,
      code: "invalid_message",
    });
  });

  it("refuses a message without type with 400 invalid_message", async () => {
    const hub = await start();
    const answer = await post(hub, "project.a", JSON.stringify({ data: { n: 1 } }));
    expect(answer).toMatchObject({ status: 400, code: "invalid_message" });
    expect(answer.text).toMatch(/type/);
  });

  it("refuses a message that is JSON but not an object with 400 invalid_message", async () => {
    const hub = await start();
    for (const body of ["[]", "null", '"task"', "42"]) {
      expect(await post(hub, "project.a", body)).toMatchObject({
        status: 400,
        code: "invalid_message",
      });
    }
  });

  it("refuses from=later with 400 invalid_cursor", async () => {
    const hub = await start();
    expect(await get(hub, "/api/v1/events/project.a?from=later")).toMatchObject({
      status: 400,
      code: "invalid_cursor",
    });
    expect((await get(hub, "/api/v1/events/project.a?from=start")).status).toBe(200);
  });

  const badChannels: Array<[string, string]> = [
    ["an empty id", "project."],
    ["an empty segment", "project..x"],
    ["a path escape", "../x"],
    ["an unknown kind (case matters)", "Project.1"],
    ["an unknown kind", "task.1"],
    ["a 129-character id", `project.${"a".repeat(129)}`],
    ["a 200-character id", `project.${"a".repeat(200)}`],
    ["a space", "project.a b"],
    ["an id starting with -", "project.-a"],
    ["a percent-encoded dot, literally", "project%2Ep1"],
    ["no dot", "project"],
    ["a unicode id", "project.é"],
  ];

  it.each(badChannels)(
    "refuses a channel with %s in the query with 400 invalid_channel",
    async (_, name) => {
      const hub = await start();
      const answer = await get(hub, `/api/v1/events?channel=${encodeURIComponent(name)}`);
      expect(answer).toMatchObject({ status: 400, code: "invalid_channel" });
      // Also beside a valid channel, in either place.
      const mixed = await get(hub, `/api/v1/events/project.ok?channel=${encodeURIComponent(name)}`);
      expect(mixed).toMatchObject({ status: 400, code: "invalid_channel" });
    },
  );

  const badPaths: Array<[string, string]> = [
    ["an empty id", "project."],
    ["an empty segment", "project..x"],
    ["an encoded path escape", "..%2Fx"],
    ["an encoded slash", "project.a%2Fb"],
    ["an unknown kind (case matters)", "Project.1"],
    ["a 200-character id", `project.${"a".repeat(200)}`],
    ["an encoded space", "project.a%20b"],
    ["a percent-encoded dot", "project%2Ep1"],
    ["an encoded letter", "project.%61"],
    ["a second segment", "project.a/b"],
  ];

  it.each(badPaths)("refuses a path channel with %s with 400 invalid_channel", async (_, path) => {
    const hub = await start();
    const answer = await get(hub, `/api/v1/events/${path}`);
    expect(answer).toMatchObject({ status: 400, code: "invalid_channel" });
    const publish = await post(hub, path, JSON.stringify({ type: "data" }));
    expect(publish).toMatchObject({ status: 400, code: "invalid_channel" });
  });

  it("accepts the longest valid channel names, in the path and in the query", async () => {
    const hub = await start();
    const longest = `project.${"a".repeat(128)}`;
    expect((await get(hub, `/api/v1/events/${longest}`)).status).toBe(200);
    expect((await get(hub, `/api/v1/events?channel=${longest}&channel=file.a_-1`)).status).toBe(
      200,
    );
    // In a query a %2E is an ordinary encoded dot, decoded before the name is checked.
    expect((await get(hub, "/api/v1/events?channel=project%2Ep1")).status).toBe(200);
  });

  it("refuses a stream naming no channel with 400 invalid_channel", async () => {
    const hub = await start();
    expect(await get(hub, "/api/v1/events")).toMatchObject({
      status: 400,
      code: "invalid_channel",
    });
  });

  it("answers DELETE on a channel with a 405 JSON error naming the allowed methods", async () => {
    const hub = await start();
    const answer = await answerOf(
      await fetch(`${hub.url}/api/v1/events/project.a`, {
        method: "DELETE",
        headers: { authorization: `Bearer ${hub.token}` },
      }),
    );
    expect(answer).toMatchObject({ status: 405, code: "method_not_allowed" });
    expect(answer.headers.get("content-type")).toMatch(/^application\/json/);
    expect(answer.headers.get("allow")).toBe("GET, POST");
  });

  it("answers HEAD on a stream with the stream's headers at once and opens no stream", async () => {
    const hub = await start();
    const response = await fetch(`${hub.url}/api/v1/events/project.a`, {
      method: "HEAD",
      headers: { authorization: `Bearer ${hub.token}` },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
    expect(await hub.hub.metrics.openStreams.get()).toMatchObject({ values: [{ value: 0 }] });
    const refused = await fetch(`${hub.url}/api/v1/events/project.a`, { method: "HEAD" });
    expect(refused.status).toBe(401);
  });
});

/** Reads one sample of the Prometheus text: `name` with no labels. */
function sample(text: string, name: string): number {
  const line = text.split("\n").find((l) => l.startsWith(`${name} `));
  if (line === undefined) throw new Error(`no sample ${name} in:\n${text}`);
  return Number(line.slice(name.length + 1));
}

describe("operations", () => {
  it("answers /healthz with 200", async () => {
    const hub = await start();
    const response = await fetch(`${hub.url}/healthz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: "ok" });
  });

  it("answers /readyz with 200 while the store answers", async () => {
    const hub = await start();
    const response = await fetch(`${hub.url}/readyz`);
    expect(response.status).toBe(200);
  });

  it("answers /readyz with 503 unavailable while the store's check fails", async () => {
    const inner = createMemoryStore();
    let failing = true;
    const store: EventStore = {
      get epoch() {
        return inner.epoch;
      },
      append: (channel, data, ts) => inner.append(channel, data, ts),
      read: (channels, afterSeq) => inner.read(channels, afterSeq),
      head: () => inner.head(),
      onEvent: (listener) => inner.onEvent(listener),
      check: () => (failing ? Promise.reject(new Error("connection refused")) : inner.check()),
      close: () => inner.close(),
    };
    const hub = await start({ store });
    const down = await answerOf(await fetch(`${hub.url}/readyz`));
    expect(down).toMatchObject({ status: 503, code: "unavailable" });
    expect((await fetch(`${hub.url}/healthz`)).status).toBe(200);
    failing = false;
    expect((await fetch(`${hub.url}/readyz`)).status).toBe(200);
  });

  it("serves /metrics with figures that move as streams open and events flow", async () => {
    const hub = await start({ limits: { maxBufferedBytes: 64 * 1024 } });
    const metrics = async () => {
      const response = await fetch(`${hub.url}/metrics`);
      expect(response.status).toBe(200);
      expect(response.headers.get("content-type")).toMatch(/^text\/plain/);
      return response.text();
    };
    const before = await metrics();
    for (const name of [
      "herald_open_streams",
      "herald_subscriptions",
      "herald_events_published_total",
      "herald_events_delivered_total",
      "herald_events_replayed_total",
      "herald_slow_consumers_dropped_total",
      "herald_publish_to_write_seconds_count",
    ]) {
      expect(sample(before, name)).toBe(0);
    }

    const live = await open(hub, "/api/v1/events?channel=project.m&channel=user.m");
    let text = await metrics();
    expect(sample(text, "herald_open_streams")).toBe(1);
    expect(sample(text, "herald_subscriptions")).toBe(2);

    await hub.publishHttp("project.m", { type: "data" });
    await live.until((s) => s.events.length === 1, "the live event");
    text = await metrics();
    expect(sample(text, "herald_events_published_total")).toBe(1);
    expect(sample(text, "herald_events_delivered_total")).toBe(1);
    expect(sample(text, "herald_publish_to_write_seconds_count")).toBe(1);

    const replaying = await open(hub, "/api/v1/events/project.m?from=start");
    await replaying.until((s) => s.events.length === 1, "the replayed event");
    text = await metrics();
    expect(sample(text, "herald_events_replayed_total")).toBe(1);
    expect(sample(text, "herald_open_streams")).toBe(2);
    expect(sample(text, "herald_subscriptions")).toBe(3);

    // A reader that stops reading: its unsent bytes grow until the hub drops it.
    const slow = await open(hub, "/api/v1/events/project.slow");
    slow.response.pause();
    const pad = "x".repeat(60 * 1024);
    let published = 0;
    while (sample(await metrics(), "herald_slow_consumers_dropped_total") === 0) {
      await hub.hub.publish("project.slow", { type: "data", data: { pad } });
      published++;
      expect(published).toBeLessThan(2000);
    }
    slow.response.resume();
    await slow.ended;
    text = await metrics();
    expect(sample(text, "herald_slow_consumers_dropped_total")).toBe(1);
    expect(sample(text, "herald_open_streams")).toBe(2);
  });
});
