/**
 * What goes out to one stream, and when (PROTOCOL.md sections 3 and 9): its writes, its dedupe
 * by seq, conflation while it is behind, and the slow-consumer rule.
 *
 * A stream is written to directly while the network keeps up. Once its unsent bytes pass
 * `behindBytes` it is behind: from then on it has at most one write the network has not taken
 * (the sink's `drained()` says when it has), and what comes meanwhile is kept, except a
 * `render_progress` that a newer one of the same task and channel supersedes, which goes, the
 * newer one taking the last place. When the network has taken every byte, everything kept goes
 * in one write. The stream returns to direct writes only after a second in which nothing had to
 * be kept: the kernel takes a small write at once whenever its buffer has room, so "drained"
 * alone says little about a slow link, and direct writes would pile stale bytes in front of what
 * matters again. A slow reader thus gets the newest state of each task and everything else in
 * order. Ids only increase, so a resume loses nothing but superseded progress. A stream is
 * closed as a slow consumer only when its unsent bytes and what it keeps after conflation pass
 * `maxBufferedBytes`.
 */
import type { FrameCache } from "./frame-cache.ts";
import type { StreamSink } from "./hub.ts";
import type { HubMetrics } from "./metrics.ts";
import type { StoredEvent } from "./store.ts";

/** Frames joined into one write while replaying, at most (a backlog is written in pieces). */
const REPLAY_WRITE_BYTES = 64 * 1024;

/** What every stream of a hub shares: one object per hub, so a stream holds one reference. */
export interface OutboundContext {
  readonly limits: { readonly maxBufferedBytes: number; readonly behindBytes: number };
  readonly frames: FrameCache;
  readonly metrics: HubMetrics;
  /** Ends a stream the queue gives up on (a slow consumer): unregisters it, closes its sink. */
  drop(queue: OutboundQueue): void;
}

/** How long a stream that is behind must keep nothing before it is written to directly again. */
export const BEHIND_CALM_MS = 1000;

/** The state of a stream that is behind: what it keeps for its next write, in order. */
class Behind {
  /** A write is out that the network has not taken yet: what comes now is kept. */
  waiting = false;
  /** When a drain last found something kept (`performance.now()`). */
  keptAt = performance.now();
  /** Frames in seq order; `undefined` where a newer one superseded it. */
  frames: Array<Buffer | undefined> = [];
  /** The conflation key of each frame, where it has one. */
  keys: Array<string | undefined> = [];
  /** Where the frame of each key is in `frames`. */
  readonly at = new Map<string, number>();
  bytes = 0;
  /** Events among the frames (the rest are no events: a `stream_reset`). */
  events = 0;
  superseded = 0;
  /** Replay waiting for this to be written. */
  readonly waiters: Array<() => void> = [];

  add(frame: Buffer, key: string | undefined, isEvent: boolean): boolean {
    let conflated = false;
    if (key !== undefined) {
      const at = this.at.get(key);
      if (at !== undefined) {
        this.bytes -= (this.frames[at] as Buffer).length;
        this.frames[at] = undefined;
        this.keys[at] = undefined;
        this.events--;
        this.superseded++;
        conflated = true;
      }
      this.at.set(key, this.frames.length);
    }
    this.frames.push(frame);
    this.keys.push(key);
    this.bytes += frame.length;
    if (isEvent) this.events++;
    // Holes cost memory while a stream stays behind: squeezed out once they are the majority.
    if (this.superseded > 64 && this.superseded * 2 > this.frames.length) this.compact();
    return conflated;
  }

  /** All kept frames joined, and the kept state emptied. */
  take(): Buffer {
    const frames: Buffer[] = [];
    for (const frame of this.frames) if (frame) frames.push(frame);
    this.frames = [];
    this.keys = [];
    this.at.clear();
    const chunk = frames.length === 1 ? (frames[0] as Buffer) : Buffer.concat(frames, this.bytes);
    this.bytes = 0;
    this.events = 0;
    this.superseded = 0;
    return chunk;
  }

  get empty(): boolean {
    return this.bytes === 0;
  }

  wake(): void {
    for (const waiter of this.waiters.splice(0)) waiter();
  }

  private compact(): void {
    const frames: Buffer[] = [];
    const keys: Array<string | undefined> = [];
    this.at.clear();
    for (let i = 0; i < this.frames.length; i++) {
      const frame = this.frames[i];
      if (!frame) continue;
      const key = this.keys[i];
      if (key !== undefined) this.at.set(key, frames.length);
      frames.push(frame);
      keys.push(key);
    }
    this.frames = frames;
    this.keys = keys;
    this.superseded = 0;
  }
}

/** A class, so that an idle stream holds no closures of its own. */
export class OutboundQueue {
  /** The highest seq written or kept: anything at or below it is a duplicate. */
  lastSeq = 0;
  /** Whether anything was written since the last heartbeat tick. */
  active = true;
  closed = false;
  /** Set while the stream is behind; `undefined` while it is written to directly. */
  behind: Behind | undefined = undefined;

  constructor(
    readonly sink: StreamSink,
    protected readonly context: OutboundContext,
  ) {}

  /** Writes bytes that are no event (the opening, a heartbeat, a `stream_reset`). */
  write(chunk: Buffer): void {
    if (this.closed) return;
    if (this.behind?.waiting) {
      this.behind.add(chunk, undefined, false);
      this.checkBound();
    } else {
      this.writeNow(chunk, false);
    }
  }

  /**
   * Sends the events after the last seq and returns how many were written now (those kept
   * for later are counted when written). A list in seq order; `frames`, when given, are
   * theirs, and `joined` all of them already joined. `replaying`: history, which waits for the
   * network instead of being bound by `maxBufferedBytes`.
   */
  send(
    events: readonly StoredEvent[],
    frames: readonly Buffer[] | undefined,
    joined: Buffer | undefined,
    replaying = false,
  ): number {
    const last = events[events.length - 1];
    if (!last || last.seq <= this.lastSeq || this.closed) return 0;
    const cache = this.context.frames;
    let skip = 0;
    let skipBytes = 0;
    while ((events[skip] as StoredEvent).seq <= this.lastSeq) {
      skipBytes += (frames?.[skip] ?? cache.frameOf(events[skip] as StoredEvent)).length;
      skip++;
    }
    this.lastSeq = last.seq;
    const behind = this.behind;
    if (behind?.waiting) {
      for (let i = skip; i < events.length; i++) {
        const event = events[i] as StoredEvent;
        if (behind.add(frames?.[i] ?? cache.frameOf(event), cache.conflationKeyOf(event), true)) {
          this.context.metrics.conflated.inc();
        }
      }
      if (!replaying) this.checkBound();
      return 0;
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
    this.writeNow(chunk, replaying);
    return events.length - skip;
  }

  /**
   * Sends history the stream missed, in pieces, conflated as live events are while the stream
   * is behind, and returns how many events it took. Unlike live events it waits for the network
   * whenever the unsent and kept bytes pass half the bound, since a backlog may be far larger.
   */
  async replay(events: readonly StoredEvent[]): Promise<number> {
    const { frames: cache, limits } = this.context;
    // Pieces no larger than what makes a stream behind: a slow reader is not handed a large
    // piece of stale history before conflation can start.
    const pieceBytes = Math.min(REPLAY_WRITE_BYTES, limits.behindBytes);
    let start = 0;
    while (start < events.length && (events[start] as StoredEvent).seq <= this.lastSeq) start++;
    let replayed = 0;
    let bytes = 0;
    for (let i = start; i < events.length && !this.closed; i++) {
      bytes += cache.frameOf(events[i] as StoredEvent).length;
      if (bytes < pieceBytes && i < events.length - 1) continue;
      const piece = events.slice(start, i + 1);
      start = i + 1;
      bytes = 0;
      this.send(piece, undefined, undefined, true);
      replayed += piece.length;
      while (!this.closed && this.behind && this.unsentBytes() > limits.maxBufferedBytes / 2) {
        await this.nextWrite();
      }
    }
    return replayed;
  }

  /**
   * Writes what is kept and `last` in one write: the end of a stream the server ends on
   * purpose, closed right after, whose sink ends the connection once every byte has gone.
   */
  finish(last: Buffer): void {
    if (this.closed) return;
    const behind = this.behind;
    if (behind && !behind.empty) {
      const events = behind.events;
      this.sink.write(Buffer.concat([behind.take(), last]));
      if (events > 0) this.context.metrics.delivered.inc(events);
    } else {
      this.sink.write(last);
    }
  }

  /** Marks the queue closed and lets go of what it kept (the client resumes from history). */
  closeQueue(): void {
    this.closed = true;
    const behind = this.behind;
    if (!behind) return;
    this.behind = undefined;
    this.context.metrics.streamsBehind.dec();
    behind.wake();
  }

  /** Whether the stream has bytes out that the network has not taken (it needs no heartbeat). */
  get waiting(): boolean {
    return this.behind?.waiting === true;
  }

  /** Unsent bytes and what is kept: what the slow-consumer bound applies to. */
  private unsentBytes(): number {
    return this.sink.bufferedBytes + (this.behind?.bytes ?? 0);
  }

  /** Writes, and checks the bound unless `replaying` (the hot path reads the unsent bytes once). */
  private writeNow(chunk: Buffer, replaying: boolean): void {
    this.sink.write(chunk);
    this.active = true;
    let behind = this.behind;
    if (!behind) {
      const { limits } = this.context;
      const unsent = this.sink.bufferedBytes;
      if (unsent <= limits.behindBytes) {
        if (unsent > limits.maxBufferedBytes && !replaying) this.checkBound();
        return;
      }
      behind = new Behind();
      this.behind = behind;
      this.context.metrics.streamsBehind.inc();
    }
    behind.waiting = true;
    this.sink.drained().then(() => this.drained());
    if (!replaying) this.checkBound();
  }

  private checkBound(): void {
    if (this.closed || this.unsentBytes() <= this.context.limits.maxBufferedBytes) return;
    // It resumes from history when it reconnects, so dropping it loses nothing history holds.
    this.context.metrics.slowConsumersDropped.inc();
    this.context.drop(this);
  }

  /** Resolves when what is kept has been written, or nothing waits for the network any more. */
  private nextWrite(): Promise<void> {
    const behind = this.behind;
    if (!behind?.waiting) return Promise.resolve();
    return new Promise((resolve) => {
      behind.waiters.push(resolve);
    });
  }

  /** The network took every byte: write what was kept, or wait for the next event. */
  private drained(): void {
    const behind = this.behind;
    if (this.closed || !behind) return;
    if (behind.empty) {
      behind.waiting = false;
      behind.wake();
      if (performance.now() - behind.keptAt >= BEHIND_CALM_MS) {
        this.behind = undefined;
        this.context.metrics.streamsBehind.dec();
      }
      return;
    }
    behind.keptAt = performance.now();
    const events = behind.events;
    this.writeNow(behind.take(), false);
    if (events > 0) this.context.metrics.delivered.inc(events);
    behind.wake();
  }
}
