/**
 * The memory store's history data, as UTF-8 outside the heap: a ring of `capacity` bytes in
 * chunks, each allocated when the ring first reaches it. An event's data is written at the head
 * and found again by its position, a count of bytes written since the store began; once the head
 * has gone `capacity` bytes past a position, the bytes there are written over, and the events
 * that were there are dropped from their channels (`floor`).
 *
 * Why not strings on the heap: every event a history keeps outlives the young generation, so the
 * garbage collector copied each one twice and tracked each array slot pointing at it. On the
 * generation bench that was 6-7 % of the server's CPU (docs/BENCHMARKS.md). The ring's chunks
 * are allocated once and reused, so they do not grow V8's external memory as the history turns
 * over: a buffer per channel, grown as it filled, did, and made V8 run twice as many full
 * collections.
 */

/** A chunk's size; a smaller ring is one chunk of its own size. */
const CHUNK_BYTES = 1024 * 1024;

export class HistoryBytes {
  /** What the ring holds at most, whole chunks: `maxBytes` rounded up. */
  readonly capacity: number;
  private readonly chunkBytes: number;
  private readonly chunks: (Buffer | undefined)[];
  /** Bytes written since the store began: the position of the next data. */
  written = 0;

  /** `chunkBytes` is for tests, to cross chunks with little data. */
  constructor(maxBytes: number, chunkBytes = CHUNK_BYTES) {
    if (!(Number.isSafeInteger(maxBytes) && maxBytes > 0)) {
      throw new RangeError(`maxBytes must be a whole number of bytes above 0, not ${maxBytes}`);
    }
    this.chunkBytes = Math.min(chunkBytes, maxBytes);
    const count = Math.ceil(maxBytes / this.chunkBytes);
    this.capacity = count * this.chunkBytes;
    this.chunks = new Array<Buffer | undefined>(count).fill(undefined);
  }

  /** The lowest position still held: the data before it has been written over. */
  get floor(): number {
    return this.written - this.capacity;
  }

  /**
   * Writes `data` at the head, which moves past it, and returns its length in bytes. Data longer
   * than the whole ring is not written, and is below the floor at once.
   */
  put(data: string): number {
    const offset = this.written % this.chunkBytes;
    const room = this.chunkBytes - offset;
    // No UTF-16 unit takes more than 3 bytes of UTF-8: most data needs no counting.
    const fits = data.length * 3 <= room || Buffer.byteLength(data) <= room;
    let length: number;
    if (fits) {
      length = this.chunkAt(this.written, true).write(data, offset);
    } else {
      // Across the end of a chunk: the rare way, through a copy.
      const bytes = Buffer.from(data);
      length = bytes.byteLength;
      if (length <= this.capacity) this.copy(bytes, this.written, "in");
    }
    this.written += length;
    return length;
  }

  /** The data written at `position`, `length` bytes long; it must be above the floor. */
  get(position: number, length: number): string {
    if (position < this.floor) throw new RangeError(`position ${position} is written over`);
    const offset = position % this.chunkBytes;
    if (offset + length <= this.chunkBytes) {
      return this.chunkAt(position, false).toString("utf8", offset, offset + length);
    }
    const bytes = Buffer.allocUnsafe(length);
    this.copy(bytes, position, "out");
    return bytes.toString("utf8");
  }

  /**
   * Gives back the chunks holding nothing at or after `lowestKept`, the lowest position any
   * channel still keeps: after a quiet spell the ring lets go of the memory it no longer needs.
   */
  release(lowestKept: number): void {
    const count = this.chunks.length;
    const head = Math.floor(this.written / this.chunkBytes);
    for (let slot = 0; slot < count; slot++) {
      // The latest chunk this slot held, counted from the store's beginning.
      const chunk = head - ((((head - slot) % count) + count) % count);
      if ((chunk + 1) * this.chunkBytes <= lowestKept) this.chunks[slot] = undefined;
    }
  }

  private chunkAt(position: number, allocate: boolean): Buffer {
    const slot = Math.floor(position / this.chunkBytes) % this.chunks.length;
    let chunk = this.chunks[slot];
    if (!chunk) {
      if (!allocate) throw new Error(`the history chunk of position ${position} was given back`);
      // Not from Node's shared pool, and not zeroed: every byte read back was written first.
      chunk = Buffer.allocUnsafeSlow(this.chunkBytes);
      this.chunks[slot] = chunk;
    }
    return chunk;
  }

  /** Copies `bytes` into the ring from `position` ("in"), or out of it into `bytes` ("out"). */
  private copy(bytes: Buffer, position: number, direction: "in" | "out"): void {
    let done = 0;
    while (done < bytes.byteLength) {
      const at = position + done;
      const offset = at % this.chunkBytes;
      const chunk = this.chunkAt(at, direction === "in");
      const piece = Math.min(this.chunkBytes - offset, bytes.byteLength - done);
      if (direction === "in") bytes.copy(chunk, offset, done, done + piece);
      else chunk.copy(bytes, done, offset, offset + piece);
      done += piece;
    }
  }
}
