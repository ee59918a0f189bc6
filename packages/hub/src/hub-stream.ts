/** One open stream of a hub: its outbound queue, its channels, and where it is in catching up. */
import type { ChannelState } from "./fan-out.ts";
import type { OpenStream, StreamSink } from "./hub.ts";
import { type OutboundContext, OutboundQueue } from "./outbound-queue.ts";
import type { StoredEvent } from "./store.ts";

export interface StreamHost extends OutboundContext {
  /** Unregisters a stream whose connection ended. */
  release(stream: HubStream): void;
}

export class HubStream extends OutboundQueue implements OpenStream {
  declare protected readonly context: StreamHost;
  readonly subject: string;
  /**
   * The state of each of its channels, kept alive by this stream's subscription. Made at its
   * exact length: pushed into, an array of one would hold room for 17.
   */
  readonly states: readonly ChannelState[];
  /** Live events that arrive while history is being read; `undefined` once live. */
  pending: StoredEvent[] | undefined = [];
  /** Live events were dropped from `pending`: read history again before going live. */
  pendingOverflowed = false;
  /** The flush that last met this stream (multi-channel streams only). */
  flush = 0;
  /** The one channel with events for it in that flush; `undefined` where several had. */
  flushChannel: ChannelState | undefined = undefined;
  /**
   * When it opened (`performance.now()`), for `maxStreamAgeMs`: in whole ms, rounded up so that
   * it never looks older than it is. A small integer is kept in the object itself; a fraction
   * would take a number object of its own (16 B per stream).
   */
  readonly openedAt = Math.ceil(performance.now());

  constructor(
    sink: StreamSink,
    host: StreamHost,
    subject: string,
    states: readonly ChannelState[],
  ) {
    super(sink, host);
    this.subject = subject;
    this.states = states;
  }

  /** Its channels, made from `states` (read only to replay and to close). */
  get channels(): string[] {
    return this.states.map((state) => state.name);
  }

  close(): void {
    this.context.release(this);
  }
}
