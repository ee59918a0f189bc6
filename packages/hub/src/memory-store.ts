import { formatCursor, newEpoch } from "@herald/protocol";
import { HistoryBytes } from "./history-bytes.ts";
import { DEFAULT_HISTORY, type EventStore, type HistoryLimits, type StoredEvent } from "./store.ts";

export interface MemoryStoreOptions extends HistoryLimits {
  /**
   * Bytes of history kept in all, across channels: the events' data as UTF-8 (default 64 MiB).
   * Past it the oldest events of any channel are dropped, as if trimmed by count or age.
   */
  maxBytes?: number;
  /** The clock, for tests. */
  now?: () => number;
  /** How often channels nobody publishes to are swept of expired events, in ms. */
  sweepIntervalMs?: number;
}

export const DEFAULT_MAX_BYTES = 64 * 1024 * 1024;

/**
 * One channel's history, as parallel arrays of numbers used as queues (a start index instead of
 * `shift()`); the data itself is in the store's `HistoryBytes`, found by position and length.
 * Nothing here is an object per event: the numbers sit unboxed in their arrays, and the
 * garbage collector has nothing to copy or mark as the history grows (docs/BENCHMARKS.md,
 * generation). Events are made again as they are read.
 */
class ChannelHistory {
  seqs: number[] = [];
  /** Where the data is in the store's `HistoryBytes`, and its length in bytes. */
  positions: number[] = [];
  lengths: number[] = [];
  /** The message's `ts`. */
  ts: number[] = [];
  /** When the store took it, by the store's clock: what expiry goes by. */
  at: number[] = [];
  start = 0;
  /** The highest seq this channel has dropped from its history. */
  trimmedSeq = 0;

  get size(): number {
    return this.seqs.length - this.start;
  }

  /** The position of the oldest data kept, or undefined when nothing is. */
  get lowestPosition(): number | undefined {
    return this.size > 0 ? this.positions[this.start] : undefined;
  }

  push(
    seq: number,
    position: number,
    length: number,
    ts: number,
    at: number,
    limits: Required<HistoryLimits>,
    floor: number,
  ): void {
    this.seqs.push(seq);
    this.positions.push(position);
    this.lengths.push(length);
    this.ts.push(ts);
    this.at.push(at);
    if (this.size > limits.maxEvents) this.dropFirst(this.size - limits.maxEvents);
    this.expire(limits.maxAgeMs, at, floor);
  }

  /** Drops the events older than `maxAgeMs`, and those whose data is below the bytes' floor. */
  expire(maxAgeMs: number, now: number, floor: number): void {
    let count = 0;
    const oldest = now - maxAgeMs;
    while (
      this.start + count < this.at.length &&
      ((this.at[this.start + count] as number) <= oldest ||
        (this.positions[this.start + count] as number) < floor)
    ) {
      count++;
    }
    if (count > 0) this.dropFirst(count);
  }

  /** Events with `seq > afterSeq`, found by binary search. */
  after(afterSeq: number, channel: string, epoch: string, bytes: HistoryBytes): StoredEvent[] {
    let low = this.start;
    let high = this.seqs.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if ((this.seqs[mid] as number) <= afterSeq) low = mid + 1;
      else high = mid;
    }
    const events: StoredEvent[] = [];
    for (let i = low; i < this.seqs.length; i++) {
      const seq = this.seqs[i] as number;
      events.push({
        id: formatCursor({ epoch, seq }),
        seq,
        channel,
        data: bytes.get(this.positions[i] as number, this.lengths[i] as number),
        ts: this.ts[i] as number,
      });
    }
    return events;
  }

  private dropFirst(count: number): void {
    this.start += count;
    this.trimmedSeq = this.seqs[this.start - 1] as number;
    // Compact once the dead prefix outweighs the live part, so pushes stay amortised O(1).
    if (this.start > 64 && this.start * 2 > this.seqs.length) {
      this.seqs = this.seqs.slice(this.start);
      this.positions = this.positions.slice(this.start);
      this.lengths = this.lengths.slice(this.start);
      this.ts = this.ts.slice(this.start);
      this.at = this.at.slice(this.start);
      this.start = 0;
    }
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
  const bytes = new HistoryBytes(options.maxBytes ?? DEFAULT_MAX_BYTES);
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
    let lowestKept = bytes.written;
    for (const [channel, history] of histories) {
      history.expire(limits.maxAgeMs, at, bytes.floor);
      const lowest = history.lowestPosition;
      if (lowest === undefined) {
        forgottenSeq = Math.max(forgottenSeq, history.trimmedSeq);
        histories.delete(channel);
      } else if (lowest < lowestKept) {
        lowestKept = lowest;
      }
    }
    bytes.release(lowestKept);
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
      // formatCursor's form, without an object per event on the publish path.
      const event: StoredEvent = { id: `${epoch}-${seq}`, seq, channel, data, ts };
      let history = histories.get(channel);
      if (!history) {
        history = new ChannelHistory();
        // This channel may have been swept before, taking its trimmedSeq with it; without this,
        // a reader from before the sweep would get the new events and never hear of the lost ones.
        history.trimmedSeq = forgottenSeq;
        histories.set(channel, history);
      }
      const position = bytes.written;
      const length = bytes.put(data);
      history.push(seq, position, length, ts, now(), limits, bytes.floor);
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
        history.expire(limits.maxAgeMs, at, bytes.floor);
        if (history.trimmedSeq > afterSeq) expired.push(channel);
        const events = history.after(afterSeq, channel, epoch, bytes);
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
      histories.clear();
      bytes.release(Number.POSITIVE_INFINITY);
      listeners.clear();
    },
  };
}
