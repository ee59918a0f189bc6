/**
 * Ids, resume and exactly-once (PROTOCOL.md sections 3 and 6), over real HTTP: resume by header
 * and by query, multiplexed streams, `from=start`, `stream_reset`, heartbeats, slow consumers,
 * and 10,000 events through a proxy that cuts the connection at random points.
 */

import { messagesOf, openRawStream, type RawStream } from "@herald/test-support/raw-sse";
import { startTestHub, type TestHub } from "@herald/test-support/server";
import { startTcpProxy, type TcpProxy } from "@herald/test-support/tcp-proxy";
import { EventSource } from "eventsource";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createMemoryStore } from "../src/index.ts";

let server: TestHub | undefined;
let proxy: TcpProxy | undefined;
afterEach(async () => {
  vi.useRealTimers();
  await proxy?.close();
  await server?.close();
  proxy = undefined;
  server = undefined;
});

async function start(options: Parameters<typeof startTestHub>[0] = {}): Promise<TestHub> {
  server = await startTestHub(options);
  return server;
}

async function open(
  hub: TestHub,
  path: string,
  headers: Record<string, string> = {},
): Promise<RawStream> {
  const raw = await openRawStream(`${hub.url}${path}`, {
    authorization: `Bearer ${hub.token}`,
    ...headers,
  });
  await raw.until((s) => s.comments.includes("ok"), "the opening comment");
  return raw;
}

const progress = (n: number) => ({
  type: "render_progress",
  object: { taskId: "t", fileId: "f", progress: n / 100 },
});

describe("resume", () => {
  it("replays exactly the missed events after Last-Event-ID, then goes live", async () => {
    const hub = await start();
    const ids: string[] = [];
    for (let n = 0; n < 5; n++) ids.push(await hub.hub.publish("project.a", progress(n)));
    const raw = await open(hub, "/api/v1/events/project.a", { "last-event-id": ids[1] as string });
    await raw.until((s) => s.events.length === 3, "the replay");
    await hub.hub.publish("project.a", progress(5));
    await raw.until((s) => s.events.length === 4, "the live event");
    expect(messagesOf(raw).map((m) => (m.object as { progress: number }).progress)).toEqual([
      0.02, 0.03, 0.04, 0.05,
    ]);
    expect(raw.events.slice(0, 3).map((e) => e.id)).toEqual(ids.slice(2));
    raw.close();
  });

  it("resumes by the lastEventId query, and the header wins where both are given", async () => {
    const hub = await start();
    const ids: string[] = [];
    for (let n = 0; n < 4; n++) ids.push(await hub.hub.publish("project.a", progress(n)));
    const byQuery = await open(hub, `/api/v1/events/project.a?lastEventId=${ids[0]}`);
    await byQuery.until((s) => s.events.length === 3);
    expect(byQuery.events.map((e) => e.id)).toEqual(ids.slice(1));
    const both = await open(hub, `/api/v1/events/project.a?lastEventId=${ids[0]}`, {
      "last-event-id": ids[2] as string,
    });
    await both.until((s) => s.events.length === 1);
    expect(both.events.map((e) => e.id)).toEqual([ids[3]]);
    byQuery.close();
    both.close();
  });

  it("multiplexes three channels on one stream, resumable from one id", async () => {
    const hub = await start();
    const channels = ["project.a", "file.b", "user.c"];
    const path = `/api/v1/events?${channels.map((c) => `channel=${c}`).join("&")}`;
    const first = await open(hub, path);
    for (let n = 0; n < 9; n++) await hub.hub.publish(channels[n % 3] as string, progress(n));
    await hub.hub.publish("project.other", progress(99));
    await first.until((s) => s.events.length === 9);
    expect(messagesOf(first).map((m) => m.channel)).toEqual([
      ...channels,
      ...channels,
      ...channels,
    ]);
    const cut = first.events[4]?.id as string;
    first.close();
    const resumed = await open(hub, path, { "last-event-id": cut });
    await resumed.until((s) => s.events.length === 4);
    expect(resumed.events.map((e) => e.id)).toEqual(first.events.slice(5).map((e) => e.id));
    resumed.close();
  });

  it("replays all kept history with from=start, oldest first", async () => {
    const hub = await start();
    for (let n = 0; n < 3; n++) await hub.hub.publish("file.f", progress(n));
    const raw = await open(hub, "/api/v1/events/file.f?from=start");
    await raw.until((s) => s.events.length === 3);
    expect(messagesOf(raw).map((m) => (m.object as { progress: number }).progress)).toEqual([
      0, 0.01, 0.02,
    ]);
    raw.close();
  });

  it("replays the start= channels' whole history while the others resume from the id: each event once, in seq order", async () => {
    const hub = await start();
    const a0 = await hub.hub.publish("file.a", progress(0));
    const b1 = await hub.hub.publish("file.b", progress(1));
    const a2 = await hub.hub.publish("file.a", progress(2));
    const b3 = await hub.hub.publish("file.b", progress(3));
    const a4 = await hub.hub.publish("file.a", progress(4));
    // The page had file.a up to a2; it adds file.b and asks for its past.
    const raw = await open(
      hub,
      `/api/v1/events?channel=file.a&channel=file.b&start=file.b&lastEventId=${a2}`,
    );
    await raw.until((s) => s.events.length === 3, "the replay");
    // file.b from its start (b1 is older than the id), file.a after a2 only: no a0, no a2.
    expect(raw.events.map((e) => e.id)).toEqual([b1, b3, a4]);
    const b5 = await hub.hub.publish("file.b", progress(5));
    await raw.until((s) => s.events.length === 4, "the live event");
    expect(raw.events.map((e) => e.id)).toEqual([b1, b3, a4, b5]);
    expect([a0, a2]).not.toContain(raw.events.at(-1)?.id);
    raw.close();
  });

  it("replays the start= channels' history and starts the others live where no id is given", async () => {
    const hub = await start();
    await hub.hub.publish("file.a", progress(0));
    const b1 = await hub.hub.publish("file.b", progress(1));
    const raw = await open(hub, "/api/v1/events?channel=file.a&channel=file.b&start=file.b");
    await raw.until((s) => s.events.length === 1, "file.b's history");
    const a2 = await hub.hub.publish("file.a", progress(2));
    await raw.until((s) => s.events.length === 2, "the live event");
    expect(raw.events.map((e) => e.id)).toEqual([b1, a2]);
    raw.close();
  });

  it("refuses start= for a channel the stream does not ask for", async () => {
    const hub = await start();
    const response = await fetch(`${hub.url}/api/v1/events?channel=file.a&start=file.b`, {
      headers: { authorization: `Bearer ${hub.token}` },
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: { code: "invalid_channel" } });
  });

  it("starts live when no id and no from=start are given", async () => {
    const hub = await start();
    await hub.hub.publish("file.f", progress(1));
    const raw = await open(hub, "/api/v1/events/file.f");
    await hub.hub.publish("file.f", progress(2));
    await raw.until((s) => s.events.length === 1);
    expect(messagesOf(raw)).toEqual([
      expect.objectContaining({ object: expect.objectContaining({ progress: 0.02 }) }),
    ]);
    raw.close();
  });

  it("gives a stream that starts live its cursor at once, and a resume from it misses nothing", async () => {
    const hub = await start();
    const before = await hub.hub.publish("file.f", progress(1));
    const raw = await open(hub, "/api/v1/events?channel=file.f&channel=user.u");
    await raw.until((s) => s.cursors.length === 1, "the opening cursor");
    // Where the stream starts: after what was published before it.
    expect(raw.cursors[0]).toBe(before);
    raw.close();
    // Published while no stream was open, before the client had received any message.
    const missed = [
      await hub.hub.publish("user.u", progress(2)),
      await hub.hub.publish("file.f", progress(3)),
    ];
    const resumed = await open(hub, "/api/v1/events?channel=file.f&channel=user.u", {
      "last-event-id": raw.cursors[0] as string,
    });
    await resumed.until((s) => s.events.length === 2, "the two missed events");
    expect(resumed.events.map((event) => event.id)).toEqual(missed);
    expect(resumed.cursors).toEqual([]);
    resumed.close();
  });

  it("gives an empty hub's first stream a cursor from which a resume gets the first event", async () => {
    const hub = await start();
    const raw = await open(hub, "/api/v1/events/file.f");
    await raw.until((s) => s.cursors.length === 1, "the opening cursor");
    raw.close();
    const first = await hub.hub.publish("file.f", progress(1));
    const resumed = await open(hub, `/api/v1/events/file.f?lastEventId=${raw.cursors[0]}`);
    await resumed.until((s) => s.events.length === 1, "the first event");
    expect(resumed.events[0]?.id).toBe(first);
    resumed.close();
  });
});

describe("stream_reset", () => {
  async function firstMessages(hub: TestHub, path: string, count: number) {
    const raw = await open(hub, path);
    await raw.until((s) => s.events.length >= count);
    raw.close();
    return { raw, messages: messagesOf(raw) };
  }

  it.each([
    ["a malformed id", "garbage\u00e9", "unknown_cursor"],
    ["an id from the future", "FUTURE", "unknown_cursor"],
    ["an id of another store's history", "otherepoch-3", "server_restarted"],
  ])("answers %s with stream_reset per channel, then continues live", async (_name, id, reason) => {
    const hub = await start();
    await hub.hub.publish("project.a", progress(1));
    const cursor = id === "FUTURE" ? `${hub.hub.store.epoch}-999` : id;
    const raw = await open(
      hub,
      `/api/v1/events?channel=project.a&channel=file.b&lastEventId=${encodeURIComponent(cursor)}`,
    );
    await raw.until((s) => s.events.length === 2, "two resets");
    await hub.hub.publish("file.b", progress(2));
    await raw.until((s) => s.events.length === 3, "the live event");
    const messages = messagesOf(raw);
    expect(raw.status).toBe(200);
    expect(messages.slice(0, 2)).toEqual([
      expect.objectContaining({ type: "stream_reset", channel: "project.a", object: { reason } }),
      expect.objectContaining({ type: "stream_reset", channel: "file.b", object: { reason } }),
    ]);
    expect(messages[2]).toEqual(
      expect.objectContaining({ type: "render_progress", channel: "file.b" }),
    );
    // The reset moves the client to a valid position: resuming from it is exact.
    const resumed = await firstMessages(
      hub,
      `/api/v1/events/file.b?lastEventId=${raw.events[0]?.id}`,
      1,
    );
    expect(resumed.messages[0]).toEqual(expect.objectContaining({ type: "render_progress" }));
    raw.close();
  });

  it("answers an id older than the kept history with history_expired for that channel only", async () => {
    const hub = await start({ store: createMemoryStore({ maxEvents: 3 }) });
    const first = await hub.hub.publish("project.a", progress(0));
    await hub.hub.publish("file.b", progress(1));
    for (let n = 2; n < 7; n++) await hub.hub.publish("project.a", progress(n));
    const raw = await open(
      hub,
      `/api/v1/events?channel=project.a&channel=file.b&lastEventId=${first}`,
    );
    await raw.until((s) => s.events.length === 5);
    const messages = messagesOf(raw);
    expect(messages[0]).toEqual(
      expect.objectContaining({
        type: "stream_reset",
        channel: "project.a",
        object: { reason: "history_expired" },
      }),
    );
    expect(messages.slice(1).map((m) => (m.object as { progress: number }).progress)).toEqual([
      0.01, 0.04, 0.05, 0.06,
    ]);
    raw.close();
  });

  it("tells clients of a restarted in-memory server server_restarted", async () => {
    const before = await start();
    const id = await before.hub.publish("project.a", progress(1));
    await before.close();
    const after = await start();
    const raw = await open(after, `/api/v1/events/project.a?lastEventId=${id}`);
    await raw.until((s) => s.events.length === 1);
    expect(messagesOf(raw)[0]).toEqual(
      expect.objectContaining({ type: "stream_reset", object: { reason: "server_restarted" } }),
    );
    raw.close();
  });
});

describe("heartbeats", () => {
  it("sends a comment every interval while nothing else is sent, and none while events flow", async () => {
    vi.useFakeTimers({ toFake: ["setInterval", "clearInterval"] });
    const hub = await start({ heartbeatMs: 15_000 });
    const raw = await open(hub, "/api/v1/events/project.a");
    // The first tick after opening finds the stream active (the opening bytes), so no comment.
    vi.advanceTimersByTime(15_000);
    await hub.hub.publish("project.a", progress(1));
    await raw.until((s) => s.events.length === 1);
    vi.advanceTimersByTime(15_000);
    expect(raw.comments).toEqual(["ok"]);
    vi.advanceTimersByTime(15_000);
    await raw.until((s) => s.comments.length === 2, "a heartbeat");
    vi.advanceTimersByTime(15_000);
    await raw.until((s) => s.comments.length === 3, "a second heartbeat");
    expect(raw.comments).toEqual(["ok", "", ""]);
    expect(raw.text.endsWith(":\n\n:\n\n")).toBe(true);
    raw.close();
  });
});

describe("slow consumers", () => {
  it("drops a subscriber that stops reading, leaves a fast one alone, and the dropped one resumes without loss", async () => {
    const hub = await start({
      limits: { maxBufferedBytes: 256 * 1024 },
      store: createMemoryStore({ maxEvents: 5000 }),
    });
    const fast = await open(hub, "/api/v1/events/project.a");
    const slow = await open(hub, "/api/v1/events/project.a");
    slow.response.pause();
    const payload = "x".repeat(16 * 1024);
    const total = 2000;
    for (let n = 0; n < total; n++) {
      await hub.hub.publish("project.a", { type: "data", data: { n, payload } });
      // Let the sockets move, as a real server's event loop would between publishes.
      await new Promise((resolve) => setImmediate(resolve));
    }
    await fast.until((s) => s.events.length === total, "every event on the fast stream");
    expect((await hub.hub.metrics.slowConsumersDropped.get()).values[0]?.value).toBe(1);
    // The slow reader wakes up: it reads what reached it before the drop, then sees the end.
    slow.response.resume();
    await slow.ended;
    expect(slow.events.length).toBeLessThan(total);
    const lastSeen = slow.events.at(-1)?.id;
    expect(lastSeen).toBeDefined();
    const resumed = await open(hub, "/api/v1/events/project.a", {
      "last-event-id": lastSeen as string,
    });
    const remaining = total - slow.events.length;
    await resumed.until((s) => s.events.length === remaining, "the rest from history");
    const numbers = [...messagesOf(slow), ...messagesOf(resumed)].map(
      (m) => (m.data as { n: number }).n,
    );
    expect(numbers).toEqual(Array.from({ length: total }, (_, n) => n));
    fast.close();
    resumed.close();
  });
});

describe("exactly once through a cutting proxy", () => {
  it("delivers 10,000 events to a real EventSource exactly once, in order, with the connection cut at random points", async () => {
    const hub = await start({ retryMs: 5, store: createMemoryStore({ maxEvents: 20_000 }) });
    proxy = await startTcpProxy(hub.port);
    const total = 10_000;
    const source = new EventSource(
      `${proxy.url}/api/v1/events?channel=project.a&channel=file.b&token=${hub.token}`,
    );
    const seen: number[] = [];
    let resolveAll: () => void = () => {};
    const all = new Promise<void>((resolve) => {
      resolveAll = resolve;
    });
    source.onmessage = (event) => {
      seen.push((JSON.parse(event.data) as { data: { n: number } }).data.n);
      if (seen.length >= total) resolveAll();
    };
    await new Promise<void>((resolve) => {
      source.onopen = () => resolve();
    });
    // A stream opened with no id starts live: until the client holds an id there is nothing
    // to resume from, so the first event arrives before the first cut.
    await hub.hub.publish("file.b", { type: "data", data: { n: 0 } });
    await vi.waitFor(() => expect(seen).toEqual([0]));
    let nextCut = 1 + Math.floor(Math.random() * 400);
    let cuts = 0;
    for (let n = 1; n < total; n++) {
      await hub.hub.publish(n % 2 ? "project.a" : "file.b", { type: "data", data: { n } });
      if (n === nextCut) {
        proxy.cutAll();
        cuts++;
        nextCut = n + 1 + Math.floor(Math.random() * 800);
      }
      if (n % 100 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    await all;
    source.close();
    expect(cuts).toBeGreaterThan(5);
    expect(proxy.connections).toBeGreaterThan(1);
    expect(seen).toEqual(Array.from({ length: total }, (_, n) => n));
  });
});
