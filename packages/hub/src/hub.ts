/**
 * The Hub: publish, subscribe, replay (PROTOCOL.md sections 2 to 6, 9). Transport-free: the
 * HTTP adapters hand it a `StreamSink` per open stream and it writes SSE frames into it.
 *
 * Hot path: an event is encoded to one frame once, whatever the number of subscribers, and is
 * looked up by its one channel, so nothing per event grows with the number of channels.
 */
import {
  channelProblem,
  checkPublishedMessage,
  DEFAULT_CHANNEL_KINDS,
  encodeComment,
  encodeEventFrame,
  encodeRetry,
  formatCursor,
  HeraldError,
  parseCursor,
  type StreamResetReason,
} from "@herald/protocol";
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
  /** Publishes a message on a channel and returns its event id. */
  publish(channel: string, message: unknown): Promise<string>;
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

interface HubStream {
  readonly sink: StreamSink;
  readonly channels: readonly string[];
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
  const byChannel = new Map<string, Set<HubStream>>();
  const streamsBySubject = new Map<string, number>();
  const frames = new WeakMap<StoredEvent, Buffer>();

  function frameOf(event: StoredEvent): Buffer {
    let frame = frames.get(event);
    if (!frame) {
      frame = Buffer.from(encodeEventFrame(event.id, event.data));
      frames.set(event, frame);
    }
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

  function writeEvent(stream: HubStream, event: StoredEvent, frame: Buffer): boolean {
    if (event.seq <= stream.lastSeq) return false;
    stream.lastSeq = event.seq;
    write(stream, frame);
    return true;
  }

  const stopListening = store.onEvent((event) => {
    const subscribers = byChannel.get(event.channel);
    if (!subscribers) return;
    const frame = frameOf(event);
    let delivered = 0;
    for (const stream of subscribers) {
      if (stream.pending) {
        if (stream.pending.length < MAX_PENDING) stream.pending.push(event);
        else stream.pendingOverflowed = true;
      } else if (writeEvent(stream, event, frame)) delivered++;
    }
    if (delivered > 0) {
      metrics.delivered.inc(delivered);
      metrics.publishToWrite.observe(Math.max(0, now() - event.ts) / 1000);
    }
  });

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
    for (const channel of stream.channels) {
      const subscribers = byChannel.get(channel);
      subscribers?.delete(stream);
      if (subscribers?.size === 0) byChannel.delete(channel);
    }
    const count = (streamsBySubject.get(stream.subject) ?? 1) - 1;
    if (count > 0) streamsBySubject.set(stream.subject, count);
    else streamsBySubject.delete(stream.subject);
    metrics.openStreams.dec();
    metrics.subscriptions.dec(stream.channels.length);
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
    }
    const pending = stream.pending ?? [];
    stream.pending = undefined;
    let delivered = 0;
    for (const event of pending) if (writeEvent(stream, event, frameOf(event))) delivered++;
    metrics.delivered.inc(delivered);
  }

  function resetAll(stream: HubStream, reason: StreamResetReason, head: number): void {
    stream.lastSeq = head;
    const id = formatCursor({ epoch: store.epoch, seq: head });
    for (const channel of stream.channels) write(stream, resetFrame(channel, reason, id));
  }

  async function replay(stream: HubStream, events: readonly StoredEvent[]): Promise<void> {
    let replayed = 0;
    for (const event of events) {
      if (stream.closed) break;
      if (event.seq <= stream.lastSeq) continue;
      stream.lastSeq = event.seq;
      stream.sink.write(frameOf(event));
      replayed++;
      if (stream.sink.bufferedBytes > limits.maxBufferedBytes) await stream.sink.drained();
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
      // The publisher's own object, not zod's copy: its fields keep their order on the wire.
      let data: string;
      try {
        data = JSON.stringify({ ...(message as object), channel, ts });
      } catch (cause) {
        // Cycles and nesting deep enough to overflow the stack cannot go on the wire.
        throw new HeraldError(
          "invalid_message",
          "the message cannot be serialised to JSON: it is cyclic or nested too deeply",
          { cause },
        );
      }
      if (Buffer.byteLength(data) > limits.maxMessageBytes) {
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
      const channels = [...new Set(request.channels)];
      const stream: HubStream = {
        sink,
        channels,
        subject: request.subject,
        lastSeq: 0,
        pending: [],
        pendingOverflowed: false,
        active: true,
        closed: false,
      };
      streams.add(stream);
      streamsBySubject.set(request.subject, (streamsBySubject.get(request.subject) ?? 0) + 1);
      metrics.openStreams.inc();
      metrics.subscriptions.inc(channels.length);
      // Registered before history is read, so an event published meanwhile is held in
      // `pending` rather than missed.
      for (const channel of channels) {
        let subscribers = byChannel.get(channel);
        if (!subscribers) {
          subscribers = new Set();
          byChannel.set(channel, subscribers);
        }
        subscribers.add(stream);
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
      return { close: () => closeStream(stream) };
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
