/**
 * What goes out to one stream, and when: its writes, its dedupe by seq, and the slow-consumer
 * rule (PROTOCOL.md sections 3 and 9). Live writes never wait for the network; replay does.
 */
import type { FrameCache } from "./frame-cache.ts";
import type { StreamSink } from "./hub.ts";
import type { HubMetrics } from "./metrics.ts";
import type { StoredEvent } from "./store.ts";

/** Frames joined into one write while replaying, at most (a backlog is written in pieces). */
const REPLAY_WRITE_BYTES = 64 * 1024;

/** What every stream of a hub shares: one object per hub, so a stream holds one reference. */
export interface OutboundContext {
  readonly limits: { readonly maxBufferedBytes: number };
  readonly frames: FrameCache;
  readonly metrics: HubMetrics;
  /** Ends a stream the queue gives up on (a slow consumer): unregisters it, closes its sink. */
  drop(queue: OutboundQueue): void;
}

/** A class, so that an idle stream holds no closures of its own. */
export class OutboundQueue {
  /** The highest seq written: anything at or below it is a duplicate. */
  lastSeq = 0;
  /** Whether anything was written since the last heartbeat tick. */
  active = true;
  closed = false;

  constructor(
    readonly sink: StreamSink,
    protected readonly context: OutboundContext,
  ) {}

  /** Writes bytes that are no event (the opening, a heartbeat, a `stream_reset`). */
  write(chunk: Uint8Array): void {
    if (this.closed) return;
    this.sink.write(chunk);
    this.active = true;
    if (this.sink.bufferedBytes > this.context.limits.maxBufferedBytes) {
      // It resumes from history when it reconnects, so dropping it loses nothing history holds.
      this.context.metrics.slowConsumersDropped.inc();
      this.context.drop(this);
    }
  }

  /**
   * Writes the events after the last seq, in one write, and returns how many. A list in seq
   * order; `frames`, when given, are theirs, and `joined` all of them already joined.
   */
  send(
    events: readonly StoredEvent[],
    frames: readonly Buffer[] | undefined,
    joined: Buffer | undefined,
  ): number {
    const last = events[events.length - 1];
    if (!last || last.seq <= this.lastSeq) return 0;
    const cache = this.context.frames;
    let skip = 0;
    let skipBytes = 0;
    while ((events[skip] as StoredEvent).seq <= this.lastSeq) {
      skipBytes += (frames?.[skip] ?? cache.frameOf(events[skip] as StoredEvent)).length;
      skip++;
    }
    let chunk: Buffer;
    if (joined) chunk = skip === 0 ? joined : joined.subarray(skipBytes);
    else if (events.length - skip === 1) chunk = cache.frameOf(last);
    else {
      const parts: Buffer[] = [];
      for (let i = skip; i < events.length; i++)
        parts.push(cache.frameOf(events[i] as StoredEvent));
      chunk = Buffer.concat(parts);
    }
    this.lastSeq = last.seq;
    this.write(chunk);
    return events.length - skip;
  }

  /**
   * Writes history the stream missed, in pieces, and returns how many events. Unlike live
   * writes it waits for the network, since a backlog may be far larger than the unsent-bytes
   * bound.
   */
  async replay(events: readonly StoredEvent[]): Promise<number> {
    let replayed = 0;
    const batch: Buffer[] = [];
    let batchBytes = 0;
    for (const event of events) {
      if (this.closed) break;
      if (event.seq <= this.lastSeq) continue;
      this.lastSeq = event.seq;
      const frame = this.context.frames.frameOf(event);
      batch.push(frame);
      batchBytes += frame.length;
      replayed++;
      if (batchBytes < REPLAY_WRITE_BYTES) continue;
      this.sink.write(batch.length === 1 ? frame : Buffer.concat(batch, batchBytes));
      batch.length = 0;
      batchBytes = 0;
      if (this.sink.bufferedBytes > this.context.limits.maxBufferedBytes) {
        await this.sink.drained();
      }
    }
    if (batch.length > 0 && !this.closed) {
      this.sink.write(batch.length === 1 ? (batch[0] as Buffer) : Buffer.concat(batch, batchBytes));
    }
    this.active = true;
    return replayed;
  }
}
