import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createMemoryStore } from "../src/memory-store.ts";
import type { EventStore, StoredEvent } from "../src/store.ts";
import { describeEventStoreContract } from "./store-contract.ts";

describeEventStoreContract("memory", (options) => createMemoryStore(options));

/** The memory a store's history can take: the heap, and buffers outside it. */
function storeMemory(): number {
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.arrayBuffers;
}

/**
 * A full garbage collection, to see how much memory the store still holds. Twice: V8 frees the
 * buffers a collection finds dead on a background thread, and counts them freed only once that
 * is done, which the next collection waits for.
 */
function collectGarbage(): void {
  setFlagsFromString("--expose-gc");
  const gc = runInNewContext("gc") as () => void;
  gc();
  gc();
}

describe("memory store", () => {
  const stores: EventStore[] = [];
  afterEach(async () => {
    for (const store of stores.splice(0)) await store.close();
  });

  it("reads back exactly the data it was given, any Unicode, across trimming and regrowing", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.string({ unit: "grapheme", maxLength: 600 }), { minLength: 1, maxLength: 300 }),
        fc.integer({ min: 1, max: 120 }),
        async (data, maxEvents) => {
          const store = createMemoryStore({ maxEvents });
          stores.push(store);
          const appended = [];
          for (const [n, text] of data.entries())
            appended.push(await store.append("file.f", text, n));
          const kept = appended.slice(-maxEvents);
          const all = await store.read(["file.f"], 0);
          expect(all.events).toEqual(kept);
          // From the middle: a binary search into what is kept.
          const middle = kept[Math.floor(kept.length / 2)] as StoredEvent;
          const later = await store.read(["file.f"], middle.seq);
          expect(later.events).toEqual(kept.filter((event) => event.seq > middle.seq));
        },
      ),
      { numRuns: 60 },
    );
  });

  it("keeps at most maxBytes of data in all, dropping the oldest of any channel and reporting it expired", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            channel: fc.constantFrom("file.a", "file.b", "file.c"),
            data: fc.string({ unit: "grapheme", maxLength: 60 }),
          }),
          { minLength: 1, maxLength: 120 },
        ),
        fc.integer({ min: 1, max: 400 }),
        async (published, maxBytes) => {
          const store = createMemoryStore({ maxBytes, maxEvents: 30 });
          stores.push(store);
          const appended: StoredEvent[] = [];
          for (const { channel, data } of published) {
            appended.push(await store.append(channel, data, 0));
          }
          // An event is kept while its bytes and those of every later event, on any channel,
          // fit in maxBytes, and it is among its channel's latest 30.
          let later = 0;
          const kept = new Set<StoredEvent>();
          const perChannel = new Map<string, number>();
          for (const event of [...appended].reverse()) {
            later += Buffer.byteLength(event.data);
            const count = (perChannel.get(event.channel) ?? 0) + 1;
            perChannel.set(event.channel, count);
            if (later <= maxBytes && count <= 30) kept.add(event);
          }
          for (const channel of ["file.a", "file.b", "file.c"]) {
            const result = await store.read([channel], 0);
            const ofChannel = appended.filter((event) => event.channel === channel);
            expect(result.events).toEqual(ofChannel.filter((event) => kept.has(event)));
            const lost = ofChannel.some((event) => !kept.has(event));
            expect(result.expired).toEqual(lost ? [channel] : []);
          }
        },
      ),
      { numRuns: 100 },
    );
  });

  it("holds no more than maxBytes of history outside the heap, however much goes through it", async () => {
    const maxBytes = 4 * 1024 * 1024;
    const store = createMemoryStore({ maxBytes });
    stores.push(store);
    const before = process.memoryUsage().arrayBuffers;
    const data = "x".repeat(10_000);
    // 40 MiB through a 4 MiB history, on 400 channels.
    for (let n = 0; n < 4000; n++) await store.append(`file.f${n % 400}`, `${n} ${data}`, n);
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThanOrEqual(maxBytes + 1024 * 1024);
    const { events } = await store.read(["file.f399"], 0);
    expect(events.at(-1)?.data).toBe(`3999 ${data}`);
  });

  it("gets a new epoch for every store, as a restart loses the history", () => {
    const first = createMemoryStore();
    const second = createMemoryStore();
    stores.push(first, second);
    expect(first.epoch).not.toBe(second.epoch);
  });

  describe("periodic sweep", () => {
    const maxAgeMs = 10_000;
    const sweepIntervalMs = 60_000;
    let time = 0;

    beforeEach(() => {
      vi.useFakeTimers();
      time = 1_700_000_000_000;
    });

    afterEach(() => {
      vi.useRealTimers();
    });

    /** A store whose clock only moves when the test says, and whose sweep fires on fake timers. */
    function sweptStore(): EventStore {
      const store = createMemoryStore({ maxAgeMs, sweepIntervalMs, now: () => time });
      stores.push(store);
      return store;
    }

    async function publish(store: EventStore, channel: string) {
      return store.append(channel, JSON.stringify({ type: "data", channel, ts: time }), time);
    }

    it("after removing an expired channel, reports channels it does not know expired to older readers", async () => {
      const store = sweptStore();
      await publish(store, "project.old");
      time += maxAgeMs + 1;
      // Before the sweep, a channel nobody ever used is simply empty...
      expect((await store.read(["project.never"], 0)).expired).toEqual([]);
      vi.advanceTimersByTime(sweepIntervalMs);
      // ...after it, the swept channel is gone, and a channel the store knows nothing of could be
      // that one: to a reader from before the lost events it is reported expired, never silent.
      expect((await store.read(["project.never"], 0)).expired).toEqual(["project.never"]);
    });

    it("still reports a swept channel expired to a reader from before its events", async () => {
      const store = sweptStore();
      const first = await publish(store, "project.old");
      const last = await publish(store, "project.old");
      time += maxAgeMs + 1;
      vi.advanceTimersByTime(sweepIntervalMs);
      const fromBefore = await store.read(["project.old"], first.seq - 1);
      expect(fromBefore.events).toEqual([]);
      expect(fromBefore.expired).toEqual(["project.old"]);
      expect((await store.read(["project.old"], first.seq)).expired).toEqual(["project.old"]);
      expect((await store.read(["project.old"], last.seq)).expired).toEqual([]);
    });

    it("keeps channels that still hold events younger than maxAgeMs", async () => {
      const store = sweptStore();
      await publish(store, "project.old");
      time += maxAgeMs / 2;
      const live = await publish(store, "project.live");
      time += maxAgeMs / 2 + 1;
      vi.advanceTimersByTime(sweepIntervalMs);
      const result = await store.read(["project.live"], 0);
      expect(result.events.map((event) => event.id)).toEqual([live.id]);
      expect(result.expired).toEqual([]);
    });

    it("reports the lost events of a swept channel that is published to again", async () => {
      const store = sweptStore();
      const lost = await publish(store, "project.p1");
      time += maxAgeMs + 1;
      vi.advanceTimersByTime(sweepIntervalMs);
      const fresh = await publish(store, "project.p1");
      const result = await store.read(["project.p1"], lost.seq - 1);
      expect(result.events.map((event) => event.id)).toEqual([fresh.id]);
      expect(result.expired).toEqual(["project.p1"]);
      expect((await store.read(["project.p1"], lost.seq)).expired).toEqual([]);
    });

    it("lets go of the events of the channels it removes", async () => {
      const store = sweptStore();
      // 8 MiB per channel, enough to show in the heap whatever else moves: flat strings under
      // 1 MiB (`repeat` makes a tree of a few shared pieces; Node keeps larger strings it
      // decodes outside the heap).
      const numbers = Array.from({ length: 16 }, (_, n) => n);
      const big = (channel: string, n: number) =>
        store.append(
          channel,
          Buffer.alloc(512 * 1024, `${channel} ${n} `).toString("latin1"),
          time,
        );
      for (const n of numbers) await big("project.old", n);
      time += maxAgeMs + 1;
      for (const n of numbers) await big("project.live", n);
      collectGarbage();
      const before = storeMemory();
      vi.advanceTimersByTime(sweepIntervalMs);
      collectGarbage();
      const freed = before - storeMemory();
      expect(freed).toBeGreaterThan(6 * 1024 * 1024);
      // What the store still holds survives the same collection, and reads back.
      const live = await store.read(["project.live"], 0);
      expect(live.events.map((event) => event.data.slice(0, event.data.indexOf(" ", 13)))).toEqual(
        numbers.map((n) => `project.live ${n}`),
      );
    });

    it("stops sweeping once closed", async () => {
      const store = sweptStore();
      await store.close();
      expect(vi.getTimerCount()).toBe(0);
    });
  });
});
