/**
 * The Hub: publish, subscribe, replay (PROTOCOL.md sections 2 to 6, 9). Transport-free: the
 * HTTP adapters hand it a `StreamSink` per open stream and it writes SSE frames into it.
 *
 * This file wires the parts, each in a file of its own:
 * - `frame-cache.ts`: an event is encoded to one frame once, whatever the number of streams;
 * - `fan-out.ts`: live events, per channel and per event-loop turn, one joined write per stream;
 * - `outbound-queue.ts`: one stream's writes, dedupe by seq, the slow-consumer rule, replay;
 * - `catch-up.ts`: resume, `from=start`, `stream_reset`, then live;
 * - `admission.ts`: the checks a stream passes before its first byte;
 * - `heartbeat.ts`: one timer for every stream's heartbeat;
 * - `rotation.ts`: one timer ending streams at their maximum age;
 * - `published-message.ts`: a publisher's message checked and made JSON.
 */
import {
  DEFAULT_CHANNEL_KINDS,
  encodeComment,
  encodePlannedEnd,
  encodeRetry,
  HeraldError,
  type PublishedMessage,
  type PublishedMessageOf,
} from "@herald/protocol";
import { Admission } from "./admission.ts";
import { catchUp } from "./catch-up.ts";
import { FanOut } from "./fan-out.ts";
import { FrameCache } from "./frame-cache.ts";
import { startHeartbeat } from "./heartbeat.ts";
import { HubStream, type StreamHost } from "./hub-stream.ts";
import { createHubMetrics, type HubMetrics } from "./metrics.ts";
import { publishedJson } from "./published-message.ts";
import { startRotation } from "./rotation.ts";
import type { EventStore, StoredEvent } from "./store.ts";

/** Where a hub writes one stream's bytes: a Node response, a Fetch body, a test double. */
export interface StreamSink {
  write(chunk: Uint8Array): void;
  /** Bytes written but not yet taken by the network. */
  readonly bufferedBytes: number;
  /** Resolves when the network has taken the unsent bytes, or the connection has ended. */
  drained(): Promise<void>;
  /** Ends the connection at once (used to drop a slow consumer). */
  close(): void;
  /**
   * Ends the connection once every byte written has gone (a planned end, `maxStreamAgeMs`);
   * where missing, `close()` is used.
   */
  end?(): void;
}

export interface HubLimits {
  /** Channels one stream may name (default 32). */
  maxChannelsPerStream?: number;
  /** Streams one token subject may hold open at once (default 64). */
  maxStreamsPerSubject?: number;
  /** Largest message a publisher may send, in bytes of JSON (default 64 KiB). */
  maxMessageBytes?: number;
  /** Largest body of a batch publish over HTTP (`POST {basePath}`), in bytes (default 1 MiB). */
  maxBatchBytes?: number;
  /** Most events one batch publish over HTTP may hold (default 1,000). */
  maxBatchEvents?: number;
  /**
   * A stream whose unsent bytes and what it keeps after conflation pass this is closed as a
   * slow consumer; it resumes from history when it reconnects (default 1 MiB).
   */
  maxBufferedBytes?: number;
  /**
   * Unsent bytes past which a stream is behind (default 4 KiB): from then on it has at most one
   * write out that the network has not taken, and a `render_progress` superseded meanwhile by
   * a newer one of the same task and channel is never written (see `outbound-queue.ts`).
   */
  behindBytes?: number;
}

export interface HubOptions {
  store: EventStore;
  limits?: HubLimits;
  /** A comment is sent on every stream this often while nothing else is (default 15 s). */
  heartbeatMs?: number;
  /** The reconnection delay streams tell EventSource to use (default 2 s). */
  retryMs?: number;
  /**
   * Ends each stream between this age and a second later, in ms, after a final `end` event
   * that tells the client to resume at once (docs/PROTOCOL.md, "Planned ends"): for platforms
   * that cut long responses (docs/DEPLOYMENT.md). Default: streams are never ended for age.
   */
  maxStreamAgeMs?: number;
  /**
   * Write coalescing, in ms (default 2; 0 turns it off): while the hub is busy (its last write
   * of live events ended less than this ago), live events wait for the next write at most this
   * long, and each stream gets all of them in one write. An idle hub writes at the end of the
   * event-loop turn, as with 0 (docs/BENCHMARKS.md, "write coalescing").
   */
  coalesceMs?: number;
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
  /**
   * Channels of the stream that replay all their history whatever the id, while the others
   * resume from it (or start live without one): a subscription added to a page's stream that
   * asks for its channel's past.
   */
  start?: readonly string[] | undefined;
  /** Who opens it, for the per-subject limit. */
  subject: string;
}

/** One event of a batch: `hub.publishMany`, and `POST {basePath}`'s `events`. */
export interface BatchEvent {
  channel: string;
  message: PublishedMessage;
}

/**
 * The event store failed partway through a batch: `ids` are those of the events stored before
 * the failure (`events[0]` up to `events[ids.length - 1]`); the event at `field`
 * (`events[ids.length]`) may have been stored (a Redis store that timed out may still have
 * appended it), the later ones were not.
 */
export class PartialPublishError extends HeraldError {
  readonly ids: readonly string[];

  constructor(ids: readonly string[], cause: unknown) {
    const at = ids.length;
    const before =
      at === 0
        ? "nothing was published before it"
        : `events[0] to events[${at - 1}] were published (their ids are in "ids")`;
    // A HeraldError's message is written for clients; any other may hold internals.
    const reason = cause instanceof HeraldError ? ` (${cause.message})` : "";
    super(
      cause instanceof HeraldError ? cause.code : "internal",
      `the event store failed at events[${at}]${reason}: ${before}; events[${at}] may have been published, the later ones were not: publish again from events[${at}]`,
      { cause, field: `events[${at}]` },
    );
    this.ids = ids;
  }
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
  /**
   * Publishes several events, in their order, and returns their ids in the same order. Every
   * event is checked before any is stored: one refused (its channel or its message) refuses the
   * batch with a HeraldError whose `field` names it (`events[3].message`), and nothing is
   * published. A store failing partway rejects with a `PartialPublishError`.
   */
  publishMany(events: readonly BatchEvent[]): Promise<string[]>;
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
  maxBatchBytes: 1024 * 1024,
  maxBatchEvents: 1000,
  maxBufferedBytes: 1024 * 1024,
  behindBytes: 4 * 1024,
};

/** See `HubOptions.coalesceMs`. */
export const DEFAULT_COALESCE_MS = 2;

/**
 * What a stream ends with when the hub ends it on purpose: a short reconnection delay for an
 * EventSource left to itself, and an `end` event (no id, so the last id stays the client's
 * cursor) that Herald's client answers with an immediate resume. Not 0: should the server be
 * gone by then, browsers retry at that interval without backing off.
 */
export const PLANNED_END_RETRY_MS = 250;
const PLANNED_END = Buffer.from(encodePlannedEnd(PLANNED_END_RETRY_MS, "max_age"));

export function createHub(options: HubOptions): Hub {
  const { store } = options;
  const { maxStreamAgeMs } = options;
  if (maxStreamAgeMs !== undefined && !(maxStreamAgeMs > 0)) {
    throw new RangeError(`maxStreamAgeMs must be a number of ms above 0, not ${maxStreamAgeMs}`);
  }
  const limits = { ...DEFAULT_LIMITS, ...options.limits };
  const channelKinds = options.channelKinds ?? DEFAULT_CHANNEL_KINDS;
  const now = options.now ?? Date.now;
  const metrics = createHubMetrics();
  const opening = Buffer.from(encodeRetry(options.retryMs ?? 2000) + encodeComment("ok"));
  const onError = options.onError ?? ((error: HeraldError) => process.emitWarning(error));
  const admission = new Admission(limits, channelKinds);
  const frames = new FrameCache();
  const coalesceMs = options.coalesceMs ?? DEFAULT_COALESCE_MS;
  if (!(coalesceMs >= 0 && coalesceMs <= 1000)) {
    throw new RangeError(`coalesceMs must be a number of ms from 0 to 1000, not ${coalesceMs}`);
  }
  const fanOut = new FanOut(frames, metrics, now, coalesceMs);
  const streams = new Set<HubStream>();

  function closeStream(stream: HubStream): void {
    if (stream.closed) return;
    stream.closeQueue();
    streams.delete(stream);
    fanOut.unsubscribe(stream);
    admission.closed(stream.subject);
    metrics.openStreams.dec();
    metrics.subscriptions.dec(stream.states.length);
  }

  const host: StreamHost = {
    limits,
    frames,
    metrics,
    drop(stream) {
      closeStream(stream as HubStream);
      stream.sink.close();
    },
    release: closeStream,
  };

  let headKnown = false;
  store.head().then(
    (head) => {
      if (head > fanOut.announcedSeq) fanOut.announcedSeq = head;
      headKnown = true;
    },
    (cause: unknown) =>
      onError(
        new HeraldError(
          "unavailable",
          "the event store did not tell its head: streams that start live get their opening cursor once it announces an event",
          { cause },
        ),
      ),
  );

  const catchUpContext = {
    store,
    metrics,
    now,
    announcedSeq: () => fanOut.announcedSeq,
    headKnown: () => headKnown,
    goLive: (stream: HubStream) => fanOut.goLive(stream),
  };

  const stopListening = store.onEvent(
    (event) => {
      // Seqs are announced in order: the latest one announced is the head.
      headKnown = true;
      fanOut.announce(event);
    },
    () => {
      // Events went by that this server's streams never got. Each client resumes from its last
      // id when its stream ends, and catches up from the channels' history, or is told what
      // history lost: closing every stream loses nothing, where keeping them open would.
      for (const stream of [...streams]) host.drop(stream);
    },
  );

  const stopHeartbeat = startHeartbeat(streams, options.heartbeatMs ?? 15_000);
  const stopRotation = maxStreamAgeMs
    ? startRotation(streams, maxStreamAgeMs, (stream) => {
        stream.finish(PLANNED_END);
        closeStream(stream);
        metrics.rotated.inc();
        if (stream.sink.end) stream.sink.end();
        else stream.sink.close();
      })
    : () => {};

  const hub: Hub = {
    store,
    metrics,
    limits,
    channelKinds,

    async publish(channel, message) {
      const ts = now();
      const data = publishedJson(channel, message, ts, channelKinds, limits.maxMessageBytes);
      const event = await store.append(channel, data, ts);
      metrics.published.inc();
      return event.id;
    },

    async publishMany(events) {
      // One clock reading for the batch: its events arrived together.
      const ts = now();
      const data = events.map(({ channel, message }, index) => {
        try {
          return publishedJson(channel, message, ts, channelKinds, limits.maxMessageBytes);
        } catch (error) {
          if (!(error instanceof HeraldError)) throw error;
          const field = `events[${index}].${error.code === "invalid_channel" ? "channel" : "message"}`;
          throw new HeraldError(error.code, `${field}: ${error.message}`, { cause: error, field });
        }
      });
      // One after another, each awaited: a store keeps a channel's order only between appends
      // that do not overlap (the Redis store may retry one in a new epoch).
      const ids: string[] = [];
      for (const [index, { channel }] of events.entries()) {
        let event: StoredEvent;
        try {
          event = await store.append(channel, data[index] as string, ts);
        } catch (cause) {
          throw new PartialPublishError(ids, cause);
        }
        metrics.published.inc();
        ids.push(event.id);
      }
      return ids;
    },

    checkChannels: (channels) => admission.checkChannels(channels),
    checkStream: (request) => admission.checkStream(request),
    reportError: onError,

    openStream(request, sink) {
      const states = [...new Set(request.channels)].map((channel) => fanOut.channel(channel));
      const stream = new HubStream(sink, host, request.subject, states);
      streams.add(stream);
      admission.opened(request.subject);
      metrics.openStreams.inc();
      metrics.subscriptions.inc(states.length);
      // Registered before history is read, so an event published meanwhile is held in
      // `pending` rather than missed.
      fanOut.subscribe(stream);
      stream.write(opening);
      catchUp(stream, request, catchUpContext).catch((error: unknown) => {
        // The store failed mid-replay: end the stream so the client reconnects and retries,
        // rather than leaving it open with a gap.
        host.drop(stream);
        onError(
          new HeraldError("unavailable", "the event store failed while replaying history", {
            cause: error,
          }),
        );
      });
      return stream;
    },

    async close() {
      stopHeartbeat();
      stopRotation();
      stopListening();
      for (const stream of [...streams]) host.drop(stream);
    },
  };
  return hub;
}
