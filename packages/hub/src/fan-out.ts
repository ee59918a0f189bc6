/**
 * Live events to the streams of their channel (PROTOCOL.md section 2). An event is looked up by
 * its one channel, so nothing per event grows with the number of channels. Live events are not
 * written as they come: each channel queues the frames of the current event-loop turn, and one
 * microtask later every stream gets them joined in one buffer and one write, shared by all the
 * streams of the channel. A turn's many events then cost each subscriber one write and one
 * syscall instead of one per event, and nothing is allocated per subscriber
 * (docs/BENCHMARKS.md, "the hot path").
 */
import type { FrameCache } from "./frame-cache.ts";
import type { HubStream } from "./hub-stream.ts";
import type { HubMetrics } from "./metrics.ts";
import type { StoredEvent } from "./store.ts";

/** Live events held per stream while it replays history; past this, history is read again. */
const MAX_PENDING = 10_000;

/**
 * The queues of a channel that never had a live event, shared by all of them (frozen: nothing is
 * ever pushed into it). Four empty arrays per channel are 128 B, idle channels are most of them,
 * and a channel gets its own on its first live event (`announce`).
 */
const NO_QUEUE: never[] = Object.freeze([]) as never[];

/** One channel's subscribers, and the live events of this turn not yet written to them. */
export interface ChannelState {
  readonly name: string;
  /**
   * Streams past their replay, written to once per turn by `flush`: none, the one stream itself
   * (a channel per page, as a file's or a user's, is most of them), or a Set from the second
   * on, as a Set of one costs 150 bytes per channel.
   */
  live: HubStream | Set<HubStream> | undefined;
  /**
   * Streams still reading history: they hold live events in their `pending` meanwhile. Made for
   * the first and dropped with the last: most of the time a channel has none, and an empty Set
   * costs 150 bytes, per channel.
   */
  catchingUp: Set<HubStream> | undefined;
  /**
   * This turn's events and their frames, in seq order, until `flush` takes them. All four are
   * `NO_QUEUE` until the channel's first live event.
   */
  events: StoredEvent[];
  frames: Buffer[];
  /** What the running flush took (the arrays swap, so no turn allocates new ones). */
  flushEvents: StoredEvent[];
  flushFrames: Buffer[];
  /** Those frames joined, once per flush, for every stream of the channel. */
  joined: Buffer | undefined;
  /** Waiting in the flush queue. */
  queued: boolean;
  /** The last flush that took events of this channel. */
  flushed: number;
  /** Whether that flush wrote any of its events (a count, exact but for merged writes). */
  written: number;
}

export class FanOut {
  private readonly byChannel = new Map<string, ChannelState>();
  /** Channels with events queued this turn, in the order their first event came. */
  private queue: ChannelState[] = [];
  private spare: ChannelState[] = [];
  private flushScheduled = false;
  private flushes = 0;
  /** Multi-channel streams met in the current flush, written after the single-channel ones. */
  private readonly multiChannel: HubStream[] = [];
  /** The highest seq the store has announced: a stream opened now starts live after it. */
  announcedSeq = 0;
  /** When the last flush ended (`performance.now()`): how busy the hub is. */
  private lastFlushEnd = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly frames: FrameCache,
    private readonly metrics: HubMetrics,
    private readonly now: () => number,
    /** See `HubOptions.coalesceMs`. */
    private readonly coalesceMs: number,
  ) {}

  /** The state of a channel, made for its first subscriber. */
  channel(name: string): ChannelState {
    let state = this.byChannel.get(name);
    if (!state) {
      // A copy: a name read from a request is a slice of its URL, and would keep the whole URL
      // (with the token in its query, if any) alive for as long as the channel has subscribers.
      const own = Buffer.from(name).toString();
      state = {
        name: own,
        live: undefined,
        catchingUp: undefined,
        events: NO_QUEUE,
        frames: NO_QUEUE,
        flushEvents: NO_QUEUE,
        flushFrames: NO_QUEUE,
        joined: undefined,
        queued: false,
        flushed: 0,
        written: 0,
      };
      this.byChannel.set(own, state);
    }
    return state;
  }

  /** Registers a new stream on its channels, catching up: live events wait in its `pending`. */
  subscribe(stream: HubStream): void {
    for (const state of stream.states) {
      state.catchingUp ??= new Set();
      state.catchingUp.add(stream);
    }
  }

  /** Moves a stream from catching up to live on its channels. */
  goLive(stream: HubStream): void {
    for (const state of stream.states) {
      stopCatchingUp(state, stream);
      const live = state.live;
      if (live === undefined) state.live = stream;
      else if (live instanceof Set) live.add(stream);
      else if (live !== stream) state.live = new Set([live, stream]);
    }
  }

  /** Takes a stream off its channels, and forgets the channels nobody subscribes to any more. */
  unsubscribe(stream: HubStream): void {
    for (const state of stream.states) {
      const live = state.live;
      if (live === stream) state.live = undefined;
      else if (live instanceof Set && live.delete(stream) && live.size === 1) {
        // A flush iterating the Set meanwhile goes on over it: deleting from it stays safe.
        state.live = live.values().next().value;
      }
      stopCatchingUp(state, stream);
      if (state.live === undefined && state.catchingUp === undefined) {
        this.byChannel.delete(state.name);
      }
    }
  }

  /** An event the store announced: held for the streams catching up, queued for the live ones. */
  announce(event: StoredEvent): void {
    if (event.seq > this.announcedSeq) this.announcedSeq = event.seq;
    const channel = this.byChannel.get(event.channel);
    if (!channel) return;
    if (channel.catchingUp) {
      for (const stream of channel.catchingUp) {
        const pending = stream.pending as StoredEvent[];
        if (pending.length < MAX_PENDING) pending.push(event);
        else stream.pendingOverflowed = true;
      }
    }
    if (channel.live === undefined) return;
    if (channel.events === NO_QUEUE) ownQueues(channel);
    channel.events.push(event);
    channel.frames.push(this.frames.frameOf(event));
    if (!channel.queued) {
      channel.queued = true;
      this.queue.push(channel);
      if (!this.flushScheduled) this.scheduleFlush();
    }
  }

  /**
   * The next flush: at the end of this turn when the last one ended `coalesceMs` ago or more
   * (an idle hub adds no delay), else `coalesceMs` after it ended. A busy hub thus writes each
   * stream at most once per `coalesceMs`, every event of that time in the one write, instead of
   * one write (and one syscall) per stream per turn: what the writes cost goes down as the load
   * goes up, and no event waits more than `coalesceMs` for it.
   */
  private scheduleFlush(): void {
    this.flushScheduled = true;
    const wait = this.lastFlushEnd + this.coalesceMs - performance.now();
    if (wait <= 0) queueMicrotask(this.flush);
    else setTimeout(this.flush, wait);
  }

  /**
   * Writes the turn's live events: per channel, its frames joined once and written once to
   * each stream. A stream on several channels with events in the same turn gets them merged in
   * seq order, so its last id always covers everything before it.
   */
  private readonly flush = (): void => {
    this.flushScheduled = false;
    const channels = this.queue;
    this.queue = this.spare;
    this.spare = channels;
    const turn = ++this.flushes;
    const multiChannel = this.multiChannel;
    let delivered = 0;
    for (const channel of channels) {
      // Taken before anything is written: an event announced meanwhile waits for the next flush.
      const events = channel.events;
      const frames = channel.frames;
      channel.events = channel.flushEvents;
      channel.frames = channel.flushFrames;
      channel.flushEvents = events;
      channel.flushFrames = frames;
      channel.queued = false;
      channel.flushed = turn;
      channel.written = 0;
      const live = channel.live;
      if (live === undefined) continue;
      const joined = frames.length === 1 ? (frames[0] as Buffer) : Buffer.concat(frames);
      channel.joined = joined;
      let written = 0;
      if (live instanceof Set) {
        for (const stream of live) written += this.deliver(stream, channel, turn);
      } else {
        written = this.deliver(live, channel, turn);
      }
      channel.written = written;
      delivered += written;
    }
    for (const stream of multiChannel) {
      const only = stream.flushChannel;
      if (only) {
        const written = stream.send(only.flushEvents, only.flushFrames, only.joined);
        only.written += written;
        delivered += written;
      } else {
        const written = stream.send(mergedEvents(stream, turn), undefined, undefined);
        for (const state of stream.states) if (state.flushed === turn) state.written += written;
        delivered += written;
      }
    }
    multiChannel.length = 0;
    const at = this.now();
    for (const channel of channels) {
      if (channel.written > 0) {
        for (const event of channel.flushEvents) {
          this.metrics.publishToWrite.observe(Math.max(0, at - event.ts) / 1000);
        }
      }
      channel.written = 0;
      channel.flushEvents.length = 0;
      channel.flushFrames.length = 0;
      channel.joined = undefined;
    }
    channels.length = 0;
    if (delivered > 0) this.metrics.delivered.inc(delivered);
    this.lastFlushEnd = performance.now();
  };

  /**
   * A stream's part of its channel's flush: a stream of one channel gets the channel's frames
   * now; one of several is met once per flush and written after every channel, with what the
   * one channel that had events for it had (`flushChannel`; `undefined` where several had).
   */
  private deliver(stream: HubStream, channel: ChannelState, turn: number): number {
    if (stream.states.length === 1) {
      return stream.send(channel.flushEvents, channel.flushFrames, channel.joined);
    }
    if (stream.flush !== turn) {
      stream.flush = turn;
      stream.flushChannel = channel;
      this.multiChannel.push(stream);
    } else {
      stream.flushChannel = undefined;
    }
    return 0;
  }
}

/** A channel's own queues, made at its first live event (flush swaps them, never replaces them). */
function ownQueues(channel: ChannelState): void {
  channel.events = [];
  channel.frames = [];
  channel.flushEvents = [];
  channel.flushFrames = [];
}

function stopCatchingUp(state: ChannelState, stream: HubStream): void {
  const catchingUp = state.catchingUp;
  if (catchingUp?.delete(stream) && catchingUp.size === 0) state.catchingUp = undefined;
}

/** This flush's events of every channel of `stream`, in seq order. */
function mergedEvents(stream: HubStream, turn: number): StoredEvent[] {
  const merged: StoredEvent[] = [];
  for (const state of stream.states) if (state.flushed === turn) merged.push(...state.flushEvents);
  return merged.sort((a, b) => a.seq - b.seq);
}
