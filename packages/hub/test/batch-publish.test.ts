/**
 * Publishing a batch over HTTP (`POST /api/v1/events`, docs/PROTOCOL.md section 5) against a
 * real hub behind the Node adapter on a real port: order, ids, every refusal with its status
 * and the field it names, the publish claim per channel, the limits, nothing published when
 * anything is refused, and a store failing partway.
 */
import { request as httpRequest } from "node:http";
import { HeraldError } from "@herald/protocol";
import { messagesOf, openRawStream, type RawStream } from "@herald/test-support/raw-sse";
import { startTestHub, type TestHub } from "@herald/test-support/server";
import { afterEach, describe, expect, it } from "vitest";
import { createMemoryStore, type EventStore } from "../src/index.ts";

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

interface Answer {
  status: number;
  body: {
    ids?: string[];
    error?: { code: string; message: string; field?: string };
  };
}

async function postBatch(hub: TestHub, body: unknown, token = hub.token): Promise<Answer> {
  const response = await fetch(`${hub.url}/api/v1/events`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Answer["body"] };
}

const data = (n: number) => ({ type: "data", data: { n } });

async function open(hub: TestHub, path: string): Promise<RawStream> {
  const stream = await openRawStream(`${hub.url}${path}`, {
    authorization: `Bearer ${hub.token}`,
  });
  streams.push(stream);
  await stream.until((s) => s.comments.includes("ok"), "the opening");
  return stream;
}

/** What history holds for these channels: a refused batch must have left nothing there. */
async function history(hub: TestHub, channels: string[]): Promise<unknown[]> {
  const { events } = await hub.hub.store.read(channels, 0);
  return events.map((event) => JSON.parse(event.data) as unknown);
}

describe("a batch", () => {
  it("publishes its events in order and answers their ids in the same order", async () => {
    const hub = await start();
    const stream = await open(hub, "/api/v1/events?channel=file.f1&channel=file.f2");
    const answer = await postBatch(hub, {
      events: [
        { channel: "file.f1", message: data(1) },
        { channel: "file.f2", message: data(2) },
        { channel: "file.f1", message: data(3) },
      ],
    });
    expect(answer.status).toBe(201);
    expect(answer.body.ids).toHaveLength(3);
    await stream.until((s) => s.events.length === 3, "the three events");
    expect(stream.events.map((event) => event.id)).toEqual(answer.body.ids);
    expect(messagesOf(stream)).toMatchObject([
      { type: "data", data: { n: 1 }, channel: "file.f1" },
      { type: "data", data: { n: 2 }, channel: "file.f2" },
      { type: "data", data: { n: 3 }, channel: "file.f1" },
    ]);
  });

  it("answers ids a stream resumes from", async () => {
    const hub = await start();
    const { body } = await postBatch(hub, {
      events: [1, 2, 3, 4].map((n) => ({ channel: "project.p1", message: data(n) })),
    });
    const second = body.ids?.[1] as string;
    const stream = await open(hub, `/api/v1/events/project.p1?lastEventId=${second}`);
    await stream.until((s) => s.events.length === 2, "the events after the second");
    expect(stream.events.map((event) => event.id)).toEqual(body.ids?.slice(2));
    expect(messagesOf(stream).map((message) => message.data)).toEqual([{ n: 3 }, { n: 4 }]);
  });

  it("keeps the order of batches sent one after another on one connection", async () => {
    const hub = await start();
    const ids: string[] = [];
    for (const batch of [0, 1, 2]) {
      const answer = await postBatch(hub, {
        events: [0, 1].map((n) => ({ channel: "user.u1", message: data(batch * 2 + n) })),
      });
      ids.push(...(answer.body.ids ?? []));
    }
    const kept = await history(hub, ["user.u1"]);
    expect(kept.map((message) => (message as { data: { n: number } }).data.n)).toEqual([
      0, 1, 2, 3, 4, 5,
    ]);
    expect(new Set(ids).size).toBe(6);
  });

  it("leaves the single publish as it was", async () => {
    const hub = await start();
    const id = await hub.publishHttp("project.p1", data(1));
    const { body } = await postBatch(hub, {
      events: [{ channel: "project.p1", message: data(2) }],
    });
    expect(body.ids).toHaveLength(1);
    expect(body.ids?.[0]).not.toBe(id);
  });

  it("answers other methods on the collection path with 405 naming GET and POST", async () => {
    const hub = await start();
    const response = await fetch(`${hub.url}/api/v1/events`, {
      method: "PUT",
      headers: { authorization: `Bearer ${hub.token}` },
    });
    expect(response.status).toBe(405);
    expect(response.headers.get("allow")).toBe("GET, POST");
    expect(await response.json()).toMatchObject({ error: { code: "method_not_allowed" } });
  });
});

describe("a refused batch publishes nothing", () => {
  const good = { channel: "project.p1", message: data(0) };
  const cases: Array<[string, unknown, number, string, string | undefined, RegExp]> = [
    ["a body that is not JSON", "{events", 400, "invalid_message", undefined, /"events"/],
    ["a body without events", { event: [good] }, 400, "invalid_message", undefined, /"events"/],
    [
      "events that is not an array",
      { events: good },
      400,
      "invalid_message",
      undefined,
      /"events"/,
    ],
    ["no events", { events: [] }, 400, "invalid_message", "events", /empty/],
    [
      "an event that is not an object",
      { events: [good, "project.p1"] },
      400,
      "invalid_message",
      "events[1]",
      /^events\[1\] must be an object/,
    ],
    [
      "an event without a channel",
      { events: [good, { message: data(1) }] },
      400,
      "invalid_channel",
      "events[1].channel",
      /^events\[1\]\.channel must be a channel name/,
    ],
    [
      "a malformed channel",
      { events: [good, good, { channel: "project.a b", message: data(1) }] },
      400,
      "invalid_channel",
      "events[2].channel",
      /^events\[2\]\.channel: /,
    ],
    [
      "a channel of a kind the hub does not take",
      { events: [{ channel: "team.t1", message: data(1) }] },
      400,
      "invalid_channel",
      "events[0].channel",
      /^events\[0\]\.channel: /,
    ],
    [
      "a message without a type",
      { events: [good, { channel: "project.p1", message: { data: {} } }] },
      400,
      "invalid_message",
      "events[1].message",
      /^events\[1\]\.message: /,
    ],
    [
      "an event without a message",
      { events: [good, { channel: "project.p1" }] },
      400,
      "invalid_message",
      "events[1].message",
      /^events\[1\]\.message: /,
    ],
    [
      "a known type whose object has the wrong shape",
      {
        events: [good, good, good, { channel: "file.f1", message: { type: "task", object: {} } }],
      },
      400,
      "invalid_message",
      "events[3].message",
      /^events\[3\]\.message: /,
    ],
    [
      "a message nested too deeply",
      {
        events: [
          good,
          { channel: "project.p1", message: JSON.parse(`${"[".repeat(300)}${"]".repeat(300)}`) },
        ],
      },
      400,
      "invalid_message",
      "events[1].message",
      /^events\[1\]\.message nests deeper than 256 levels/,
    ],
    [
      "a message over 64 KiB",
      {
        events: [
          good,
          { channel: "project.p1", message: { type: "data", data: { pad: "x".repeat(70_000) } } },
        ],
      },
      413,
      "payload_too_large",
      "events[1].message",
      /^events\[1\]\.message: the message is \d+ bytes of JSON; the limit is 65536/,
    ],
  ];

  it.each(cases)("refuses %s", async (_, body, status, code, field, message) => {
    const hub = await start();
    const answer = await postBatch(hub, body);
    expect(answer.status).toBe(status);
    expect(answer.body.error?.code).toBe(code);
    expect(answer.body.error?.field).toBe(field);
    expect(answer.body.error?.message).toMatch(message);
    expect(answer.body.ids).toBeUndefined();
    expect(await history(hub, ["project.p1", "file.f1"])).toEqual([]);
  });

  it("refuses a batch without a token with 401", async () => {
    const hub = await start();
    const response = await fetch(`${hub.url}/api/v1/events`, {
      method: "POST",
      body: JSON.stringify({ events: [good] }),
    });
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ error: { code: "unauthorized" } });
  });

  it("refuses a batch with a channel outside the token's publish claim with 403 naming it", async () => {
    const hub = await start();
    const token = await hub.sign({ sub: "renderer", publish: ["file.*"] });
    const answer = await postBatch(
      hub,
      {
        events: [
          { channel: "file.f1", message: data(1) },
          { channel: "project.p1", message: data(2) },
          { channel: "file.f2", message: data(3) },
        ],
      },
      token,
    );
    expect(answer.status).toBe(403);
    expect(answer.body.error).toMatchObject({ code: "forbidden", field: "events[1].channel" });
    expect(answer.body.error?.message).toMatch(
      /^events\[1\]\.channel: this token may not publish to project\.p1/,
    );
    expect(await history(hub, ["file.f1", "file.f2", "project.p1"])).toEqual([]);
    // The same token publishes a batch its claim covers.
    const covered = await postBatch(
      hub,
      { events: [{ channel: "file.f1", message: data(1) }] },
      token,
    );
    expect(covered.status).toBe(201);
  });

  it("refuses a token that may subscribe but not publish with 403", async () => {
    const hub = await start();
    const token = await hub.sign({ sub: "reader", channels: ["project.*"] });
    const answer = await postBatch(hub, { events: [good] }, token);
    expect(answer.status).toBe(403);
    expect(await history(hub, ["project.p1"])).toEqual([]);
  });
});

describe("batch limits", () => {
  const events = (count: number) =>
    Array.from({ length: count }, (_, n) => ({ channel: "project.p1", message: data(n) }));

  it("takes 1,000 events in one batch and refuses 1,001 with 413", async () => {
    const hub = await start();
    const full = await postBatch(hub, { events: events(1000) });
    expect(full.status).toBe(201);
    expect(full.body.ids).toHaveLength(1000);
    const over = await postBatch(hub, { events: events(1001) });
    expect(over.status).toBe(413);
    expect(over.body.error).toMatchObject({ code: "payload_too_large", field: "events" });
    expect(over.body.error?.message).toMatch(/1001 events; the limit is 1000/);
    expect(await history(hub, ["project.p1"])).toHaveLength(1000);
  });

  it("takes its own maxBatchEvents", async () => {
    const hub = await start({ limits: { maxBatchEvents: 2 } });
    expect((await postBatch(hub, { events: events(2) })).status).toBe(201);
    expect((await postBatch(hub, { events: events(3) })).status).toBe(413);
  });

  /** A POST through node:http, with or without content-length, the body written in chunks. */
  function postRaw(
    hub: TestHub,
    body: Uint8Array,
    options: { contentLength: boolean },
  ): Promise<{ status: number; code: string | undefined }> {
    return new Promise((resolve, reject) => {
      const headers: Record<string, string | number> = { authorization: `Bearer ${hub.token}` };
      if (options.contentLength) headers["content-length"] = body.byteLength;
      const req = httpRequest(
        `${hub.url}/api/v1/events`,
        { method: "POST", agent: false, headers },
        (res) => {
          let text = "";
          res.setEncoding("utf8");
          res.on("data", (chunk: string) => {
            text += chunk;
          });
          res.on("end", () => {
            const json = JSON.parse(text) as { error?: { code?: string } };
            resolve({ status: res.statusCode ?? 0, code: json.error?.code });
          });
        },
      );
      // The server may answer and close before the whole body is sent; the answer still counts.
      req.on("error", reject);
      const half = Math.floor(body.byteLength / 2);
      req.write(body.subarray(0, half));
      req.end(body.subarray(half));
    });
  }

  it("refuses a body over maxBatchBytes, announced or counted, with 413 and publishes nothing", async () => {
    const hub = await start({ limits: { maxBatchBytes: 4096 } });
    const body = new TextEncoder().encode(JSON.stringify({ events: events(100) }));
    expect(body.byteLength).toBeGreaterThan(4096);
    for (const contentLength of [true, false]) {
      const answer = await postRaw(hub, body, { contentLength });
      expect(answer).toEqual({ status: 413, code: "payload_too_large" });
    }
    const under = new TextEncoder().encode(JSON.stringify({ events: events(20) }));
    expect(under.byteLength).toBeLessThan(4096);
    expect((await postRaw(hub, under, { contentLength: false })).status).toBe(201);
    expect(await history(hub, ["project.p1"])).toHaveLength(20);
  });

  it("takes a batch body of 1 MiB by default, far past the 64 KiB of a single publish", async () => {
    const hub = await start();
    const pad = "x".repeat(60_000);
    const big = Array.from({ length: 16 }, (_, n) => ({
      channel: "project.p1",
      message: { type: "data", data: { n, pad } },
    }));
    const answer = await postBatch(hub, { events: big });
    expect(answer.status).toBe(201);
    const over = await postBatch(hub, { events: [...big, ...big] });
    expect(over.status).toBe(413);
  });
});

describe("a store failing partway through a batch", () => {
  /** A memory store whose append fails from the `failAt`-th call (0-based) with `failure`. */
  function failingStore(failAt: number, failure: Error): EventStore {
    const store = createMemoryStore();
    let appends = 0;
    return {
      ...store,
      epoch: store.epoch,
      append(channel, data, ts) {
        if (appends++ >= failAt) return Promise.reject(failure);
        return store.append(channel, data, ts);
      },
    };
  }

  it("answers the store's error, where it failed and the ids of what it published", async () => {
    const unavailable = new HeraldError("unavailable", "Redis does not answer");
    const hub = await start({ store: failingStore(2, unavailable) });
    const answer = await postBatch(hub, {
      events: [1, 2, 3, 4].map((n) => ({ channel: "project.p1", message: data(n) })),
    });
    expect(answer.status).toBe(503);
    expect(answer.body.error).toMatchObject({ code: "unavailable", field: "events[2]" });
    expect(answer.body.error?.message).toMatch(
      /events\[0\] to events\[1\] were published .*events\[2\] may have been published, the later ones were not/,
    );
    const kept = await hub.hub.store.read(["project.p1"], 0);
    expect(answer.body.ids).toEqual(kept.events.map((event) => event.id));
    expect(answer.body.ids).toHaveLength(2);
  });

  it("answers 500 internal for an unexpected failure, and reports it", async () => {
    const reported: HeraldError[] = [];
    const hub = await start({
      store: failingStore(0, new Error("disk on fire")),
      onError: (error) => reported.push(error),
    });
    const answer = await postBatch(hub, {
      events: [{ channel: "project.p1", message: data(1) }],
    });
    expect(answer.status).toBe(500);
    expect(answer.body.error).toMatchObject({ code: "internal", field: "events[0]" });
    expect(answer.body.error?.message).toMatch(/nothing was published before it/);
    expect(answer.body.error?.message).not.toMatch(/disk on fire/);
    expect(answer.body.ids).toEqual([]);
    expect(reported.map((error) => error.code)).toEqual(["internal"]);
  });
});
