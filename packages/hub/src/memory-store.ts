import { formatCursor, newEpoch } from "@herald/protocol";
import { DEFAULT_HISTORY, type EventStore, type HistoryLimits, type StoredEvent } from "./store.ts";

export interface MemoryStoreOptions extends HistoryLimits {
  /** The clock, for tests. */
  now?: () => number;
  /** How often channels nobody publishes to are swept of expired events, in ms. */
  sweepIntervalMs?: number;
}

/** Numbers kept per event in `ChannelHistory.numbers`: seq, where its data starts, ts, at. */
const FIELDS = 4;
const SEQ = 0;
const START = 1;
const TS = 2;
const AT = 3;

/**
 * One channel's history, off the JavaScript heap: per event four numbers in a Float64Array
 * (its seq; where its data starts in `bytes`; the message's `ts`; `at`, when the store took it
 * by the store's clock, which expiry goes by) and its data as UTF-8 in one buffer, both used as
 * queues (a start index instead of `shift()`) and compacted when they run out of room.
 *
 * An event kept is then nothing the garbage collector copies or marks. As an object with its
 * strings (six heap objects per event), every event published was copied and marked by each
 * collection while the history grew, and those pauses made the tail of delivery latency
 * (docs/BENCHMARKS.md, generation). Events are made again as they are read.
 */
class ChannelHistory {
  numbers = new Float64Array(0);
  /** The first event kept, and one past the last, as indexes into `numbers` / FIELDS. */
  first = 0;
  end = 0;
  bytes: Buffer = Buffer.allocUnsafeSlow(0);
  /** Bytes written, from the start of `bytes`. */
  used = 0;
  /** The highest seq this channel has dropped from its history. */
  trimmedSeq = 0;

  get size(): number {
    return this.end - this.first;
  }

  private field(event: number, field: number): number {
    return this.numbers[event * FIELDS + field] as number;
  }

  push(seq: number, data: string, ts: number, at: number, limits: Required<HistoryLimits>): void {
    // UTF-8 takes at most 3 bytes per UTF-16 unit.
    const most = data.length * 3;
    if ((this.end + 1) * FIELDS > this.numbers.length || this.used + most > this.bytes.length) {
      this.makeRoom(most);
    }
    const at0 = this.end * FIELDS;
    this.numbers[at0 + SEQ] = seq;
    this.numbers[at0 + START] = this.used;
    this.numbers[at0 + TS] = ts;
    this.numbers[at0 + AT] = at;
    this.end++;
    this.used += this.bytes.write(data, this.used);
    if (this.size > limits.maxEvents) this.dropFirst(this.size - limits.maxEvents);
    this.expire(limits.maxAgeMs, at);
  }

  expire(maxAgeMs: number, now: number): void {
    const oldest = now - maxAgeMs;
    let count = 0;
    while (this.first + count < this.end && this.field(this.first + count, AT) <= oldest) count++;
    if (count > 0) this.dropFirst(count);
  }

  /** Events with `seq > afterSeq`, found by binary search. */
  after(afterSeq: number, channel: string, epoch: string): StoredEvent[] {
    let low = this.first;
    let high = this.end;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (this.field(mid, SEQ) <= afterSeq) low = mid + 1;
      else high = mid;
    }
    const events: StoredEvent[] = [];
    for (let i = low; i < this.end; i++) {
      const seq = this.field(i, SEQ);
      const dataEnd = i + 1 < this.end ? this.field(i + 1, START) : this.used;
      events.push({
        id: formatCursor({ epoch, seq }),
        seq,
        channel,
        data: this.bytes.toString("utf8", this.field(i, START), dataEnd),
        ts: this.field(i, TS),
      });
    }
    return events;
  }

  /**
   * Moves the kept events to the front, into arrays twice the size they need where they fill
   * more than half of the present ones (so pushes stay amortised O(1)), with room for one more
   * event of up to `moreBytes`.
   */
  private makeRoom(moreBytes: number): void {
    const kept = this.size;
    const firstByte = kept > 0 ? this.field(this.first, START) : this.used;
    const keptBytes = this.used - firstByte;
    const keptNumbers = this.numbers.subarray(this.first * FIELDS, this.end * FIELDS);
    if ((kept + 1) * 2 * FIELDS > this.numbers.length) {
      const numbers = new Float64Array(Math.max(16, (kept + 1) * 2) * FIELDS);
      numbers.set(keptNumbers);
      this.numbers = numbers;
    } else {
      this.numbers.copyWithin(0, this.first * FIELDS, this.end * FIELDS);
    }
    if ((keptBytes + moreBytes) * 2 > this.bytes.length) {
      const bytes = Buffer.allocUnsafeSlow(Math.max(512, (keptBytes + moreBytes) * 2));
      this.bytes.copy(bytes, 0, firstByte, this.used);
      this.bytes = bytes;
    } else {
      this.bytes.copy(this.bytes, 0, firstByte, this.used);
    }
    for (let i = 0; i < kept; i++) {
      this.numbers[i * FIELDS + START] = this.field(i, START) - firstByte;
    }
    this.first = 0;
    this.end = kept;
    this.used = keptBytes;
  }

  private dropFirst(count: number): void {
    this.first += count;
    this.trimmedSeq = this.field(this.first - 1, SEQ);
  }
}

/**
 * The embedded event store: history in this process's memory. A restart loses it, and gets a
 * new epoch, so clients resuming across the restart get `stream_reset` (`server_restarted`).
 */
export function createMemoryStore(options: MemoryStoreOptions = {}): EventStore {
  const limits: Required<HistoryLimits> = {
    maxEvents: options.maxEvents ?? DEFAULT_HISTORY.maxEvents,
    maxAgeMs: options.maxAgeMs ?? DEFAULT_HISTORY.maxAgeMs,
  };
  const now = options.now ?? Date.now;
  const epoch = newEpoch();
  const histories = new Map<string, ChannelHistory>();
  const listeners = new Set<(event: StoredEvent) => void>();
  let seq = 0;
  // Channels swept away entirely forget their own trimmedSeq; this remembers the highest.
  let forgottenSeq = 0;
  let closed = false;

  const sweep = setInterval(() => {
    const at = now();
    for (const [channel, history] of histories) {
      history.expire(limits.maxAgeMs, at);
      if (history.size === 0) {
        forgottenSeq = Math.max(forgottenSeq, history.trimmedSeq);
        histories.delete(channel);
      }
    }
  }, options.sweepIntervalMs ?? 60_000);
  sweep.unref();

  function assertOpen(): void {
    if (closed) throw new Error("the memory event store is closed");
  }

  return {
    epoch,
    async append(channel, data, ts) {
      assertOpen();
      seq += 1;
      const event: StoredEvent = { id: formatCursor({ epoch, seq }), seq, channel, data, ts };
      let history = histories.get(channel);
      if (!history) {
        history = new ChannelHistory();
        // This channel may have been swept before, taking its trimmedSeq with it; without this,
        // a reader from before the sweep would get the new events and never hear of the lost ones.
        history.trimmedSeq = forgottenSeq;
        histories.set(channel, history);
      }
      history.push(seq, data, ts, now(), limits);
      for (const listener of listeners) listener(event);
      return event;
    },
    async read(channels, afterSeq) {
      assertOpen();
      const at = now();
      const expired: string[] = [];
      const found: StoredEvent[][] = [];
      for (const channel of channels) {
        const history = histories.get(channel);
        if (!history) {
          if (forgottenSeq > afterSeq) expired.push(channel);
          continue;
        }
        history.expire(limits.maxAgeMs, at);
        if (history.trimmedSeq > afterSeq) expired.push(channel);
        const events = history.after(afterSeq, channel, epoch);
        if (events.length > 0) found.push(events);
      }
      const events =
        found.length === 1
          ? (found[0] as StoredEvent[])
          : found.flat().sort((a, b) => a.seq - b.seq);
      return { events, expired, head: seq };
    },
    async head() {
      return seq;
    },
    // Every event is delivered as it is appended, in this process: this store never has a gap.
    onEvent(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async check() {
      assertOpen();
    },
    async close() {
      closed = true;
      clearInterval(sweep);
      listeners.clear();
    },
  };
}
