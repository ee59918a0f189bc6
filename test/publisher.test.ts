/**
 * `@herald/client/publisher` against a real hub on a real port (docs/PROTOCOL.md section 5,
 * batches): publishes of one turn in one POST, publishes made while a POST is out in the next,
 * one keep-alive connection for all of them, and each way a publish can fail. Here rather than
 * in packages/client: the client's own tests never start the hub (AGENTS.md), and this one is
 * about the two together.
 */
import type { IncomingMessage } from "node:http";
import { createPublisher, type Publisher } from "@herald/client/publisher";
import { createMemoryStore, type EventStore } from "@herald/hub";
import { HeraldError } from "@herald/protocol";
import { messagesOf, openRawStream, type RawStream } from "@herald/test-support/raw-sse";
import { startTestHub, type TestHub } from "@herald/test-support/server";
import { afterEach, describe, expect, it, vi } from "vitest";

let server: TestHub | undefined;
let publisher: Publisher | undefined;
const streams: RawStream[] = [];
afterEach(async () => {
  await publisher?.close();
  publisher = undefined;
  for (const stream of streams.splice(0)) stream.close();
  await server?.close();
  server = undefined;
});

/**
 * A hub that counts the POSTs it gets and the connections they came on, and a fetch for the
 * publisher that notes how many events each POST carries.
 */
async function start(options: Parameters<typeof startTestHub>[0] = {}) {
  const hub = await startTestHub(options);
  server = hub;
  const seen = { connections: 0, requests: 0, posts: [] as number[] };
  hub.server.on("connection", () => {
    seen.connections++;
  });
  hub.server.on("request", (req: IncomingMessage) => {
    if (req.method === "POST") seen.requests++;
  });
  const counting: typeof fetch = (input, init) => {
    seen.posts.push((JSON.parse(String(init?.body)) as { events: unknown[] }).events.length);
    return fetch(input, init);
  };
  return { hub, seen, fetch: counting };
}

async function open(hub: TestHub, channels: string[]): Promise<RawStream> {
  const query = channels.map((channel) => `channel=${channel}`).join("&");
  const stream = await openRawStream(`${hub.url}/api/v1/events?${query}`, {
    authorization: `Bearer ${hub.token}`,
  });
  streams.push(stream);
  await stream.until((s) => s.comments.includes("ok"), "the opening");
  return stream;
}

const data = (n: number) => ({ type: "data", data: { n } });
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe("batching", () => {
  it("sends the publishes of one turn in one POST, in order, each resolved with its id", async () => {
    const { hub, seen, fetch: counting } = await start();
    const stream = await open(hub, ["file.f1", "file.f2"]);
    publisher = createPublisher({
      url: `${hub.url}/api/v1/events`,
      token: hub.token,
      fetch: counting,
    });
    const ids = await Promise.all([
      publisher.publish("file.f1", data(1)),
      publisher.publish("file.f2", data(2)),
      publisher.publish("file.f1", data(3)),
      publisher.publish("file.f2", data(4)),
      publisher.publish("file.f1", data(5)),
    ]);
    expect(seen.posts).toEqual([5]);
    expect(seen.requests).toBe(1);
    await stream.until((s) => s.events.length === 5, "the five events");
    expect(stream.events.map((event) => event.id)).toEqual(ids);
    expect(messagesOf(stream).map((message) => message.data)).toEqual(
      [1, 2, 3, 4, 5].map((n) => ({ n })),
    );
  });

  it("gathers the publishes made while a POST is out into the next POST", async () => {
    const { hub, seen, fetch: counting } = await start();
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const bodies: string[] = [];
    publisher = createPublisher({
      url: `${hub.url}/api/v1/events`,
      token: hub.token,
      async fetch(input, init) {
        bodies.push(String(init?.body));
        // The first POST waits here until the test has published three more.
        if (bodies.length === 1) await held;
        return counting(input, init);
      },
    });
    const first = publisher.publish("project.p1", data(1));
    await vi.waitFor(() => expect(bodies).toHaveLength(1));
    const later: Promise<string>[] = [];
    for (const n of [2, 3, 4]) {
      later.push(publisher.publish("project.p1", data(n)));
      await turn();
    }
    expect(bodies).toHaveLength(1);
    release();
    const ids = [await first, ...(await Promise.all(later))];
    expect(seen.posts).toEqual([1, 3]);
    const { events } = await hub.hub.store.read(["project.p1"], 0);
    expect(events.map((event) => event.id)).toEqual(ids);
  });

  it("reuses one keep-alive connection for every POST, with the global fetch", async () => {
    const { hub, seen } = await start();
    let tokenReads = 0;
    publisher = createPublisher({
      url: `${hub.url}/api/v1/events`,
      token: () => {
        tokenReads++;
        return hub.token;
      },
    });
    for (const n of [1, 2, 3, 4]) await publisher.publish("project.p1", data(n));
    expect(seen.requests).toBe(4);
    expect(seen.connections).toBe(1);
    expect(tokenReads).toBe(4);
  });

  it("splits what is queued at maxBatch events and at maxBatchBytes, keeping the order", async () => {
    const { hub, seen, fetch: counting } = await start();
    publisher = createPublisher({
      url: `${hub.url}/api/v1/events`,
      token: hub.token,
      fetch: counting,
      maxBatch: 2,
    });
    await Promise.all([1, 2, 3, 4, 5].map((n) => publisher?.publish("project.p1", data(n))));
    expect(seen.posts).toEqual([2, 2, 1]);

    const bytes = createPublisher({
      url: `${hub.url}/api/v1/events`,
      token: hub.token,
      fetch: counting,
      maxBatchBytes: 400,
    });
    const pad = "x".repeat(100);
    await Promise.all(
      [6, 7, 8, 9].map((n) => bytes.publish("project.p1", { type: "data", data: { n, pad } })),
    );
    await bytes.close();
    expect(seen.posts).toEqual([2, 2, 1, 2, 2]);
    const { events } = await hub.hub.store.read(["project.p1"], 0);
    expect(
      events.map((event) => (JSON.parse(event.data) as { data: { n: number } }).data.n),
    ).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it("waits lingerMs for more publishes, and flush() sends them at once", async () => {
    const { hub, seen, fetch: counting } = await start();
    publisher = createPublisher({
      url: `${hub.url}/api/v1/events`,
      token: hub.token,
      fetch: counting,
      lingerMs: 60_000,
    });
    const published = [1, 2, 3].map((n) => publisher?.publish("project.p1", data(n)));
    await turn();
    await turn();
    expect(seen.posts).toEqual([]);
    await publisher.flush();
    expect(seen.posts).toEqual([3]);
    await expect(Promise.all(published)).resolves.toHaveLength(3);
  });

  it("close() waits for what is queued, then refuses publishes with client_closed", async () => {
    const { hub, fetch: counting } = await start();
    const closing = createPublisher({
      url: `${hub.url}/api/v1/events`,
      token: hub.token,
      fetch: counting,
    });
    const queued = closing.publish("project.p1", data(1));
    await closing.close();
    await expect(queued).resolves.toEqual(expect.any(String));
    await expect(closing.publish("project.p1", data(2))).rejects.toMatchObject({
      code: "client_closed",
    });
  });
});

describe("failures", () => {
  it("rejects only a publish the hub refuses, and publishes the others of its batch", async () => {
    const { hub, seen, fetch: counting } = await start();
    publisher = createPublisher({
      url: `${hub.url}/api/v1/events`,
      token: hub.token,
      fetch: counting,
    });
    const results = await Promise.allSettled([
      publisher.publish("project.p1", data(1)),
      publisher.publish("project.p1", { data: { n: 2 } } as unknown as { type: "data" }),
      publisher.publish("project.p1", data(3)),
    ]);
    expect(results.map((result) => result.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    const refused = (results[1] as PromiseRejectedResult).reason as Error;
    expect(refused).toMatchObject({
      name: "HeraldClientError",
      code: "invalid_message",
      status: 400,
    });
    expect(refused.message).toMatch(/400 invalid_message: events\[1\]\.message: /);
    expect(seen.posts).toEqual([3, 2]);
    const { events } = await hub.hub.store.read(["project.p1"], 0);
    expect(events.map((event) => event.id)).toEqual([
      (results[0] as PromiseFulfilledResult<string>).value,
      (results[2] as PromiseFulfilledResult<string>).value,
    ]);
  });

  it("rejects a publish to a channel outside the token's publish claim with 403 forbidden", async () => {
    const { hub } = await start();
    const token = await hub.sign({ sub: "renderer", publish: ["file.*"] });
    publisher = createPublisher({ url: `${hub.url}/api/v1/events`, token });
    const [allowed, refused] = await Promise.allSettled([
      publisher.publish("file.f1", data(1)),
      publisher.publish("project.p1", data(2)),
    ]);
    expect(allowed.status).toBe("fulfilled");
    expect((refused as PromiseRejectedResult).reason).toMatchObject({
      code: "forbidden",
      status: 403,
    });
  });

  it("rejects every publish of a batch the hub refuses as a whole: 401 for a bad token", async () => {
    const { hub, seen, fetch: counting } = await start();
    publisher = createPublisher({
      url: `${hub.url}/api/v1/events`,
      token: "not-a-token",
      fetch: counting,
    });
    const results = await Promise.allSettled([
      publisher.publish("project.p1", data(1)),
      publisher.publish("project.p1", data(2)),
    ]);
    for (const result of results) {
      expect((result as PromiseRejectedResult).reason).toMatchObject({
        code: "unauthorized",
        status: 401,
      });
    }
    expect(seen.posts).toEqual([2]);
    expect((await hub.hub.store.read(["project.p1"], 0)).events).toEqual([]);
  });

  it("resolves what a failing store published and rejects the rest with its error", async () => {
    const store = createMemoryStore();
    let appends = 0;
    const failing: EventStore = {
      ...store,
      epoch: store.epoch,
      append(channel, json, ts) {
        if (appends++ >= 2) {
          return Promise.reject(new HeraldError("unavailable", "Redis does not answer"));
        }
        return store.append(channel, json, ts);
      },
    };
    const { hub, fetch: counting } = await start({ store: failing });
    publisher = createPublisher({
      url: `${hub.url}/api/v1/events`,
      token: hub.token,
      fetch: counting,
    });
    const results = await Promise.allSettled(
      [1, 2, 3, 4].map((n) => publisher?.publish("project.p1", data(n))),
    );
    expect(results.map((result) => result.status)).toEqual([
      "fulfilled",
      "fulfilled",
      "rejected",
      "rejected",
    ]);
    expect((results[2] as PromiseRejectedResult).reason).toMatchObject({
      code: "unavailable",
      status: 503,
    });
    const { events } = await hub.hub.store.read(["project.p1"], 0);
    expect(events.map((event) => event.id)).toEqual(
      results.slice(0, 2).map((result) => (result as PromiseFulfilledResult<string>).value),
    );
  });

  it("rejects with network when nothing answers, and http_error for a page that is not the hub's", async () => {
    const { hub } = await start();
    const wrongPath = createPublisher({ url: `${hub.url}/not-the-hub`, token: hub.token });
    await expect(wrongPath.publish("project.p1", data(1))).rejects.toMatchObject({
      code: "http_error",
      status: 404,
    });
    const url = `${hub.url}/api/v1/events`;
    await hub.close();
    server = undefined;
    const gone = createPublisher({ url, token: "t" });
    await expect(gone.publish("project.p1", data(1))).rejects.toMatchObject({
      code: "network",
      status: undefined,
    });
  });

  it("rejects the batch with unauthorized when the token function throws, and sends nothing", async () => {
    const { hub, seen, fetch: counting } = await start();
    publisher = createPublisher({
      url: `${hub.url}/api/v1/events`,
      token: () => Promise.reject(new Error("the token service is down")),
      fetch: counting,
    });
    await expect(publisher.publish("project.p1", data(1))).rejects.toMatchObject({
      code: "unauthorized",
      message: expect.stringMatching(/token function threw \(the token service is down\)/),
    });
    expect(seen.posts).toEqual([]);
  });

  it("rejects a message that is not a JSON object at once, without a POST", async () => {
    const { hub, seen, fetch: counting } = await start();
    publisher = createPublisher({
      url: `${hub.url}/api/v1/events`,
      token: hub.token,
      fetch: counting,
    });
    const cyclic: Record<string, unknown> = { type: "data" };
    cyclic.self = cyclic;
    await expect(publisher.publish("project.p1", cyclic as { type: "data" })).rejects.toMatchObject(
      { code: "invalid_message" },
    );
    await expect(
      publisher.publish("project.p1", undefined as unknown as { type: "data" }),
    ).rejects.toMatchObject({ code: "invalid_message" });
    expect(seen.posts).toEqual([]);
  });

  it("refuses options that cannot work", () => {
    for (const options of [{ maxBatch: 0 }, { maxBatchBytes: 10 }, { lingerMs: -1 }]) {
      expect(() => createPublisher({ url: "http://hub", token: "t", ...options })).toThrow(
        expect.objectContaining({ code: "invalid_options" }),
      );
    }
  });
});
