/**
 * The contract every EventStore keeps (src/store.ts), written once and run against each store:
 * `describeEventStoreContract("memory", (options) => createMemoryStore(options))`, and the same
 * for Redis with a real server. A store under test gets its clock through `now`, so age-based
 * trimming is tested by moving that clock, never by waiting.
 */
import { parseCursor } from "@herald/protocol";
import { afterEach, describe, expect, it } from "vitest";
import type { EventStore, StoredEvent } from "../src/store.ts";

export interface StoreContractOptions {
  maxEvents: number;
  maxAgeMs: number;
  now: () => number;
}

export type MakeStore = (options: StoreContractOptions) => Promise<EventStore> | EventStore;

/** The fields of an event the contract speaks of (a store may carry more). */
function plain(event: StoredEvent): StoredEvent {
  return { id: event.id, seq: event.seq, channel: event.channel, data: event.data, ts: event.ts };
}

/**
 * Registers the contract suite. `cleanup` runs after each case, once the stores of that case
 * are closed (a Redis store would empty its keys there).
 */
export function describeEventStoreContract(
  name: string,
  makeStore: MakeStore,
  cleanup?: () => Promise<void>,
): void {
  describe(`EventStore contract: ${name}`, () => {
    const open = new Set<EventStore>();
    let time = 1_700_000_000_000;

    const clock = {
      now: () => time,
      advance(ms: number) {
        time += ms;
      },
    };

    async function makeTestStore(limits: Partial<StoreContractOptions> = {}): Promise<EventStore> {
      const store = await makeStore({
        maxEvents: limits.maxEvents ?? 1000,
        maxAgeMs: limits.maxAgeMs ?? 60 * 60 * 1000,
        now: clock.now,
      });
      open.add(store);
      return store;
    }

    async function closeStore(store: EventStore): Promise<void> {
      open.delete(store);
      await store.close();
    }

    let counter = 0;
    /** Appends a message the way the hub does: one line of JSON, `ts` from the clock. */
    async function publish(store: EventStore, channel: string): Promise<StoredEvent> {
      counter += 1;
      const ts = clock.now();
      const data = JSON.stringify({ type: "data", data: { n: counter }, channel, ts });
      const event = await store.append(channel, data, ts);
      expect(plain(event)).toEqual({ id: event.id, seq: event.seq, channel, data, ts });
      return event;
    }

    /** Collects what `onEvent` delivers; `until(n)` resolves once n events have arrived. */
    function listen(store: EventStore) {
      const received: StoredEvent[] = [];
      const waiters: { count: number; resolve: () => void }[] = [];
      const stop = store.onEvent((event) => {
        received.push(event);
        for (const waiter of waiters.filter((w) => received.length >= w.count)) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve();
        }
      });
      return {
        received,
        stop,
        until(count: number): Promise<void> {
          if (received.length >= count) return Promise.resolve();
          return new Promise((resolve) => waiters.push({ count, resolve }));
        },
      };
    }

    afterEach(async () => {
      for (const store of [...open]) await closeStore(store);
      await cleanup?.();
    });

    describe("append", () => {
      it("gives each event a higher seq and the id <epoch>-<seq> of this store", async () => {
        const store = await makeTestStore();
        expect(parseCursor(`${store.epoch}-1`)).toEqual({ epoch: store.epoch, seq: 1 });
        const events = [
          await publish(store, "project.p1"),
          await publish(store, "project.p1"),
          await publish(store, "project.p1"),
        ];
        for (const [i, event] of events.entries()) {
          expect(event.id).toBe(`${store.epoch}-${event.seq}`);
          expect(parseCursor(event.id)).toEqual({ epoch: store.epoch, seq: event.seq });
          expect(event.seq).toBeGreaterThan(i === 0 ? 0 : (events[i - 1]?.seq ?? 0));
        }
      });

      it("numbers the events of every channel in one sequence", async () => {
        const store = await makeTestStore();
        const a1 = await publish(store, "project.p1");
        const b1 = await publish(store, "file.f1");
        const a2 = await publish(store, "project.p1");
        const c1 = await publish(store, "user.u1");
        expect(b1.seq).toBeGreaterThan(a1.seq);
        expect(a2.seq).toBeGreaterThan(b1.seq);
        expect(c1.seq).toBeGreaterThan(a2.seq);
        expect(new Set([a1.id, b1.id, a2.id, c1.id]).size).toBe(4);
      });
    });

    describe("read", () => {
      it("returns the events of the given channels after the position, merged in seq order", async () => {
        const store = await makeTestStore();
        const all: StoredEvent[] = [];
        for (const channel of ["project.p1", "file.f1", "user.u1", "file.f1", "project.p1"]) {
          all.push(await publish(store, channel));
        }
        for (const channel of ["user.u1", "project.p1", "file.f1", "project.p1"]) {
          all.push(await publish(store, channel));
        }
        const after = all[1]?.seq ?? 0;
        const channels = ["file.f1", "project.p1"];
        const result = await store.read(channels, after);
        const expected = all.filter((e) => channels.includes(e.channel) && e.seq > after);
        expect(expected.length).toBe(5);
        expect(result.events.map(plain)).toEqual(expected.map(plain));
        expect(result.expired).toEqual([]);
      });

      it("returns all the history kept from position 0", async () => {
        const store = await makeTestStore();
        const all: StoredEvent[] = [];
        for (const channel of ["project.p1", "file.f1", "project.p1", "user.u1"]) {
          all.push(await publish(store, channel));
        }
        const result = await store.read(["project.p1", "file.f1"], 0);
        expect(result.events.map(plain)).toEqual(
          all.filter((e) => e.channel !== "user.u1").map(plain),
        );
        expect(result.expired).toEqual([]);
      });

      it("returns nothing after the last event, and nothing for a channel never used", async () => {
        const store = await makeTestStore();
        const last = await publish(store, "project.p1");
        expect((await store.read(["project.p1"], last.seq)).events).toEqual([]);
        const unused = await store.read(["project.nobody"], 0);
        expect(unused.events).toEqual([]);
        expect(unused.expired).toEqual([]);
      });

      it("reports the store's head with what it read", async () => {
        const store = await makeTestStore();
        await publish(store, "project.p1");
        const last = await publish(store, "file.f1");
        expect((await store.read(["project.p1"], 0)).head).toBe(last.seq);
      });
    });

    describe("head", () => {
      it("is the seq of the last event appended, on any channel", async () => {
        const store = await makeTestStore();
        await publish(store, "project.p1");
        const second = await publish(store, "file.f1");
        expect(await store.head()).toBe(second.seq);
        const third = await publish(store, "user.u1");
        expect(await store.head()).toBe(third.seq);
      });
    });

    describe("onEvent", () => {
      it("hands every append to each listener, in order", async () => {
        const store = await makeTestStore();
        const first = listen(store);
        const second = listen(store);
        const sent = [
          await publish(store, "project.p1"),
          await publish(store, "file.f1"),
          await publish(store, "project.p1"),
        ];
        await Promise.all([first.until(3), second.until(3)]);
        expect(first.received.map(plain)).toEqual(sent.map(plain));
        expect(second.received.map(plain)).toEqual(sent.map(plain));
      });

      it("stops calling a listener once it is unsubscribed", async () => {
        const store = await makeTestStore();
        const stopped = listen(store);
        const still = listen(store);
        const before = await publish(store, "project.p1");
        await stopped.until(1);
        stopped.stop();
        const after = [await publish(store, "project.p1"), await publish(store, "file.f1")];
        // Delivery is in order, so once the other listener has the later events, the stopped
        // one would have them too had it not been stopped.
        await still.until(3);
        expect(still.received.map(plain)).toEqual([before, ...after].map(plain));
        expect(stopped.received.map(plain)).toEqual([plain(before)]);
      });
    });

    describe("history trimmed by count", () => {
      async function trimmedStore() {
        const store = await makeTestStore({ maxEvents: 3 });
        const a: StoredEvent[] = [];
        const b: StoredEvent[] = [];
        a.push(await publish(store, "project.a"));
        b.push(await publish(store, "project.b"));
        for (let i = 0; i < 4; i++) a.push(await publish(store, "project.a"));
        b.push(await publish(store, "project.b"));
        return { store, a, b };
      }

      it("keeps only the latest maxEvents of a channel", async () => {
        const { store, a, b } = await trimmedStore();
        const result = await store.read(["project.a", "project.b"], 0);
        const kept = [...a.slice(2), ...b].sort((x, y) => x.seq - y.seq);
        expect(result.events.map(plain)).toEqual(kept.map(plain));
      });

      it("reports the trimmed channel expired to a reader from before the trimmed events, and no other", async () => {
        const { store, a } = await trimmedStore();
        expect((await store.read(["project.a", "project.b"], 0)).expired).toEqual(["project.a"]);
        const fromFirst = await store.read(["project.b", "project.a"], a[0]?.seq ?? -1);
        expect(fromFirst.expired).toEqual(["project.a"]);
        expect(fromFirst.events.map(plain)).toContainEqual(plain(a[2] as StoredEvent));
      });

      it("does not report expired to a reader from the last trimmed event or later", async () => {
        const { store, a } = await trimmedStore();
        const fromLastTrimmed = await store.read(["project.a"], a[1]?.seq ?? -1);
        expect(fromLastTrimmed.expired).toEqual([]);
        expect(fromLastTrimmed.events.map(plain)).toEqual(a.slice(2).map(plain));
        expect((await store.read(["project.a"], a[3]?.seq ?? -1)).expired).toEqual([]);
      });
    });

    describe("history trimmed by age", () => {
      const maxAgeMs = 10_000;

      it("drops events older than maxAgeMs and keeps younger ones", async () => {
        const store = await makeTestStore({ maxAgeMs });
        const old = await publish(store, "project.a");
        clock.advance(maxAgeMs / 2);
        const young = await publish(store, "project.a");
        clock.advance(maxAgeMs / 2 - 1);
        expect((await store.read(["project.a"], 0)).events.map(plain)).toEqual(
          [old, young].map(plain),
        );
        clock.advance(2);
        const result = await store.read(["project.a"], 0);
        expect(result.events.map(plain)).toEqual([plain(young)]);
        expect(result.expired).toEqual(["project.a"]);
      });

      it("reports a channel expired once all its events are too old", async () => {
        const store = await makeTestStore({ maxAgeMs });
        const a = await publish(store, "project.a");
        await publish(store, "project.a");
        clock.advance(maxAgeMs / 2);
        const b = await publish(store, "project.b");
        clock.advance(maxAgeMs / 2 + 1);
        const result = await store.read(["project.a", "project.b"], a.seq - 1);
        expect(result.events.map(plain)).toEqual([plain(b)]);
        expect(result.expired).toEqual(["project.a"]);
      });

      it("does not report expired to a reader from the last expired event or later", async () => {
        const store = await makeTestStore({ maxAgeMs });
        await publish(store, "project.a");
        const last = await publish(store, "project.a");
        clock.advance(maxAgeMs + 1);
        const result = await store.read(["project.a"], last.seq);
        expect(result.events).toEqual([]);
        expect(result.expired).toEqual([]);
        const later = await publish(store, "project.a");
        const next = await store.read(["project.a"], last.seq);
        expect(next.events.map(plain)).toEqual([plain(later)]);
        expect(next.expired).toEqual([]);
      });
    });

    describe("lifecycle", () => {
      it("check resolves while the store answers", async () => {
        const store = await makeTestStore();
        await expect(store.check()).resolves.toBeUndefined();
      });

      it("refuses appends once closed", async () => {
        const store = await makeTestStore();
        await publish(store, "project.p1");
        await closeStore(store);
        await expect(store.append("project.p1", "{}", clock.now())).rejects.toThrow();
      });
    });
  });
}
