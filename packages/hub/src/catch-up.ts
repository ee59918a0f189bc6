/**
 * From a stream's request to live events, with no gap and no duplicate (PROTOCOL.md section 3):
 * a resume from the client's last id, a replay of all history (`from=start`) or of some
 * channels' (`start=`), a `stream_reset` where no exact resume is possible, or live from now.
 */
import {
  type Cursor,
  encodeCursorEvent,
  encodeEventFrame,
  formatCursor,
  parseCursor,
  type StreamResetReason,
} from "@herald/protocol";
import type { StreamRequest } from "./hub.ts";
import type { HubStream } from "./hub-stream.ts";
import type { HubMetrics } from "./metrics.ts";
import type { EventStore, StoredEvent } from "./store.ts";

export interface CatchUpContext {
  readonly store: EventStore;
  readonly metrics: HubMetrics;
  readonly now: () => number;
  /** The highest seq the store has announced (where a stream opened with no id starts). */
  announcedSeq(): number;
  /**
   * Whether `announcedSeq` is the store's head: known once the store has told its head or
   * announced an event. Until then a stream that starts live gets no opening cursor, since one
   * behind the head would replay old events on a resume.
   */
  headKnown(): boolean;
  /** Moves a stream from catching up to live on its channels. */
  goLive(stream: HubStream): void;
}

/**
 * Replays what the stream missed, then lets live events through. The stream is registered on
 * its channels before this runs, so an event published meanwhile waits in its `pending` rather
 * than being missed; if too many pile up there they are dropped and read again from history on
 * the next pass.
 */
export async function catchUp(
  stream: HubStream,
  request: StreamRequest,
  context: CatchUpContext,
): Promise<void> {
  const { store } = context;
  const cursor = request.lastEventId === undefined ? undefined : parseCursor(request.lastEventId);
  let resetReason: StreamResetReason | undefined;
  if (request.lastEventId !== undefined) {
    if (!cursor) resetReason = "unknown_cursor";
    else if (cursor.epoch !== store.epoch) resetReason = "server_restarted";
  }
  if (request.start && request.start.length > 0) {
    await catchUpFromStart(stream, new Set(request.start), cursor, resetReason, context);
  } else if (resetReason !== undefined) {
    // No exact resume is possible: tell each channel, then continue live from here.
    resetAll(stream, resetReason, await store.head(), context);
  } else if (cursor || request.from === "start") {
    const first = await store.read(stream.channels, cursor?.seq ?? 0);
    if (cursor && cursor.seq > first.head) {
      resetAll(stream, "unknown_cursor", first.head, context);
    } else {
      if (cursor) {
        stream.lastSeq = cursor.seq;
        for (const channel of first.expired) {
          stream.write(resetFrame(channel, "history_expired", formatCursor(cursor), context));
        }
      }
      let result = first;
      for (;;) {
        context.metrics.replayed.inc(await stream.replay(result.events));
        if (stream.closed || !stream.pendingOverflowed) break;
        stream.pending = [];
        stream.pendingOverflowed = false;
        result = await store.read(stream.channels, stream.lastSeq);
      }
    }
  } else {
    // Live from now: what the store announced before this stream opened is not its business,
    // even where it is still queued for this turn's flush.
    stream.lastSeq = context.announcedSeq();
    if (context.headKnown()) {
      const id = formatCursor({ epoch: store.epoch, seq: stream.lastSeq });
      stream.write(Buffer.from(encodeCursorEvent(id)));
    }
  }
  const pending = stream.pending ?? [];
  stream.pending = undefined;
  if (stream.closed) return;
  context.goLive(stream);
  const delivered = stream.send(pending, undefined, undefined);
  if (delivered > 0) context.metrics.delivered.inc(delivered);
}

/**
 * The `start` channels replay all their history, the others what follows the id (or, with
 * none, what follows this stream's opening), merged in seq order so that one monotonic seq
 * still drops every duplicate. The others' resets, where the id cannot be resumed, come after
 * the replay, at the head.
 */
async function catchUpFromStart(
  stream: HubStream,
  starting: ReadonlySet<string>,
  cursor: Cursor | undefined,
  resetReason: StreamResetReason | undefined,
  context: CatchUpContext,
): Promise<void> {
  const { store } = context;
  const others = stream.channels.filter((channel) => !starting.has(channel));
  const history = await store.read([...starting], 0);
  let reset: StreamResetReason | undefined = resetReason;
  let rest: readonly StoredEvent[] = [];
  if (others.length > 0 && reset === undefined) {
    const read = await store.read(others, cursor ? cursor.seq : context.announcedSeq());
    if (cursor && cursor.seq > read.head) reset = "unknown_cursor";
    else {
      rest = read.events;
      for (const channel of read.expired) {
        if (!cursor) continue;
        stream.write(resetFrame(channel, "history_expired", formatCursor(cursor), context));
      }
    }
  }
  const merged = [...history.events, ...rest].sort((a, b) => a.seq - b.seq);
  context.metrics.replayed.inc(await stream.replay(merged));
  if (reset !== undefined && others.length > 0) {
    const head = Math.max(stream.lastSeq, history.head);
    stream.lastSeq = head;
    const id = formatCursor({ epoch: store.epoch, seq: head });
    for (const channel of others) stream.write(resetFrame(channel, reset, id, context));
  }
  while (!stream.closed && stream.pendingOverflowed) {
    stream.pending = [];
    stream.pendingOverflowed = false;
    const again = await store.read(stream.channels, stream.lastSeq);
    context.metrics.replayed.inc(await stream.replay(again.events));
  }
}

function resetAll(
  stream: HubStream,
  reason: StreamResetReason,
  head: number,
  context: CatchUpContext,
): void {
  stream.lastSeq = head;
  const id = formatCursor({ epoch: context.store.epoch, seq: head });
  for (const channel of stream.channels) stream.write(resetFrame(channel, reason, id, context));
}

function resetFrame(
  channel: string,
  reason: StreamResetReason,
  id: string,
  context: CatchUpContext,
): Buffer {
  const data = JSON.stringify({
    type: "stream_reset",
    object: { reason },
    channel,
    ts: context.now(),
  });
  return Buffer.from(encodeEventFrame(id, data));
}
