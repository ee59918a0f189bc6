import { afterEach, describe, expect, it, vi } from "vitest";
import { FrameCache } from "./frame-cache.ts";
import { createHubMetrics } from "./metrics.ts";
import { BEHIND_CALM_MS, type OutboundContext, OutboundQueue } from "./outbound-queue.ts";
import type { StoredEvent } from "./store.ts";

/** A sink whose unsent bytes the test sets, and whose drain the test triggers. */
class TestSink {
  chunks: Buffer[] = [];
  buffered = 0;
  /** Every write stays unsent until `drain()`, as on a link that takes nothing meanwhile. */
  holding = false;
  closed = false;
  private drains: Array<() => void> = [];

  write(chunk: Uint8Array): void {
    this.chunks.push(Buffer.from(chunk));
    if (this.holding) this.buffered += chunk.length;
  }
  get bufferedBytes(): number {
    return this.buffered;
  }
  drained(): Promise<void> {
    if (this.buffered === 0) return Promise.resolve();
    return new Promise((resolve) => this.drains.push(resolve));
  }
  close(): void {
    this.closed = true;
  }
  /** The network takes every byte. */
  async drain(): Promise<void> {
    this.buffered = 0;
    for (const resolve of this.drains.splice(0)) resolve();
    await new Promise((resolve) => setImmediate(resolve));
  }
  /** The messages written, in order, as `type:detail`. */
  written(): string[] {
    const text = Buffer.concat(this.chunks).toString();
    return [...text.matchAll(/^data: (.*)$/gm)].map((match) => label(match[1] as string));
  }
  ids(): number[] {
    const text = Buffer.concat(this.chunks).toString();
    return [...text.matchAll(/^id: e-(\d+)$/gm)].map((match) => Number(match[1]));
  }
}

function label(data: string): string {
  const message = JSON.parse(data) as { type: string; object?: Record<string, unknown> };
  const { taskId, progress, n } = message.object ?? {};
  if (message.type === "render_progress") return `progress:${taskId}=${progress}`;
  return `${message.type}:${n ?? taskId}`;
}

let seq = 0;
function event(channel: string, message: object): StoredEvent {
  seq += 1;
  return { id: `e-${seq}`, seq, channel, data: JSON.stringify({ ...message, channel }), ts: 0 };
}
const progress = (taskId: string, value: number, channel = "project.p") =>
  event(channel, { type: "render_progress", object: { taskId, fileId: "f", progress: value } });
const task = (n: number, channel = "project.p") =>
  event(channel, { type: "task", object: { id: "t", status: "in_progress", n } });

function setUp(limits = { behindBytes: 100, maxBufferedBytes: 10_000 }) {
  const metrics = createHubMetrics();
  const dropped: OutboundQueue[] = [];
  const context: OutboundContext = {
    limits,
    frames: new FrameCache(),
    metrics,
    drop(queue) {
      queue.closeQueue();
      queue.sink.close();
      dropped.push(queue);
    },
  };
  const sink = new TestSink();
  const queue = new OutboundQueue(sink, context);
  const value = async (name: "conflated" | "streamsBehind" | "delivered") =>
    (await metrics[name].get()).values[0]?.value ?? 0;
  return { sink, queue, dropped, value };
}

afterEach(() => {
  vi.useRealTimers();
});

describe("the outbound queue of one stream", () => {
  it("writes each send at once, in one write, while the network keeps up", () => {
    const { sink, queue } = setUp();
    expect(queue.send([task(1), progress("a", 0.1)], undefined, undefined)).toBe(2);
    expect(queue.send([progress("a", 0.2)], undefined, undefined)).toBe(1);
    expect(sink.chunks).toHaveLength(2);
    expect(sink.written()).toEqual(["task:1", "progress:a=0.1", "progress:a=0.2"]);
    expect(queue.behind).toBeUndefined();
  });

  it("skips what it already sent, by seq", () => {
    const { sink, queue } = setUp();
    const first = [task(1), task(2)];
    queue.send(first, undefined, undefined);
    expect(queue.send([...first, task(3)], undefined, undefined)).toBe(1);
    expect(sink.written()).toEqual(["task:1", "task:2", "task:3"]);
  });

  it("once behind, writes nothing until the network took everything, then what it kept in one write: the newest progress of each task at its place, every other event in order", async () => {
    const { sink, queue, value } = setUp();
    queue.send([progress("a", 0.1)], undefined, undefined);
    sink.buffered = 500; // past behindBytes: the next write waits for the network
    queue.send([progress("a", 0.2)], undefined, undefined);
    expect(queue.behind).toBeDefined();
    expect(await value("streamsBehind")).toBe(1);
    const before = sink.chunks.length;
    queue.send([progress("a", 0.3), task(1), progress("b", 0.5)], undefined, undefined);
    queue.send([progress("a", 0.4), task(2)], undefined, undefined);
    queue.send([progress("b", 0.6), progress("a", 0.5)], undefined, undefined);
    expect(sink.chunks).toHaveLength(before);
    await sink.drain();
    expect(sink.chunks).toHaveLength(before + 1);
    expect(sink.written().slice(2)).toEqual([
      "task:1",
      "task:2",
      "progress:b=0.6",
      "progress:a=0.5",
    ]);
    const ids = sink.ids();
    expect(ids).toEqual([...ids].sort((x, y) => x - y));
    expect(await value("conflated")).toBe(3);
  });

  it("keeps the progress of the same task on two channels apart, and progress without a taskId whole", async () => {
    const { sink, queue } = setUp();
    sink.buffered = 500;
    queue.send([task(0)], undefined, undefined);
    queue.send(
      [
        progress("a", 0.1, "project.p"),
        progress("a", 0.1, "file.f"),
        event("project.p", { type: "render_progress", object: { progress: 0.3 } }),
        event("project.p", { type: "render_progress", object: { progress: 0.4 } }),
        progress("a", 0.2, "project.p"),
        progress("a", 0.2, "file.f"),
      ],
      undefined,
      undefined,
    );
    await sink.drain();
    expect(sink.written()).toEqual([
      "task:0",
      "progress:undefined=0.3",
      "progress:undefined=0.4",
      "progress:a=0.2",
      "progress:a=0.2",
    ]);
  });

  it("stays behind while a drain finds something kept, and writes directly again only after a calm second", async () => {
    vi.useFakeTimers({ toFake: ["performance"] });
    const { sink, queue, value } = setUp();
    sink.holding = true;
    sink.buffered = 500;
    queue.send([task(1)], undefined, undefined);
    queue.send([task(2)], undefined, undefined);
    await sink.drain(); // task 2 was kept: written now, and the stream waits again
    expect(sink.written()).toEqual(["task:1", "task:2"]);
    expect(queue.behind?.waiting).toBe(true);
    await sink.drain(); // nothing kept: the next event goes at once, but the stream is still behind
    expect(queue.behind?.waiting).toBe(false);
    queue.send([task(3)], undefined, undefined);
    expect(sink.written()).toHaveLength(3);
    vi.advanceTimersByTime(BEHIND_CALM_MS);
    await sink.drain();
    expect(queue.behind).toBeUndefined();
    expect(await value("streamsBehind")).toBe(0);
    sink.holding = false;
    queue.send([task(4)], undefined, undefined);
    queue.send([task(5)], undefined, undefined);
    expect(sink.written()).toHaveLength(5);
  });

  it("is closed as a slow consumer only when what it cannot conflate passes maxBufferedBytes", async () => {
    const { sink, queue, dropped } = setUp({ behindBytes: 100, maxBufferedBytes: 4000 });
    sink.buffered = 500;
    queue.send([task(0)], undefined, undefined);
    // A thousand progress events of one task: one is kept, whatever their number.
    for (let i = 1; i <= 1000; i++) queue.send([progress("a", i / 1000)], undefined, undefined);
    expect(dropped).toHaveLength(0);
    expect(queue.behind?.bytes).toBeLessThan(200);
    // Task events cannot be conflated: kept until they pass the bound.
    for (let n = 1; n <= 100 && dropped.length === 0; n++) {
      queue.send([task(n)], undefined, undefined);
    }
    expect(dropped).toEqual([queue]);
    expect(sink.closed).toBe(true);
    expect(queue.behind).toBeUndefined();
  });

  it("conflates a replay the same way once the stream is behind, and waits for the network rather than dropping it", async () => {
    const { sink, queue, dropped } = setUp({ behindBytes: 100, maxBufferedBytes: 2000 });
    const history: StoredEvent[] = [];
    for (let i = 1; i <= 300; i++) {
      history.push(progress("a", i / 300));
      if (i % 100 === 0) history.push(task(i / 100));
    }
    sink.holding = true;
    const replayed = queue.replay(history);
    await new Promise((resolve) => setImmediate(resolve));
    await sink.drain();
    await sink.drain();
    expect(await replayed).toBe(303);
    await sink.drain();
    expect(dropped).toHaveLength(0);
    const written = sink.written();
    expect(written.filter((entry) => entry.startsWith("task"))).toEqual([
      "task:1",
      "task:2",
      "task:3",
    ]);
    expect(written.slice(-2)).toEqual(["progress:a=1", "task:3"]);
    expect(written.length).toBeLessThan(20);
    const ids = sink.ids();
    expect(ids).toEqual([...ids].sort((x, y) => x - y));
  });
});
