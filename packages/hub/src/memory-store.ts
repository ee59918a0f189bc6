import { formatCursor, newEpoch } from "@herald/protocol";
import { DEFAULT_HISTORY, type EventStore, type HistoryLimits, type StoredEvent } from "./store.ts";

export interface MemoryStoreOptions extends HistoryLimits {
  /** The clock, for tests. */
  now?: () => number;
  /** How often channels nobody publishes to are swept of expired events, in ms. */
  sweepIntervalMs?: number;
}

interface KeptEvent extends StoredEvent {
  readonly at: number;
}

/** One channel's history: an array used as a queue (a start index instead of `shift()`). */
class ChannelHistory {
  events: KeptEvent[] = [];
  start = 0;
  /** The highest seq this channel has dropped from its history. */
  trimmedSeq = 0;

  get size(): number {
    return this.events.length - this.start;
  }

  push(event: KeptEvent, limits: Required<HistoryLimits>, now: number): void {
    this.events.push(event);
    if (this.size > limits.maxEvents) this.dropFirst(this.size - limits.maxEvents);
    this.expire(limits.maxAgeMs, now);
  }

  expire(maxAgeMs: number, now: number): void {
    let count = 0;
    const oldest = now - maxAgeMs;
    while (
      this.start + count < this.events.length &&
      (this.events[this.start + count] as KeptEvent).at <= oldest
    ) {
      count++;
    }
    if (count > 0) this.dropFirst(count);
  }

  /** Events with `seq > afterSeq`, found by binary search. */
  after(afterSeq: number): KeptEvent[] {
    let low = this.start;
    let high = this.events.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if ((this.events[mid] as KeptEvent).seq <= afterSeq) low = mid + 1;
      else high = mid;
    }
    return this.events.slice(low);
  }

  private dropFirst(count: number): void {
    this.start += count;
    this.trimmedSeq = (this.events[this.start - 1] as KeptEvent).seq;
    // Compact once the dead prefix outweighs the live part, so pushes stay amortised O(1).
    if (this.start > 64 && this.start * 2 > this.events.length) {
      this.events = this.events.slice(this.start);
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
      const event: KeptEvent = {
        id: formatCursor({ epoch, seq }),
        seq,
        channel,
        data,
        ts,
        at: now(),
      };
      let history = histories.get(channel);
      if (!history) {
        history = new ChannelHistory();
        // This channel may have been swept before, taking its trimmedSeq with it; without this,
        // a reader from before the sweep would get the new events and never hear of the lost ones.
        history.trimmedSeq = forgottenSeq;
        histories.set(channel, history);
      }
      history.push(event, limits, event.at);
      for (const listener of listeners) listener(event);
      return event;
    },
    async read(channels, afterSeq) {
      assertOpen();
      const at = now();
      const expired: string[] = [];
      const found: KeptEvent[][] = [];
      for (const channel of channels) {
        const history = histories.get(channel);
        if (!history) {
          if (forgottenSeq > afterSeq) expired.push(channel);
          continue;
        }
        history.expire(limits.maxAgeMs, at);
        if (history.trimmedSeq > afterSeq) expired.push(channel);
        const events = history.after(afterSeq);
        if (events.length > 0) found.push(events);
      }
      const events =
        found.length === 1 ? (found[0] as KeptEvent[]) : found.flat().sort((a, b) => a.seq - b.seq);
      return { events, expired, head: seq };
    },
    async head() {
      return seq;
    },
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
