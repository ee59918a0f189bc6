/**
 * The Hub: publish, subscribe, replay (PROTOCOL.md sections 2 to 6, 9). Transport-free: the
 * HTTP adapters hand it a `StreamSink` per open stream and it writes SSE frames into it.
 *
 * Hot path (docs/BENCHMARKS.md has the figures): an event is encoded to one frame once, whatever
 * the number of subscribers, and is looked up by its one channel, so nothing per event grows with
 * the number of channels. Live events are not written as they come: each channel queues the
 * frames of the current event-loop turn, and one microtask later every stream gets them joined in
 * one buffer and one write, shared by all the streams of the channel. A turn's many events then
 * cost each subscriber one write and one syscall instead of one per event, and nothing is
 * allocated per subscriber.
 */
import {
  channelProblem,
  DEFAULT_CHANNEL_KINDS,
  encodeComment,
  encodeEventFrame,
  encodeRetry,
  formatCursor,
  HeraldError,
  type PublishedMessageOf,
  parseCursor,
  type StreamResetReason,
} from "@herald/protocol";
import { checkPublishedMessage } from "@herald/protocol/schemas";
import { createHubMetrics, type HubMetrics } from "./metrics.ts";
import type { EventStore, StoredEvent } from "./store.ts";

/** Where a hub writes one stream's bytes: a Node response, a Fetch body, a test double. */
export interface StreamSink {
  write(chunk: Uint8Array): void;
  /** Bytes written but not yet taken by the network. */
  readonly bufferedBytes: number;
  /** Resolves when the network has taken the unsent bytes, or the connection has ended. */
  drained(): Promise<void>;
  /** Ends the connection (used to drop a slow consumer). */
  close(): void;
}

export interface HubLimits {
  /** Channels one stream may name (default 32). */
  maxChannelsPerStream?: number;
  /** Streams one token subject may hold open at once (default 64). */
  maxStreamsPerSubject?: number;
  /** Largest message a publisher may send, in bytes of JSON (default 64 KiB). */
  maxMessageBytes?: number;
  /** Unsent bytes after which a subscriber is dropped (default 1 MiB). */
  maxBufferedBytes?: number;
}

export interface HubOptions {
  store: EventStore;
  limits?: HubLimits;
  /** A comment is sent on every stream this often while nothing else is (default 15 s). */
  heartbeatMs?: number;
  /** The reconnection delay streams tell EventSource to use (default 2 s). */
  retryMs?: number;
  /** The channel kinds accepted (default project, file, user). */
  channelKinds?: readonly string[];
  /** The clock that stamps `ts`, for tests. */
  now?: () => number;
  /** Told of failures no request is waiting for (a store failing mid-replay); default: a process warning. */
  onError?: (error: HeraldError) => void;
}

export interface StreamRequest {
  channels: readonly string[];
  /** The last id the client received, if any. */
  lastEventId?: string | undefined;
  /** `start`: with no id, replay all history first. */
  from?: "start" | undefined;
  /** Who opens it, for the per-subject limit. */
  subject: string;
}

/** An open stream; the adapter calls `close()` when its connection ends. */
export interface OpenStream {
  close(): void;
}

export interface Hub {
  readonly store: EventStore;
  readonly metrics: HubMetrics;
  readonly limits: Required<HubLimits>;
  readonly channelKinds: readonly string[];
  /**
   * Publishes a message on a channel and returns its event id. Typed by its `type`: a known
   * type's `object` must have that type's shape (PROTOCOL.md section 4), so a wrong one fails to
   * compile; the hub checks every message again at run time, for callers that pass JSON.
   */
  publish<T extends string>(channel: string, message: PublishedMessageOf<T>): Promise<string>;
  /** Checks the channels of a stream: how many, and each name; throws HeraldError with the refusal. */
  checkChannels(channels: readonly string[]): void;
  /** Checks a whole stream request (channels and the per-subject limit) before any byte is written. */
  checkStream(request: StreamRequest): void;
  /** Reports a failure no request is waiting for (see `onError`). */
  reportError(error: HeraldError): void;
  /** Starts a checked stream: the first bytes, then replay, then live events. */
  openStream(request: StreamRequest, sink: StreamSink): OpenStream;
  close(): Promise<void>;
}

export const DEFAULT_LIMITS: Required<HubLimits> = {
  maxChannelsPerStream: 32,
  maxStreamsPerSubject: 64,
  maxMessageBytes: 64 * 1024,
  maxBufferedBytes: 1024 * 1024,
};

const HEARTBEAT = Buffer.from(encodeComment());
/** Live events held per stream while it replays history; past this, history is read again. */
const MAX_PENDING = 10_000;

/**
 * Frames kept for replay: those of the latest events, which a reconnect storm replays to every
 * stream. Older ones are encoded again when replayed, rather than kept as long as their history:
 * a frame per stored event doubled what the history holds, and kept every frame alive long
 * enough to be promoted, for the garbage collector to copy and mark (docs/BENCHMARKS.md,
 * generation).
 */
const FRAME_CACHE_EVENTS = 1024;

/** Frames joined into one write while replaying, at most (a backlog is written in pieces). */
const REPLAY_WRITE_BYTES = 64 * 1024;

interface HubStream {
  readonly sink: StreamSink;
  /** Its channels, made from `states` (read only to replay and to close). */
  readonly channels: readonly string[];
  /** The state of each of its channels, kept alive by this stream's subscription. */
  readonly states: ChannelState[];
  readonly subject: string;
  /** The highest seq written: anything at or below it is a duplicate. */
  lastSeq: number;
  /** Live events that arrive while history is being read; `undefined` once live. */
  pending: StoredEvent[] | undefined;
  /** Live events were dropped from `pending`: read history again before going live. */
  pendingOverflowed: boolean;
  /** Whether anything was written since the last heartbeat tick. */
  active: boolean;
  closed: boolean;
  /** The flush that last met this stream (multi-channel streams only). */
  flush: number;
  /** The one channel with events for it in that flush; `undefined` where several had. */
  flushChannel: ChannelState | undefined;
}

interface CachedFrame {
  readonly id: string;
  readonly frame: Buffer;
}

/** One channel's subscribers, and the live events of this turn not yet written to them. */
interface ChannelState {
  readonly name: string;
  /** Streams past their replay: written to once per turn, by `flush`. */
  readonly live: Set<HubStream>;
  /** Streams still reading history: they hold live events in their `pending` meanwhile. */
  readonly catchingUp: Set<HubStream>;
  /** This turn's events and their frames, in seq order, until `flush` takes them. */
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

/**
 * The message as it goes on the wire: the publisher's own object (not zod's copy, so its fields
 * keep their order) with `channel` and `ts` last. Spliced into the publisher's JSON rather than
 * spread into a new object first, which cost more than the serialising itself.
 */
function messageJson(message: object, channel: string, ts: number): string {
  const plain =
    !Object.hasOwn(message, "channel") &&
    !Object.hasOwn(message, "ts") &&
    // A spread copy loses a toJSON its prototype has: that message goes the general way.
    typeof (message as { toJSON?: unknown }).toJSON !== "function";
  if (plain) {
    const json = JSON.stringify(message);
    if (json.startsWith("{")) {
      const fields = json.length > 2 ? `${json.slice(0, -1)},` : "{";
      return `${fields}"channel":${JSON.stringify(channel)},"ts":${JSON.stringify(ts)}}`;
    }
  }
  return JSON.stringify({ ...message, channel, ts });
}

export function createHub(options: HubOptions): Hub {
  const { store } = options;
  const limits = { ...DEFAULT_LIMITS, ...options.limits };
  const channelKinds = options.channelKinds ?? DEFAULT_CHANNEL_KINDS;
  const now = options.now ?? Date.now;
  const metrics = createHubMetrics();
  const opening = Buffer.from(encodeRetry(options.retryMs ?? 2000) + encodeComment("ok"));
  const onError = options.onError ?? ((error: HeraldError) => process.emitWarning(error));
  const streams = new Set<HubStream>();
  const byChannel = new Map<string, ChannelState>();
  const streamsBySubject = new Map<string, number>();
  /**
   * The frames of the latest events by seq, in two generations: when the newer one is full it
   * becomes the older one and the older one is dropped (see FRAME_CACHE_EVENTS).
   */
  let frames = new Map<number, CachedFrame>();
  let olderFrames = new Map<number, CachedFrame>();
  /** Channels with events queued this turn, in the order their first event came. */
  let queue: ChannelState[] = [];
  let spare: ChannelState[] = [];
  let flushScheduled = false;
  let flushes = 0;
  /** Multi-channel streams met in the current flush, written after the single-channel ones. */
  const multiChannel: HubStream[] = [];
  /** The highest seq the store has announced: a stream opened now starts live after it. */
  let announcedSeq = 0;

  /** An open stream: a class, so that an idle stream holds no closures of its own. */
  class Stream implements HubStream, OpenStream {
    readonly sink: StreamSink;
    readonly subject: string;
    readonly states: ChannelState[] = [];
    lastSeq = 0;
    pending: StoredEvent[] | undefined = [];
    pendingOverflowed = false;
    active = true;
    closed = false;
    flush = 0;
    flushChannel: ChannelState | undefined = undefined;

    constructor(sink: StreamSink, subject: string) {
      this.sink = sink;
      this.subject = subject;
    }

    get channels(): string[] {
      return this.states.map((state) => state.name);
    }

    close(): void {
      closeStream(this);
    }
  }

  function frameOf(event: StoredEvent): Buffer {
    const cached = frames.get(event.seq) ?? olderFrames.get(event.seq);
    // The id too: a store that lost its history starts a new epoch, whose seqs may come again.
    if (cached?.id === event.id) return cached.frame;
    const frame = Buffer.from(encodeEventFrame(event.id, event.data));
    if (frames.size >= FRAME_CACHE_EVENTS / 2) {
      olderFrames = frames;
      frames = new Map();
    }
    frames.set(event.seq, { id: event.id, frame });
    return frame;
  }

  function write(stream: HubStream, chunk: Uint8Array): void {
    if (stream.closed) return;
    stream.sink.write(chunk);
    stream.active = true;
    if (stream.sink.bufferedBytes > limits.maxBufferedBytes) {
      // It resumes from history when it reconnects, so dropping it loses nothing history holds.
      metrics.slowConsumersDropped.inc();
      closeStream(stream);
      stream.sink.close();
    }
  }

  /**
   * Writes the events after the stream's last seq, in one write, and returns how many. A list
   * in seq order; `joined`, when given, is all their frames already joined.
   */
  function writeEvents(
    stream: HubStream,
    events: readonly StoredEvent[],
    eventFrames: readonly Buffer[] | undefined,
    joined: Buffer | undefined,
  ): number {
    const last = events[events.length - 1];
    if (!last || last.seq <= stream.lastSeq) return 0;
    let skip = 0;
    let skipBytes = 0;
    while ((events[skip] as StoredEvent).seq <= stream.lastSeq) {
      skipBytes += (eventFrames?.[skip] ?? frameOf(events[skip] as StoredEvent)).length;
      skip++;
    }
    let chunk: Buffer;
    if (joined) chunk = skip === 0 ? joined : joined.subarray(skipBytes);
    else if (events.length - skip === 1) chunk = frameOf(last);
    else {
      const parts: Buffer[] = [];
      for (let i = skip; i < events.length; i++) parts.push(frameOf(events[i] as StoredEvent));
      chunk = Buffer.concat(parts);
    }
    stream.lastSeq = last.seq;
    write(stream, chunk);
    return events.length - skip;
  }

  const stopListening = store.onEvent(
    (event) => {
      if (event.seq > announcedSeq) announcedSeq = event.seq;
      const channel = byChannel.get(event.channel);
      if (!channel) return;
      for (const stream of channel.catchingUp) {
        const pending = stream.pending as StoredEvent[];
        if (pending.length < MAX_PENDING) pending.push(event);
        else stream.pendingOverflowed = true;
      }
      if (channel.live.size === 0) return;
      channel.events.push(event);
      channel.frames.push(frameOf(event));
      if (!channel.queued) {
        channel.queued = true;
        queue.push(channel);
        if (!flushScheduled) {
          flushScheduled = true;
          queueMicrotask(flush);
        }
      }
    },
    () => {
      // Events went by that this server's streams never got. Each client resumes from its last
      // id when its stream ends, and catches up from the channels' history, or is told what
      // history lost: closing every stream loses nothing, where keeping them open would.
      for (const stream of [...streams]) {
        closeStream(stream);
        stream.sink.close();
      }
    },
  );

  /**
   * Writes the turn's live events: per channel, its frames joined once and written once to
   * each stream. A stream on several channels with events in the same turn gets them merged in
   * seq order, so its last id always covers everything before it.
   */
  function flush(): void {
    flushScheduled = false;
    const channels = queue;
    queue = spare;
    spare = channels;
    const turn = ++flushes;
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
      if (channel.live.size === 0) continue;
      const joined = frames.length === 1 ? (frames[0] as Buffer) : Buffer.concat(frames);
      channel.joined = joined;
      let written = 0;
      for (const stream of channel.live) {
        if (stream.states.length === 1) {
          written += writeEvents(stream, events, frames, joined);
        } else if (stream.flush !== turn) {
          stream.flush = turn;
          stream.flushChannel = channel;
          multiChannel.push(stream);
        } else {
          stream.flushChannel = undefined;
        }
      }
      channel.written = written;
      delivered += written;
    }
    for (const stream of multiChannel) {
      const only = stream.flushChannel;
      if (only) {
        const written = writeEvents(stream, only.flushEvents, only.flushFrames, only.joined);
        only.written += written;
        delivered += written;
      } else {
        const written = writeEvents(stream, mergedEvents(stream, turn), undefined, undefined);
        for (const state of stream.states) if (state.flushed === turn) state.written += written;
        delivered += written;
      }
    }
    multiChannel.length = 0;
    const at = now();
    for (const channel of channels) {
      if (channel.written > 0) {
        for (const event of channel.flushEvents) {
          metrics.publishToWrite.observe(Math.max(0, at - event.ts) / 1000);
        }
      }
      channel.written = 0;
      channel.flushEvents.length = 0;
      channel.flushFrames.length = 0;
      channel.joined = undefined;
    }
    channels.length = 0;
    if (delivered > 0) metrics.delivered.inc(delivered);
  }

  /** This flush's events of every channel of `stream`, in seq order. */
  function mergedEvents(stream: HubStream, turn: number): StoredEvent[] {
    const merged: StoredEvent[] = [];
    for (const state of stream.states)
      if (state.flushed === turn) merged.push(...state.flushEvents);
    return merged.sort((a, b) => a.seq - b.seq);
  }

  const heartbeat = setInterval(() => {
    for (const stream of streams) {
      if (!stream.active && !stream.pending) write(stream, HEARTBEAT);
      stream.active = false;
    }
  }, options.heartbeatMs ?? 15_000);
  heartbeat.unref();

  function closeStream(stream: HubStream): void {
    if (stream.closed) return;
    stream.closed = true;
    streams.delete(stream);
    for (const state of stream.states) {
      state.live.delete(stream);
      state.catchingUp.delete(stream);
      if (state.live.size === 0 && state.catchingUp.size === 0) byChannel.delete(state.name);
    }
    const count = (streamsBySubject.get(stream.subject) ?? 1) - 1;
    if (count > 0) streamsBySubject.set(stream.subject, count);
    else streamsBySubject.delete(stream.subject);
    metrics.openStreams.dec();
    metrics.subscriptions.dec(stream.states.length);
  }

  function resetFrame(channel: string, reason: StreamResetReason, id: string): Buffer {
    const data = JSON.stringify({ type: "stream_reset", object: { reason }, channel, ts: now() });
    return Buffer.from(encodeEventFrame(id, data));
  }

  /**
   * Replays what the stream missed, then lets live events through, with no gap and no
   * duplicate. Replay waits for the network (a backlog may be far larger than the unsent-bytes
   * bound); live events arriving meanwhile wait in `pending`, and if too many pile up they are
   * dropped there and read again from history on the next pass.
   */
  async function catchUp(stream: HubStream, request: StreamRequest): Promise<void> {
    const cursor = request.lastEventId === undefined ? undefined : parseCursor(request.lastEventId);
    let resetReason: StreamResetReason | undefined;
    if (request.lastEventId !== undefined) {
      if (!cursor) resetReason = "unknown_cursor";
      else if (cursor.epoch !== store.epoch) resetReason = "server_restarted";
    }
    if (resetReason !== undefined) {
      // No exact resume is possible: tell each channel, then continue live from here.
      resetAll(stream, resetReason, await store.head());
    } else if (cursor || request.from === "start") {
      const first = await store.read(stream.channels, cursor?.seq ?? 0);
      if (cursor && cursor.seq > first.head) {
        resetAll(stream, "unknown_cursor", first.head);
      } else {
        if (cursor) {
          stream.lastSeq = cursor.seq;
          for (const channel of first.expired) {
            write(stream, resetFrame(channel, "history_expired", formatCursor(cursor)));
          }
        }
        let result = first;
        for (;;) {
          await replay(stream, result.events);
          if (stream.closed || !stream.pendingOverflowed) break;
          stream.pending = [];
          stream.pendingOverflowed = false;
          result = await store.read(stream.channels, stream.lastSeq);
        }
      }
    } else {
      // Live from now: what the store announced before this stream opened is not its business,
      // even where it is still queued for this turn's flush.
      stream.lastSeq = announcedSeq;
    }
    const pending = stream.pending ?? [];
    stream.pending = undefined;
    if (stream.closed) return;
    for (const state of stream.states) {
      state.catchingUp.delete(stream);
      state.live.add(stream);
    }
    const delivered = writeEvents(stream, pending, undefined, undefined);
    if (delivered > 0) metrics.delivered.inc(delivered);
  }

  function resetAll(stream: HubStream, reason: StreamResetReason, head: number): void {
    stream.lastSeq = head;
    const id = formatCursor({ epoch: store.epoch, seq: head });
    for (const channel of stream.channels) write(stream, resetFrame(channel, reason, id));
  }

  async function replay(stream: HubStream, events: readonly StoredEvent[]): Promise<void> {
    let replayed = 0;
    const batch: Buffer[] = [];
    let batchBytes = 0;
    for (const event of events) {
      if (stream.closed) break;
      if (event.seq <= stream.lastSeq) continue;
      stream.lastSeq = event.seq;
      const frame = frameOf(event);
      batch.push(frame);
      batchBytes += frame.length;
      replayed++;
      if (batchBytes < REPLAY_WRITE_BYTES) continue;
      stream.sink.write(batch.length === 1 ? frame : Buffer.concat(batch, batchBytes));
      batch.length = 0;
      batchBytes = 0;
      if (stream.sink.bufferedBytes > limits.maxBufferedBytes) await stream.sink.drained();
    }
    if (batch.length > 0 && !stream.closed) {
      stream.sink.write(
        batch.length === 1 ? (batch[0] as Buffer) : Buffer.concat(batch, batchBytes),
      );
    }
    stream.active = true;
    metrics.replayed.inc(replayed);
  }

  const hub: Hub = {
    store,
    metrics,
    limits,
    channelKinds,

    async publish(channel, message) {
      const problem = channelProblem(channel, channelKinds);
      if (problem) throw new HeraldError("invalid_channel", problem);
      const check = checkPublishedMessage(message);
      if (!check.ok) throw new HeraldError("invalid_message", check.problem);
      const ts = now();
      let data: string;
      try {
        data = messageJson(message as object, channel, ts);
      } catch (cause) {
        // Cycles and nesting deep enough to overflow the stack cannot go on the wire.
        throw new HeraldError(
          "invalid_message",
          "the message cannot be serialised to JSON: it is cyclic or nested too deeply",
          { cause },
        );
      }
      // No UTF-16 unit takes more than 3 bytes of UTF-8: most messages need no counting.
      if (
        data.length * 3 > limits.maxMessageBytes &&
        Buffer.byteLength(data) > limits.maxMessageBytes
      ) {
        throw new HeraldError(
          "payload_too_large",
          `the message is ${Buffer.byteLength(data)} bytes of JSON; the limit is ${limits.maxMessageBytes}: send a reference to large data instead`,
        );
      }
      const event = await store.append(channel, data, ts);
      metrics.published.inc();
      return event.id;
    },

    checkChannels(channels) {
      if (channels.length === 0) {
        throw new HeraldError(
          "invalid_channel",
          "name at least one channel: /api/v1/events/{channel} or ?channel=…",
        );
      }
      if (channels.length > limits.maxChannelsPerStream) {
        throw new HeraldError(
          "too_many_channels",
          `a stream may carry at most ${limits.maxChannelsPerStream} channels, ${channels.length} were asked for`,
        );
      }
      for (const channel of channels) {
        const problem = channelProblem(channel, channelKinds);
        if (problem) throw new HeraldError("invalid_channel", problem);
      }
    },

    checkStream(request) {
      hub.checkChannels(request.channels);
      if ((streamsBySubject.get(request.subject) ?? 0) >= limits.maxStreamsPerSubject) {
        throw new HeraldError(
          "too_many_connections",
          `at most ${limits.maxStreamsPerSubject} streams may be open per user: close unused ones, or put more channels on one stream`,
        );
      }
    },

    reportError: onError,

    openStream(request, sink) {
      const channels = new Set(request.channels);
      const stream = new Stream(sink, request.subject);
      streams.add(stream);
      streamsBySubject.set(request.subject, (streamsBySubject.get(request.subject) ?? 0) + 1);
      metrics.openStreams.inc();
      metrics.subscriptions.inc(channels.size);
      // Registered before history is read, so an event published meanwhile is held in
      // `pending` rather than missed.
      for (const channel of channels) {
        let state = byChannel.get(channel);
        if (!state) {
          state = {
            name: channel,
            live: new Set(),
            catchingUp: new Set(),
            events: [],
            frames: [],
            flushEvents: [],
            flushFrames: [],
            joined: undefined,
            queued: false,
            flushed: 0,
            written: 0,
          };
          byChannel.set(channel, state);
        }
        state.catchingUp.add(stream);
        stream.states.push(state);
      }
      write(stream, opening);
      catchUp(stream, request).catch((error: unknown) => {
        // The store failed mid-replay: end the stream so the client reconnects and retries,
        // rather than leaving it open with a gap.
        closeStream(stream);
        sink.close();
        onError(
          new HeraldError("unavailable", "the event store failed while replaying history", {
            cause: error,
          }),
        );
      });
      return stream;
    },

    async close() {
      clearInterval(heartbeat);
      stopListening();
      for (const stream of [...streams]) {
        closeStream(stream);
        stream.sink.close();
      }
    },
  };
  return hub;
}
