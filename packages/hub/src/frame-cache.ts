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
 */
export const FRAME_CACHE_EVENTS = 1024;

interface CachedFrame {
  readonly id: string;
  readonly frame: Buffer;
  /** See `conflationKeyOf`; `undefined` until asked for, `null` for an event not conflated. */
  key: string | null | undefined;
}

/** The frames of the latest events by seq, in two generations of FRAME_CACHE_EVENTS / 2. */
export class FrameCache {
  private frames = new Map<number, CachedFrame>();
  private olderFrames = new Map<number, CachedFrame>();
  /** The highest seq encoded: an event above it (each new one) is encoded without lookups. */
  private newestSeq = 0;

  frameOf(event: StoredEvent): Buffer {
    return this.entryOf(event).frame;
  }

  /**
   * What makes an event superseded by a later one for a stream that is behind: its channel and
   * `object.taskId` for a `render_progress`; `undefined` for every other event, which is never
   * conflated. Read from the event's JSON only when a stream is behind (never on the fast path),
   * once per event: the events come as JSON from other servers too (the Redis store).
   */
  conflationKeyOf(event: StoredEvent): string | undefined {
    const entry = this.entryOf(event);
    if (entry.key === undefined) entry.key = progressKey(event);
    return entry.key ?? undefined;
  }

  private entryOf(event: StoredEvent): CachedFrame {
    if (event.seq <= this.newestSeq) {
      const cached = this.frames.get(event.seq) ?? this.olderFrames.get(event.seq);
      // The id too: a store that lost its history starts a new epoch, whose seqs may come again.
      if (cached?.id === event.id) return cached;
    } else {
      this.newestSeq = event.seq;
    }
    const entry: CachedFrame = {
      id: event.id,
      frame: Buffer.from(encodeEventFrame(event.id, event.data)),
      key: undefined,
    };
    if (this.frames.size >= FRAME_CACHE_EVENTS / 2) {
      // The newer generation is full: it becomes the older one, and the older one is dropped.
      this.olderFrames = this.frames;
      this.frames = new Map();
    }
    this.frames.set(event.seq, entry);
    return entry;
  }
}

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
