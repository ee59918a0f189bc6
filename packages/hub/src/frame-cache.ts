/**
 * The SSE frames of the latest events (PROTOCOL.md section 2): an event is encoded once,
 * whatever the number of streams it goes to, and the same bytes are written to each.
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
}

/** The frames of the latest events by seq, in two generations of FRAME_CACHE_EVENTS / 2. */
export class FrameCache {
  private frames = new Map<number, CachedFrame>();
  private olderFrames = new Map<number, CachedFrame>();

  frameOf(event: StoredEvent): Buffer {
    const cached = this.frames.get(event.seq) ?? this.olderFrames.get(event.seq);
    // The id too: a store that lost its history starts a new epoch, whose seqs may come again.
    if (cached?.id === event.id) return cached.frame;
    const frame = Buffer.from(encodeEventFrame(event.id, event.data));
    if (this.frames.size >= FRAME_CACHE_EVENTS / 2) {
      // The newer generation is full: it becomes the older one, and the older one is dropped.
      this.olderFrames = this.frames;
      this.frames = new Map();
    }
    this.frames.set(event.seq, { id: event.id, frame });
    return frame;
  }
}
