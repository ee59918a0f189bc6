/**
 * The hub's live fan-out on sinks of its own: the events of one event-loop turn go to each
 * stream in one write, shared by the streams of a channel, in seq order, once, with the
 * slow-consumer bound still applied.
 */
import type { PublishedMessage } from "@herald/protocol";
import fc from "fast-check";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createHub, type Hub, type StreamSink } from "../src/hub.ts";
import { createMemoryStore } from "../src/memory-store.ts";

interface TestSink extends StreamSink {
  chunks: Uint8Array[];
  closed: boolean;
  buffered: number;
  /** The ids of the events written, in order. */
  ids(): string[];
}

function sink(): TestSink {
  const chunks: Uint8Array[] = [];
  const made: TestSink = {
    chunks,
    closed: false,
    buffered: 0,
    write(chunk) {
      chunks.push(chunk);
    },
    get bufferedBytes() {
      return made.buffered;
    },
    drained: async () => {},
    close() {
      made.closed = true;
    },
    ids() {
      const text = chunks.map((chunk) => Buffer.from(chunk).toString()).join("");
      // The messages' ids, not the opening cursor's (PROTOCOL.md section 3).
      const messages = text.split("\n\n").filter((block) => !block.startsWith("event: cursor\n"));
      return [...messages.join("\n\n").matchAll(/^id: (.+)$/gm)].map((match) => match[1] as string);
    },
  };
  return made;
}

let hub: Hub | undefined;
afterEach(async () => {
  await hub?.close();
  hub = undefined;
});

/**
 * A hub without write coalescing unless asked for: these tests follow the writes turn by turn,
 * as an idle hub makes them (coalescing has its own tests below).
 */
function start(limits: { maxBufferedBytes?: number } = {}, coalesceMs = 0): Hub {
  hub = createHub({ store: createMemoryStore(), limits, coalesceMs });
  return hub;
}

const open = (target: Hub, channels: string[], out: TestSink) =>
  target.openStream({ channels, subject: "s" }, out);
const message = (n: number) => ({ type: "data", data: { n } });
const turn = () => new Promise((resolve) => setImmediate(resolve));

describe("write coalescing", () => {
  it("writes at the end of the turn while the hub is idle", async () => {
    const target = start({}, 1000);
    const out = sink();
    open(target, ["project.a"], out);
    out.chunks.length = 0;
    const id = await target.publish("project.a", message(1));
    await turn();
    expect(out.ids()).toEqual([id]);
  });

  it("gathers what a busy hub publishes over several turns into one write per stream", async () => {
    const target = start({}, 200);
    const sinks = [sink(), sink()];
    for (const out of sinks) open(target, ["project.a"], out);
    for (const out of sinks) out.chunks.length = 0;
    const first = await target.publish("project.a", message(0));
    await turn();
    for (const out of sinks) expect(out.ids()).toEqual([first]);
    // The hub wrote less than 200 ms ago: it is busy, and the next events wait for one write.
    const later: string[] = [];
    for (let n = 1; n <= 3; n++) {
      later.push(await target.publish("project.a", message(n)));
      await turn();
    }
    for (const out of sinks) expect(out.ids()).toEqual([first]);
    await vi.waitFor(() => {
      for (const out of sinks) expect(out.ids()).toEqual([first, ...later]);
    });
    for (const out of sinks) expect(out.chunks).toHaveLength(2);
    expect(sinks[1]?.chunks[1]).toBe(sinks[0]?.chunks[1]);
  });

  it("refuses a coalescing delay that is no number of ms from 0 to 1000", () => {
    for (const coalesceMs of [-1, 1001, Number.NaN]) {
      expect(() => createHub({ store: createMemoryStore(), coalesceMs })).toThrow(/coalesceMs/);
    }
  });
});

describe("live fan-out", () => {
  it("writes the events of one turn once per stream, the same buffer for every stream of a channel", async () => {
    const target = start();
    const sinks = [sink(), sink(), sink()];
    for (const out of sinks) open(target, ["project.a"], out);
    for (const out of sinks) out.chunks.length = 0;
    const ids = await Promise.all(
      [1, 2, 3, 4, 5].map((n) => target.publish("project.a", message(n))),
    );
    await turn();
    for (const out of sinks) {
      expect(out.chunks).toHaveLength(1);
      expect(out.ids()).toEqual(ids);
    }
    expect(sinks[1]?.chunks[0]).toBe(sinks[0]?.chunks[0]);
    const delivered = (await target.metrics.delivered.get()).values[0]?.value;
    expect(delivered).toBe(15);
  });

  it("gives a stream on several channels the turn's events of all of them in one write, in seq order", async () => {
    const target = start();
    const both = sink();
    const onlyA = sink();
    open(target, ["project.a", "user.b"], both);
    open(target, ["project.a"], onlyA);
    both.chunks.length = 0;
    onlyA.chunks.length = 0;
    const ids: string[] = [];
    for (const channel of ["project.a", "user.b", "project.a", "user.b"]) {
      ids.push(await target.publish(channel, message(ids.length)));
    }
    // Awaiting each publish lets every one go out before the next; now one turn of four.
    const sameTurn = await Promise.all(
      ["user.b", "project.a", "user.b", "project.a"].map((channel, n) =>
        target.publish(channel, message(n)),
      ),
    );
    await turn();
    expect(both.ids()).toEqual([...ids, ...sameTurn]);
    expect(both.chunks).toHaveLength(5);
    expect(onlyA.ids()).toEqual([ids[0], ids[2], sameTurn[1], sameTurn[3]]);
  });

  it("starts a stream opened without a cursor after what was published before it, even in the same turn", async () => {
    const target = start();
    const early = sink();
    open(target, ["project.a"], early);
    const before = target.publish("project.a", message(1));
    const late = sink();
    open(target, ["project.a"], late);
    const after = target.publish("project.a", message(2));
    const ids = await Promise.all([before, after]);
    await turn();
    expect(early.ids()).toEqual(ids);
    expect(late.ids()).toEqual([ids[1]]);
  });

  it("keeps writing to the streams that stay on a channel while others come and go", async () => {
    const target = start();
    const [a, b, c] = [sink(), sink(), sink()];
    const streamA = open(target, ["project.a"], a);
    const e1 = await target.publish("project.a", message(1));
    await turn();
    const streamB = open(target, ["project.a"], b);
    const e2 = await target.publish("project.a", message(2));
    await turn();
    streamA.close();
    const e3 = await target.publish("project.a", message(3));
    await turn();
    streamB.close();
    await target.publish("project.a", message(4));
    await turn();
    open(target, ["project.a"], c);
    const e5 = await target.publish("project.a", message(5));
    await turn();
    expect(a.ids()).toEqual([e1, e2]);
    expect(b.ids()).toEqual([e2, e3]);
    expect(c.ids()).toEqual([e5]);
  });

  it("drops a stream whose unsent bytes pass the bound at the turn's write, and only that one", async () => {
    const target = start({ maxBufferedBytes: 1000 });
    const slow = sink();
    const fast = sink();
    open(target, ["project.a"], slow);
    open(target, ["project.a"], fast);
    slow.buffered = 5000;
    await Promise.all([1, 2, 3].map((n) => target.publish("project.a", message(n))));
    await turn();
    expect(slow.closed).toBe(true);
    expect(fast.closed).toBe(false);
    await target.publish("project.a", message(4));
    await turn();
    expect(fast.ids()).toHaveLength(4);
    expect(slow.ids()).toHaveLength(3);
    expect((await target.metrics.slowConsumersDropped.get()).values[0]?.value).toBe(1);
  });

  it("delivers once, with no gap, to a stream replaying history while the same turn publishes", async () => {
    const target = start();
    const first = await target.publish("project.a", message(0));
    const replaying = sink();
    target.openStream({ channels: ["project.a"], subject: "s", lastEventId: first }, replaying);
    const live = await Promise.all([1, 2, 3].map((n) => target.publish("project.a", message(n))));
    await turn();
    await turn();
    const more = await target.publish("project.a", message(4));
    await turn();
    expect(replaying.ids()).toEqual([...live, more]);
  });
});

describe("the data of a published event", () => {
  it("is the publisher's object as JSON, its fields in its order, then channel and ts", async () => {
    const hub = createHub({ store: createMemoryStore(), now: () => 1_700_000_000_123 });
    const message = fc
      .dictionary(fc.string(), fc.jsonValue(), { maxKeys: 8 })
      .map((fields) => ({ ...fields, type: "data" }));
    await fc.assert(
      fc.asyncProperty(message, fc.boolean(), fc.boolean(), async (fields, channel, ts) => {
        // Publishers may send channel and ts themselves: the hub's own values replace them.
        const sent: PublishedMessage = { ...fields };
        if (channel) sent.channel = "user.someone-else";
        if (ts) sent.ts = 5;
        const id = await hub.publish("file.f1", sent);
        const { events } = await hub.store.read(["file.f1"], 0);
        const data = events.find((event) => event.id === id)?.data;
        expect(data).toBe(JSON.stringify({ ...sent, channel: "file.f1", ts: 1_700_000_000_123 }));
      }),
      { numRuns: 300 },
    );
    await hub.close();
  });

  it("leaves out a toJSON of the message's prototype, as a copy of its fields would", async () => {
    const hub = createHub({ store: createMemoryStore(), now: () => 7 });
    class Message {
      type = "data";
      toJSON() {
        return { type: "not what was sent" };
      }
    }
    await hub.publish("file.f1", new Message() as unknown as PublishedMessage);
    const { events } = await hub.store.read(["file.f1"], 0);
    expect(events[0]?.data).toBe('{"type":"data","channel":"file.f1","ts":7}');
    await hub.close();
  });
});
