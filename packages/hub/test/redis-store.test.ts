/**
 * The Redis event store against real Redis: the store contract, one sequence and one epoch
 * shared by every server, events crossing from one hub to another, and what happens when Redis
 * (or one server's connection to it) goes away and comes back. These tests need a Redis at
 * REDIS_URL (default 127.0.0.1:6379) and `redis-server` on the PATH; without them they fail.
 */
import { cp, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HeraldError } from "@herald/protocol";
import { messagesOf, openRawStream, type RawStream } from "@herald/test-support/raw-sse";
import {
  connectTestRedis,
  deleteKeys,
  REDIS_URL,
  type RedisServer,
  startRedisServer,
  uniquePrefix,
} from "@herald/test-support/redis-server";
import { startTestHub, type TestHub } from "@herald/test-support/server";
import { startTcpProxy } from "@herald/test-support/tcp-proxy";
import type { Redis } from "ioredis";
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createRedisStore, type RedisStoreOptions } from "../src/redis-store.ts";
import type { EventStore, StoredEvent } from "../src/store.ts";
import { describeEventStoreContract } from "./store-contract.ts";

let admin: Redis | undefined;
let connecting: Promise<Redis> | undefined;

// Before each test, not all: without Redis every test then fails with how to fix it, where a
// failed beforeAll would list them as skipped.
beforeEach(async () => {
  connecting ??= connectTestRedis();
  admin = await connecting;
});

afterAll(async () => {
  await admin?.quit();
});

/** Empties a prefix, when there is a Redis to empty it in (otherwise the test failed already). */
async function cleanUp(prefix: string): Promise<void> {
  if (admin) await deleteKeys(admin, prefix);
}

function adminRedis(): Redis {
  if (!admin) throw new Error(`no connection to the test Redis at ${REDIS_URL}`);
  return admin;
}

let contractPrefix = uniquePrefix();
describeEventStoreContract(
  "redis",
  (options) => createRedisStore({ url: REDIS_URL, keyPrefix: contractPrefix, ...options }),
  async () => {
    await cleanUp(contractPrefix);
    contractPrefix = uniquePrefix();
  },
);

function plain(event: StoredEvent): StoredEvent {
  return { id: event.id, seq: event.seq, channel: event.channel, data: event.data, ts: event.ts };
}

function listen(store: EventStore): StoredEvent[] {
  const heard: StoredEvent[] = [];
  store.onEvent((event) => heard.push(plain(event)));
  return heard;
}

/** Failures no caller waits for, kept instead of printed as process warnings. */
const reported: HeraldError[] = [];
const report = (error: HeraldError) => {
  reported.push(error);
};

describe("redis store", () => {
  const stores: EventStore[] = [];
  const hubs: TestHub[] = [];
  const prefixes: string[] = [];
  const servers: RedisServer[] = [];
  const streams: RawStream[] = [];

  afterEach(async () => {
    for (const stream of streams.splice(0)) stream.close();
    for (const hub of hubs.splice(0)) await hub.close();
    for (const store of stores.splice(0)) await store.close();
    for (const server of servers.splice(0)) await server.close();
    for (const prefix of prefixes.splice(0)) await cleanUp(prefix);
    reported.length = 0;
  });

  function newPrefix(): string {
    const prefix = uniquePrefix();
    prefixes.push(prefix);
    return prefix;
  }

  async function openStore(options: RedisStoreOptions): Promise<EventStore> {
    const store = await createRedisStore({ url: REDIS_URL, onError: report, ...options });
    stores.push(store);
    return store;
  }

  async function startHub(store: EventStore): Promise<TestHub> {
    stores.splice(stores.indexOf(store), 1);
    const hub = await startTestHub({ store, heartbeatMs: 50, onError: report });
    hubs.push(hub);
    return hub;
  }

  async function openStream(hub: TestHub, path: string, headers: Record<string, string> = {}) {
    const raw = await openRawStream(`${hub.url}${path}`, {
      authorization: `Bearer ${hub.token}`,
      ...headers,
    });
    streams.push(raw);
    await raw.until((s) => s.comments.includes("ok"), "the opening comment");
    return raw;
  }

  const message = (n: number) => ({ type: "data", data: { n } });

  it("gives two stores on one prefix one sequence, and each hears the other's events in order", async () => {
    const prefix = newPrefix();
    const a = await openStore({ keyPrefix: prefix });
    const b = await openStore({ keyPrefix: prefix });
    expect(b.epoch).toBe(a.epoch);
    const heardByA = listen(a);
    const heardByB = listen(b);
    const sent: StoredEvent[] = [];
    for (let n = 0; n < 6; n++) {
      sent.push(await (n % 2 === 0 ? a : b).append("project.p1", `{"n":${n}}`, n));
    }
    // Appended at the same time from both: still one sequence, no seq given twice.
    const together = await Promise.all(
      Array.from({ length: 20 }, (_, n) => (n % 2 === 0 ? a : b).append("file.f1", `${n}`, n)),
    );
    sent.push(...together.sort((x, y) => x.seq - y.seq));
    expect(sent.map((event) => event.seq)).toEqual(sent.map((_, i) => (sent[0]?.seq ?? 0) + i));
    await vi.waitFor(() => {
      expect(heardByA).toHaveLength(sent.length);
      expect(heardByB).toHaveLength(sent.length);
    });
    expect(heardByA).toEqual(sent.map(plain));
    expect(heardByB).toEqual(sent.map(plain));
    expect(await a.head()).toBe(sent.at(-1)?.seq);
  });

  it("keeps its epoch across a close and reopen, and makes a new one once the history is gone", async () => {
    const prefix = newPrefix();
    const first = await openStore({ keyPrefix: prefix });
    const event = await first.append("project.p1", "{}", 1);
    await first.close();

    const reopened = await openStore({ keyPrefix: prefix });
    expect(reopened.epoch).toBe(first.epoch);
    expect(await reopened.head()).toBe(event.seq);
    expect((await reopened.read(["project.p1"], 0)).events.map(plain)).toEqual([plain(event)]);
    await reopened.close();

    await deleteKeys(adminRedis(), prefix);
    const afterLoss = await openStore({ keyPrefix: prefix });
    expect(afterLoss.epoch).not.toBe(first.epoch);
    expect(await afterLoss.head()).toBe(0);
    expect((await afterLoss.read(["project.p1"], 0)).events).toEqual([]);

    // Only the sequence lost (the epoch key is still there) is a loss of history too.
    await afterLoss.close();
    await adminRedis().del(`${prefix}${afterLoss.epoch}:seq`);
    const afterSeqLoss = await openStore({ keyPrefix: prefix });
    expect(afterSeqLoss.epoch).not.toBe(afterLoss.epoch);
  });

  it("moves running stores to a new epoch when Redis loses the history, with the sequence still rising", async () => {
    const prefix = newPrefix();
    const a = await openStore({ keyPrefix: prefix });
    const b = await openStore({ keyPrefix: prefix });
    const heardByB = listen(b);
    const old = a.epoch;
    for (let n = 0; n < 3; n++) await a.append("project.p1", `${n}`, n);
    await vi.waitFor(() => expect(heardByB).toHaveLength(3));

    await deleteKeys(adminRedis(), prefix);
    const after = await a.append("project.p1", "after", 4);
    expect(a.epoch).not.toBe(old);
    expect(after.id).toBe(`${a.epoch}-${after.seq}`);
    // The hub drops any seq at or below a stream's last: a restart from 1 would silence streams.
    expect(after.seq).toBeGreaterThan(3);
    await vi.waitFor(() => expect(heardByB).toHaveLength(4));
    expect(heardByB[3]).toEqual(plain(after));
    expect(b.epoch).toBe(a.epoch);
    expect(reported.map((error) => error.message)).toContainEqual(
      expect.stringContaining("lost the event history"),
    );
  });

  it("delivers once and in order the events appended while its connection to Redis was cut off", async () => {
    const prefix = newPrefix();
    const port = Number(new URL(REDIS_URL).port || 6379);
    const proxy = await startTcpProxy(port);
    try {
      const direct = await openStore({ keyPrefix: prefix });
      const cut = await openStore({ keyPrefix: prefix, url: `redis://127.0.0.1:${proxy.port}` });
      const heard = listen(cut);
      const sent = [await direct.append("project.p1", "0", 0)];
      await vi.waitFor(() => expect(heard).toHaveLength(1));

      proxy.cutOff();
      await expect(cut.append("project.p1", "refused", 0)).rejects.toMatchObject({
        code: "unavailable",
      });
      // Published while the cut-off store has no subscriber: pub/sub never brings these.
      for (let n = 1; n <= 3; n++) sent.push(await direct.append("project.p1", `${n}`, n));
      proxy.resume();
      await vi.waitFor(() => expect(heard).toHaveLength(4), { timeout: 5000 });
      sent.push(await direct.append("project.p1", "4", 4));
      await vi.waitFor(() => expect(heard).toHaveLength(5));
      expect(heard).toEqual(sent.map(plain));
      await vi.waitFor(() => cut.check(), { timeout: 5000 });
    } finally {
      await proxy.close();
    }
  });

  it("closes its streams when the log lost events its subscriber missed, and they resume from history", async () => {
    const prefix = newPrefix();
    const port = Number(new URL(REDIS_URL).port || 6379);
    const proxy = await startTcpProxy(port);
    try {
      const direct = await openStore({ keyPrefix: prefix, logMaxEvents: 5 });
      const cut = await openStore({
        keyPrefix: prefix,
        logMaxEvents: 5,
        url: `redis://127.0.0.1:${proxy.port}`,
      });
      const hub = await startHub(cut);
      const stream = await openStream(hub, "/api/v1/events/project.p1");
      const sent = [(await direct.append("project.p1", JSON.stringify(message(0)), 0)).id];
      await stream.until((s) => s.events.length === 1, "the first event");

      proxy.cutOff();
      // Published while the hub's store has no subscriber, far more than its log keeps (Redis
      // trims it in whole nodes of 100 entries): the log can no longer bring the first of them,
      // the channel's history still can.
      for (let n = 1; n <= 300; n++) {
        sent.push((await direct.append("project.p1", JSON.stringify(message(n)), n)).id);
      }
      proxy.resume();
      // Without the gap signal the stream would stay open and skip what the log lost.
      await stream.ended;
      expect(stream.events.map((event) => event.id)).toEqual(sent.slice(0, 1));
      expect(reported.map((error) => error.message)).toContainEqual(
        expect.stringMatching(/^\d+ events \(after seq \d+\) were no longer in the Redis log/),
      );

      const resumed = await openStream(hub, "/api/v1/events/project.p1", {
        "last-event-id": sent[0] as string,
      });
      await resumed.until((s) => s.events.length === 300, "the 300 events it missed");
      expect(resumed.events.map((event) => event.id)).toEqual(sent.slice(1));
    } finally {
      await proxy.close();
    }
  });

  it("carries an event published on one hub to a stream on another, and resumes there exactly", async () => {
    const prefix = newPrefix();
    const hubA = await startHub(await openStore({ keyPrefix: prefix }));
    const hubB = await startHub(await openStore({ keyPrefix: prefix }));
    const live = await openStream(hubB, "/api/v1/events/project.shared");

    const ids = [await hubA.publishHttp("project.shared", message(0))];
    await live.until((s) => s.events.length === 1, "the event from hub A");
    expect(live.events[0]?.id).toBe(ids[0]);
    expect(messagesOf(live)[0]).toMatchObject({ type: "data", channel: "project.shared" });

    for (let n = 1; n < 4; n++) ids.push(await hubA.publishHttp("project.shared", message(n)));
    const resumed = await openStream(hubB, "/api/v1/events/project.shared", {
      "last-event-id": ids[0] as string,
    });
    await resumed.until((s) => s.events.length === 3, "the replay");
    ids.push(await hubA.publishHttp("project.shared", message(4)));
    await resumed.until((s) => s.events.length === 4, "the live event");
    await live.until((s) => s.events.length === 5, "every event");
    expect(resumed.events.map((event) => event.id)).toEqual(ids.slice(1));
    expect(live.events.map((event) => event.id)).toEqual(ids);
  });

  it("takes its connection settings from a given ioredis instance and leaves that one open", async () => {
    const given = adminRedis();
    const store = await createRedisStore({ redis: given, keyPrefix: newPrefix() });
    const event = await store.append("project.p1", "{}", 1);
    expect((await store.read(["project.p1"], 0)).events.map(plain)).toEqual([plain(event)]);
    await store.close();
    expect(given.status).toBe("ready");
    await expect(given.ping()).resolves.toBe("PONG");
  });

  it("refuses to start, saying where it looked, when Redis cannot be reached", async () => {
    const server = await startRedisServer();
    await server.close();
    await expect(createRedisStore({ url: server.url })).rejects.toMatchObject({
      code: "unavailable",
      message: expect.stringContaining(`cannot reach Redis at 127.0.0.1:${server.port}`),
    });
  });

  it("moves to a new epoch when Redis comes back behind what it acknowledged: no id given twice, streams reset", async () => {
    const server = await startRedisServer();
    servers.push(server);
    const backup = await mkdtemp(join(tmpdir(), "herald-redis-backup-"));
    try {
      const options = { url: server.url, keyPrefix: uniquePrefix(), publishTimeoutMs: 500 };
      const hub = await startHub(await openStore(options));
      const channel = "project.rollback";
      const raw = await openStream(hub, `/api/v1/events/${channel}`);
      const acknowledged: string[] = [];
      for (let n = 0; n < 5; n++) acknowledged.push(await hub.publishHttp(channel, message(n)));
      await raw.until((s) => s.events.length === 5, "the events before the backup");

      // A backup of the data directory (appendfsync always: it holds every acknowledged write).
      await server.kill();
      await cp(server.dir, backup, { recursive: true });
      await server.start();
      await vi.waitFor(async () => expect((await fetch(`${hub.url}/readyz`)).status).toBe(200), {
        timeout: 10_000,
        interval: 50,
      });
      for (let n = 5; n < 105; n++) acknowledged.push(await hub.publishHttp(channel, message(n)));
      await raw.until((s) => s.events.length === 105, "the events after the backup");

      // The backup is restored: Redis comes back 100 acknowledged events behind.
      await server.kill();
      await rm(server.dir, { recursive: true, force: true });
      await cp(backup, server.dir, { recursive: true });
      await server.start();

      // The open stream is closed, not left open to skip what the rollback took...
      await raw.ended;
      expect(raw.events.map((event) => event.id)).toEqual(acknowledged);
      expect(reported.map((error) => error.message)).toContainEqual(
        expect.stringContaining("came back behind seq 105"),
      );
      // ...its client resumes and is told to re-read state...
      const resumed = await openStream(hub, `/api/v1/events/${channel}`, {
        "last-event-id": acknowledged.at(-1) as string,
      });
      await resumed.until((s) => s.events.length === 1, "the reset");
      expect(messagesOf(resumed)[0]).toMatchObject({ type: "stream_reset" });
      // ...and everything acknowledged from now on arrives, under ids never given out before.
      const after: string[] = [];
      for (let n = 0; n < 10; n++) after.push(await hub.publishHttp(channel, message(200 + n)));
      await resumed.until((s) => s.events.length === 11, "the events after the reset");
      expect(resumed.events.slice(1).map((event) => event.id)).toEqual(after);
      for (const id of after) expect(acknowledged).not.toContain(id);
    } finally {
      await rm(backup, { recursive: true, force: true });
    }
  });

  it("refuses to give out a seq Redis has gone back below, even before its subscriber notices", async () => {
    const prefix = newPrefix();
    const store = await openStore({ keyPrefix: prefix });
    const first = await store.append("project.p1", "a", 1);
    const second = await store.append("project.p1", "b", 2);
    // What a restore does to the sequence, without a restart for the subscriber to notice.
    await adminRedis().set(`${prefix}${store.epoch}:seq`, String(first.seq));
    const third = await store.append("project.p1", "c", 3);
    expect(third.id).not.toBe(second.id);
    expect(third.seq).toBeGreaterThan(second.seq);
    expect(store.epoch).not.toBe(first.id.slice(0, first.id.lastIndexOf("-")));
  });

  it("answers unavailable quickly while Redis is down, keeps streams open, and loses nothing once it is back", async () => {
    const server = await startRedisServer();
    servers.push(server);
    const prefix = uniquePrefix();
    const options = { url: server.url, keyPrefix: prefix, publishTimeoutMs: 500 };
    const hubA = await startHub(await openStore(options));
    const hubB = await startHub(await openStore(options));
    const channel = "project.outage";
    const raw = await openStream(hubB, `/api/v1/events/${channel}`);
    let ended = false;
    void raw.ended.then(() => {
      ended = true;
    });
    const acknowledged: string[] = [];
    for (let n = 0; n < 3; n++) acknowledged.push(await hubA.publishHttp(channel, message(n)));
    await raw.until((s) => s.events.length === 3, "the events before the outage");

    await server.kill();
    const startedAt = performance.now();
    const failure: unknown = await hubA.hub.store.append(channel, "{}", Date.now()).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(HeraldError);
    expect(failure).toMatchObject({ code: "unavailable" });
    expect(performance.now() - startedAt).toBeLessThan(1000);

    const refused = await fetch(`${hubA.url}/api/v1/events/${channel}`, {
      method: "POST",
      headers: { authorization: `Bearer ${hubA.token}`, "content-type": "application/json" },
      body: JSON.stringify(message(99)),
    });
    expect(refused.status).toBe(503);
    expect(await refused.json()).toMatchObject({ error: { code: "unavailable" } });
    for (const hub of [hubA, hubB]) {
      await vi.waitFor(async () => expect((await fetch(`${hub.url}/readyz`)).status).toBe(503));
    }
    const heartbeats = raw.comments.length;
    await raw.until((s) => s.comments.length >= heartbeats + 2, "heartbeats during the outage");
    expect(ended).toBe(false);

    await server.start();
    for (const hub of [hubA, hubB]) {
      await vi.waitFor(async () => expect((await fetch(`${hub.url}/readyz`)).status).toBe(200), {
        timeout: 10_000,
        interval: 50,
      });
    }
    for (let n = 3; n < 6; n++) acknowledged.push(await hubA.publishHttp(channel, message(n)));
    await raw.until((s) => s.events.length >= 6, "the events after the outage");
    // A last event: once it is in, any duplicate of an earlier one would be in as well.
    acknowledged.push(await hubB.publishHttp(channel, message(6)));
    await raw.until((s) => s.events.length >= 7, "the last event");
    expect(raw.events.map((event) => event.id)).toEqual(acknowledged);
    expect(ended).toBe(false);

    // The history survived the crash: a resume from the first id replays the rest exactly.
    const resumed = await openStream(hubA, `/api/v1/events/${channel}`, {
      "last-event-id": acknowledged[0] as string,
    });
    await resumed.until((s) => s.events.length === 6, "the replay after the outage");
    expect(resumed.events.map((event) => event.id)).toEqual(acknowledged.slice(1));
  });
});
