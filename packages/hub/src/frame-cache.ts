/**
 * The SSE frames of the latest events (PROTOCOL.md section 2): an event is encoded once,
 * whatever the number of streams it goes to, and the same bytes are written to each. Beside
 * each frame, once a stream that is behind asks for it, the event's conflation key.
 */
import { encodeEventFrame } from "@herald/protocol";
import type { StoredEvent } from "./store.ts";

/**
 * Frames kept: those of the latest events, which a reconnect storm replays to every stream.
 * Older ones are encoded again when replayed, rather than kept as long as their history: a
 * frame per stored event doubled what the history holds, and kept every frame alive long enough
 * to be promoted, for the garbage collector to copy and mark (docs/BENCHMARKS.md, generation).
 * A power of two: an event's place is its seq's low bits.
 */
export const FRAME_CACHE_EVENTS = 1024;

/**
 * The frames of the latest events, in a ring by seq: an event's place holds the last event
 * encoded with that seq modulo FRAME_CACHE_EVENTS. Parallel arrays, not a Map of entries: no
 * object and no hashing per event on the publish path.
 */
export class FrameCache {
  private readonly seqs: number[] = new Array(FRAME_CACHE_EVENTS).fill(0);
  /** The id too: a store that lost its history starts a new epoch, whose seqs may come again. */
  private readonly ids: string[] = new Array(FRAME_CACHE_EVENTS).fill("");
  private readonly frames: Buffer[] = new Array(FRAME_CACHE_EVENTS).fill(EMPTY);
  /** See `conflationKeyOf`; `undefined` until asked for, `null` for an event not conflated. */
  private readonly keys: Array<string | null | undefined> = new Array(FRAME_CACHE_EVENTS).fill(
    undefined,
  );

  frameOf(event: StoredEvent): Buffer {
    return this.frames[this.placeOf(event)] as Buffer;
  }

  /**
   * What makes an event superseded by a later one for a stream that is behind: its channel and
   * `object.taskId` for a `render_progress`; `undefined` for every other event, which is never
   * conflated. Read from the event's JSON only when a stream is behind (never on the fast path),
   * once per event: the events come as JSON from other servers too (the Redis store).
   */
  conflationKeyOf(event: StoredEvent): string | undefined {
    const place = this.placeOf(event);
    let key = this.keys[place];
    if (key === undefined) {
      key = progressKey(event);
      this.keys[place] = key;
    }
    return key ?? undefined;
  }

  /** The event's place in the ring, encoded there first unless it already is. */
  private placeOf(event: StoredEvent): number {
    const place = event.seq & (FRAME_CACHE_EVENTS - 1);
    if (this.seqs[place] !== event.seq || this.ids[place] !== event.id) {
      this.seqs[place] = event.seq;
      this.ids[place] = event.id;
      this.frames[place] = Buffer.from(encodeEventFrame(event.id, event.data));
      this.keys[place] = undefined;
    }
    return place;
  }
}

const EMPTY = Buffer.alloc(0);

function progressKey(event: StoredEvent): string | null {
  // Most events are no progress: they are told apart without parsing.
  if (!event.data.includes('"render_progress"')) return null;
  let message: unknown;
  try {
    message = JSON.parse(event.data);
  } catch {
    // Not JSON (a foreign publisher writing into a shared store): kept whole, never conflated.
    return null;
  }
  if (typeof message !== "object" || message === null) return null;
  const { type, object } = message as { type?: unknown; object?: unknown };
  if (type !== "render_progress" || typeof object !== "object" || object === null) return null;
  const { taskId } = object as { taskId?: unknown };
  return typeof taskId === "string" ? `${event.channel}\n${taskId}` : null;
}
