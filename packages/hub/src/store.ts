/**
 * The event store: where events get their place in the one sequence of a store, where history
 * is kept for resume, and how events reach every server holding subscribers. The memory store
 * and the Redis store implement it and pass the same contract suite (`test/store-contract.ts`).
 */

export interface StoredEvent {
  /** The SSE id: `<epoch>-<seq>`. */
  readonly id: string;
  /** Position in the store's one sequence; later events have higher numbers. */
  readonly seq: number;
  readonly channel: string;
  /** The message as one line of JSON, `channel` and `ts` included. */
  readonly data: string;
  /** When it was published, ms since the epoch (the message's `ts`). */
  readonly ts: number;
}

export interface ReadResult {
  /** Every kept event of the channels after the given position, in sequence order. */
  readonly events: readonly StoredEvent[];
  /** Channels whose history lost events after the given position (trimmed by count or age). */
  readonly expired: readonly string[];
  /** The store's last sequence number when it was read. */
  readonly head: number;
}

export interface EventStore {
  /** Names this store's history; changes when the history is lost, making older ids foreign. */
  readonly epoch: string;
  /** Gives the event the next position, keeps it in the channel's history, and announces it. */
  append(channel: string, data: string, ts: number): Promise<StoredEvent>;
  /** Events of `channels` with `seq > afterSeq`; `afterSeq` 0 reads all the history kept. */
  read(channels: readonly string[], afterSeq: number): Promise<ReadResult>;
  /** The last sequence number given out. */
  head(): Promise<number>;
  /**
   * Calls `listener` for every event appended to this store by any server, in sequence order.
   * Calls `onGap`, if given, where the store finds it cannot deliver some events to its
   * listeners (the Redis store's log no longer held events its subscriber missed): the events
   * after `afterSeq` up to `untilSeq` went by unheard, though the channels' history may hold
   * them. Returns the function that stops both.
   */
  onEvent(
    listener: (event: StoredEvent) => void,
    onGap?: (afterSeq: number, untilSeq: number) => void,
  ): () => void;
  /** Resolves while the store answers; rejects with the reason otherwise (for `/readyz`). */
  check(): Promise<void>;
  close(): Promise<void>;
}

export interface HistoryLimits {
  /** Events kept per channel (default 1,000). */
  maxEvents?: number;
  /** How long an event is kept, in ms (default 24 hours). */
  maxAgeMs?: number;
}

export const DEFAULT_HISTORY = { maxEvents: 1000, maxAgeMs: 24 * 60 * 60 * 1000 } as const;
