/**
 * One stream for every tab of a browser. Tabs of one origin with the same hub and credentials
 * elect a leader with Web Locks: the tab holding the lock runs the only EventSource (an ordinary
 * stream client, `events-client.ts`) over the union of every tab's channels, and passes each
 * event and each change of connection state to the others over a BroadcastChannel. The others
 * queue on the lock, so when the leader's tab closes or crashes the browser hands the lock to
 * the next one at once, and that tab opens the stream from the last id it received.
 *
 * What makes the hand-over lose nothing and repeat nothing:
 * - every tab receives every event of the shared stream (not only its channels'), so every tab
 *   holds the stream's cursor, and a new leader resumes from what it last received;
 * - each tab drops an event its cursor already covers (PROTOCOL.md section 3), as a client
 *   drops duplicates after any resume;
 * - every tab knows the union of channels (the leader announces it), so the new leader's first
 *   stream already covers every tab's channels from that cursor, leaving no channel a gap.
 *
 * A tab holds a lock of its own for its life: the leader queues on it, and the browser grants
 * it once that tab is gone, closed or crashed, so its channels leave the union.
 */
import { type Cursor, DEFAULT_CHANNEL_KINDS, type Message, parseCursor } from "@herald/protocol";
import {
  type ConnectionError,
  type ConnectionState,
  type ConnectionStatus,
  createConnectionStore,
} from "./connection-state.ts";
import { describeError, HeraldClientError } from "./errors.ts";
import type {
  EventsClient,
  EventsClientOptions,
  MessageHandler,
  SubscribeOptions,
} from "./events-client.ts";
import {
  addSubscription,
  alreadySeen,
  createReporter,
  dispatchMessage,
  newSubscription,
  removeSubscription,
  type Subscription,
  type SubscriptionsByChannel,
} from "./subscriptions.ts";

/** What sharing needs of the browser: `BroadcastChannel` and `navigator.locks`, or test doubles. */
export interface SharingEnvironment {
  openChannel(name: string): BroadcastChannelLike;
  locks: LockManagerLike;
}

export interface BroadcastChannelLike {
  postMessage(message: unknown): void;
  onmessage: ((event: MessageEvent) => unknown) | null;
  close(): void;
}

export interface LockManagerLike {
  request(
    name: string,
    options: { signal?: AbortSignal },
    callback: () => Promise<void>,
  ): Promise<unknown>;
}

export interface Sharing {
  /** Names the BroadcastChannel and the leader's lock: tabs share only with the same name. */
  name: string;
  environment: SharingEnvironment;
}

/** A client that holds the EventSource itself (the leader's), resuming from `resumeFrom`. */
export type StreamClientFactory = (
  options: EventsClientOptions,
  resumeFrom: string | undefined,
) => EventsClient;

/**
 * Whether, and under what name, `options` share a stream with other tabs. Tabs share only
 * what they could hold alike: the same hub URL and the same credentials. Cookies are the same
 * in every tab of a profile; a `token` or `headers` function is not something a tab can compare
 * with another's (its value may come later, asynchronously, and tokens of two users may look
 * alike until read), so with those sharing takes a `key` naming whose credentials they are.
 */
export function sharingFor(
  options: EventsClientOptions,
  environment: SharingEnvironment | undefined = browserEnvironment(),
): Sharing | undefined {
  const share = options.share;
  if (share === false || !environment) return undefined;
  const key = typeof share === "object" ? share.key : undefined;
  // Whose credentials a token or headers function stands for, only the page can say.
  if ((options.token !== undefined || options.headers !== undefined) && key === undefined) {
    return undefined;
  }
  // An EventSource of the page's own (a polyfill, a test double) shares only when asked to.
  if (share === undefined && options.EventSource) return undefined;
  const page = typeof location === "undefined" ? undefined : location.href;
  let hub: string;
  try {
    const base = (options.baseUrl ?? "").replace(/\/+$/, "");
    hub = new URL(`${base}${options.path ?? DEFAULT_EVENTS_PATH}`, page).href;
  } catch {
    // The stream client refuses this baseUrl with a clear error when it first opens.
    return undefined;
  }
  const credentials = key === undefined ? "cookies" : `key:${key}`;
  const name = `herald-events ${hub} ${credentials}${options.withCredentials ? " +credentials" : ""}`;
  return { name, environment };
}

function browserEnvironment(): SharingEnvironment | undefined {
  const locks = (globalThis as { navigator?: { locks?: LockManagerLike } }).navigator?.locks;
  const Channel = (globalThis as { BroadcastChannel?: new (name: string) => BroadcastChannelLike })
    .BroadcastChannel;
  if (typeof locks?.request !== "function" || typeof Channel !== "function") return undefined;
  if (typeof document === "undefined") return undefined;
  return { locks, openChannel: (name) => new Channel(name) };
}

/** The connection state tabs pass around: the shared stream's, without its cursor. */
interface SharedState {
  status: ConnectionStatus;
  attempts: number;
  lastError?: ConnectionError | undefined;
}

/** What tabs say to each other on the BroadcastChannel. */
type TabMessage =
  /**
   * A tab's channels, all of them, after every change (and when a new leader asks), and its
   * new `from: "start"` subscriptions, once each.
   */
  | {
      kind: "channels";
      tab: string;
      channels: string[];
      history: HistoryRequest[];
      /** `from: "start"` subscriptions of the tab that ended. */
      ended: number[];
    }
  /** The leader: an event of a channel's past, for one `from: "start"` subscription of a tab. */
  | { kind: "replayed"; tab: string; ref: number; id: string | undefined; message: Message }
  /** The leader: every tab's channels, as it holds them. */
  | { kind: "union"; tabs: [string, string[]][] }
  /** The leader: an event of the shared stream. */
  | { kind: "event"; id: string | undefined; message: Message }
  /** The leader: the shared stream's state changed. */
  | { kind: "state"; state: SharedState; lastEventId: string | undefined }
  /** A new leader: tabs announce their channels again. */
  | { kind: "leader"; tab: string }
  /** A tab's `reconnect()`, for the leader to carry out. */
  | { kind: "reconnect" };

interface HistoryRequest {
  ref: number;
  channel: string;
}

/** A `from: "start"` subscription of this tab: the seqs it got, so neither path repeats one. */
interface HistorySubscription {
  readonly subscription: Subscription;
  readonly seen: Set<number>;
}

/** Seqs a `from: "start"` subscription remembers: more than a channel's default history keeps. */
const HISTORY_SEEN_MAX = 2048;

interface Leadership {
  readonly stream: EventsClient;
  /** The stream's subscription of each channel in the union. */
  readonly held: Map<string, () => void>;
  /** Tabs whose lock the leader waits on, to learn when they are gone. */
  readonly watched: Set<string>;
  /** The stream's `from: "start"` subscriptions for tabs, by tab and the tab's ref. */
  readonly histories: Map<string, Map<number, () => void>>;
  /** Releases the leader's lock: the next tab takes over. */
  readonly resign: () => void;
  shared: SharedState | undefined;
}

export function createSharedEventsClient(
  options: EventsClientOptions,
  sharing: Sharing,
  createStreamClient: StreamClientFactory,
): EventsClient {
  const { name, environment } = sharing;
  const tab = randomTabId();
  const report = createReporter(options.onError);
  const store = createConnectionStore((error) =>
    report(
      new HeraldClientError(
        "handler_failed",
        `a connection state listener threw: ${describeError(error)}`,
        { cause: error },
      ),
    ),
  );
  const channelKinds = options.channelKinds;
  const byChannel: SubscriptionsByChannel = new Map();
  /** Every other tab's channels, as the leader last announced them (or as this leader holds them). */
  const union = new Map<string, string[]>();
  const stopped = new AbortController();
  let bus: BroadcastChannelLike | undefined;
  let cursor: Cursor | undefined;
  let lastEventId: string | undefined;
  let leadership: Leadership | undefined;
  let announceQueued = false;
  let closed = false;
  /** Set once this tab holds its own lock: until then no tab hears of it (see `join`). */
  let releaseTabLock: (() => void) | undefined;
  /** The tab that last led: when this one is granted the lock, that one has gone. */
  let leaderTab: string | undefined;
  /** This tab's `from: "start"` subscriptions, and those not yet asked of the leader. */
  const histories = new Map<number, HistorySubscription>();
  let unsentHistory: HistoryRequest[] = [];
  let endedHistory: number[] = [];
  let nextRef = 0;

  /**
   * Takes part from the first subscription on (or `reconnect()`): a client made and never
   * used (a render React threw away, say) neither listens nor queues for the lock.
   */
  function join(): void {
    if (bus) return;
    bus = environment.openChannel(name);
    bus.onmessage = (event) => {
      if (!closed) hear(event.data as TabMessage);
    };
    // This tab's own lock, held until it closes: the leader learns of its end by being granted
    // it. The tab speaks only once it holds it, or a leader asking for it first would think the
    // tab gone.
    request(
      `${name} tab ${tab}`,
      () =>
        new Promise<void>((resolve) => {
          releaseTabLock = resolve;
          if (!closed) announce();
        }),
    );
    // The leader's lock: granted at once to the first tab, later to the next in the queue.
    request(name, () => new Promise<void>((resign) => lead(resign)));
  }

  function request(lockName: string, callback: () => Promise<void>): void {
    environment.locks.request(lockName, { signal: stopped.signal }, callback).then(
      () => {},
      (error: unknown) => {
        // Aborted by close(): the tab left the queue, as it meant to.
        if (stopped.signal.aborted) return;
        report(
          new HeraldClientError(
            "invalid_options",
            `could not take part in sharing the stream between tabs (${describeError(error)}); pass share: false to hold a stream of this tab's own`,
            { cause: error },
          ),
        );
      },
    );
  }

  function post(message: TabMessage): void {
    bus?.postMessage(message);
  }

  function hear(message: TabMessage): void {
    switch (message.kind) {
      case "event":
        if (!leadership) receive(message.message, message.id);
        return;
      case "replayed":
        if (message.tab === tab && !leadership) replayed(message.ref, message.message, message.id);
        return;
      case "state":
        if (leadership) return;
        catchUpCursor(message.lastEventId);
        applyState(message.state);
        return;
      case "channels":
        if (message.tab === tab) return;
        if (message.channels.length > 0) union.set(message.tab, message.channels);
        else union.delete(message.tab);
        if (leadership) {
          watch(leadership, message.tab);
          askHistory(leadership, message.tab, message.history, message.ended);
          followUnion(leadership);
          // A tab that has just come hears what state the stream is in, and its cursor,
          // so that it can resume the stream from there should it lead one day.
          if (leadership.shared) post({ kind: "state", state: leadership.shared, lastEventId });
        }
        return;
      case "union":
        if (leadership) return;
        union.clear();
        for (const [other, channels] of message.tabs) if (other !== tab) union.set(other, channels);
        return;
      case "leader":
        leaderTab = message.tab;
        if (!leadership) {
          askHistoryAgain();
          announce();
        }
        return;
      case "reconnect":
        leadership?.stream.reconnect();
        return;
    }
  }

  function lead(resign: () => void): void {
    if (closed) {
      resign();
      return;
    }
    if (leaderTab !== undefined) union.delete(leaderTab);
    leaderTab = tab;
    const stream = createStreamClient({ ...options, share: false, onError: report }, lastEventId);
    const current: Leadership = {
      stream,
      held: new Map(),
      watched: new Set(),
      histories: new Map(),
      resign,
      shared: undefined,
    };
    leadership = current;
    stream.connection.subscribe((state) => shareState(current, state));
    for (const other of union.keys()) watch(current, other);
    post({ kind: "leader", tab });
    askHistoryAgain();
    announce();
    shareState(current, stream.connection.getSnapshot());
  }

  /** The leader waits on a tab's own lock: granted, the tab is gone and so are its channels. */
  function watch(current: Leadership, other: string): void {
    if (current.watched.has(other)) return;
    current.watched.add(other);
    request(`${name} tab ${other}`, async () => {
      current.watched.delete(other);
      for (const unsubscribe of current.histories.get(other)?.values() ?? []) unsubscribe();
      current.histories.delete(other);
      if (leadership !== current || !union.delete(other)) return;
      followUnion(current);
    });
  }

  /** The leader's stream follows the union of every tab's channels; changes of one tick re-open once. */
  function followUnion(current: Leadership): void {
    const wanted = new Set(byChannel.keys());
    for (const channels of union.values()) for (const channel of channels) wanted.add(channel);
    for (const [channel, unsubscribe] of current.held) {
      if (wanted.has(channel)) continue;
      unsubscribe();
      current.held.delete(channel);
    }
    for (const channel of wanted) {
      if (current.held.has(channel)) continue;
      current.held.set(
        channel,
        current.stream.subscribe(channel, (message, meta) => {
          if (leadership !== current) return;
          post({ kind: "event", id: meta.id, message });
          receive(message, meta.id);
        }),
      );
    }
    post({ kind: "union", tabs: [...union.entries(), [tab, [...byChannel.keys()]]] });
  }

  /**
   * A tab's `from: "start"` subscriptions become the stream's own, whose replayed events go to
   * that tab alone; their live events reach it with every other event.
   */
  function askHistory(
    current: Leadership,
    from: string,
    requests: readonly HistoryRequest[],
    ended: readonly number[],
  ): void {
    const held = current.histories.get(from) ?? new Map<number, () => void>();
    current.histories.set(from, held);
    for (const ref of ended) {
      held.get(ref)?.();
      held.delete(ref);
    }
    for (const { ref, channel } of requests) {
      const unsubscribe = current.stream.subscribe(
        channel,
        (message, meta) => {
          if (!meta.replayed || leadership !== current) return;
          if (from === tab) replayed(ref, message, meta.id);
          else post({ kind: "replayed", tab: from, ref, id: meta.id, message });
        },
        { from: "start" },
      );
      held.set(ref, unsubscribe);
    }
  }

  /**
   * A new leader has none of this tab's `from: "start"` subscriptions: they ask again, in case
   * the hand-over cut a replay short; what they had already is dropped by seq.
   */
  function askHistoryAgain(): void {
    unsentHistory = [...histories].map(([ref, history]) => ({
      ref,
      channel: history.subscription.channel,
    }));
    endedHistory = [];
  }

  function replayed(ref: number, message: Message, id: string | undefined): void {
    const history = histories.get(ref);
    if (!history?.subscription.active || !firstTime(history, id)) return;
    dispatchMessage(new Set([history.subscription]), message, false, id, report, true);
  }

  /** Whether a `from: "start"` subscription gets `id` for the first time (by either path). */
  function firstTime(history: HistorySubscription, id: string | undefined): boolean {
    const seq = parseCursor(id)?.seq;
    if (seq === undefined) return true;
    if (history.seen.has(seq)) return false;
    history.seen.add(seq);
    if (history.seen.size > HISTORY_SEEN_MAX) {
      const oldest = history.seen.values().next().value;
      if (oldest !== undefined) history.seen.delete(oldest);
    }
    return true;
  }

  function shareState(current: Leadership, state: ConnectionState): void {
    if (leadership !== current) return;
    const shared: SharedState = { status: state.status, attempts: state.attempts };
    if (state.lastError) shared.lastError = state.lastError;
    const last = current.shared;
    if (
      last &&
      last.status === shared.status &&
      last.attempts === shared.attempts &&
      last.lastError === shared.lastError
    ) {
      return;
    }
    current.shared = shared;
    post({ kind: "state", state: shared, lastEventId });
    applyState(shared);
  }

  /** The stream's cursor, for a tab that has received nothing yet (or less than that). */
  function catchUpCursor(id: string | undefined): void {
    const position = parseCursor(id);
    if (!position || alreadySeen(position, cursor)) return;
    if (cursor && cursor.epoch !== position.epoch) return;
    cursor = position;
    lastEventId = id;
  }

  function applyState(state: SharedState): void {
    // An idle stream forgets its cursor; so do the tabs, as an unshared client would.
    if (state.status === "idle") {
      cursor = undefined;
      lastEventId = undefined;
    }
    store.update({
      status: state.status,
      attempts: state.attempts,
      lastError: state.lastError,
      lastEventId,
    });
  }

  function receive(message: Message, id: string | undefined): void {
    const isReset = message.type === "stream_reset";
    const position = parseCursor(id);
    if (!isReset && alreadySeen(position, cursor)) return;
    if (id !== undefined) {
      cursor = position;
      lastEventId = id;
      store.update({ lastEventId: id });
    }
    let subscriptions = byChannel.get(message.channel);
    if (subscriptions && histories.size > 0) {
      // A `from: "start"` subscription may have had this event replayed already.
      subscriptions = new Set(
        [...subscriptions].filter((subscription) => {
          const history = historyOf(subscription);
          return !history || isReset || firstTime(history, id);
        }),
      );
    }
    dispatchMessage(subscriptions, message, isReset, id, report);
  }

  function historyOf(subscription: Subscription): HistorySubscription | undefined {
    for (const history of histories.values()) {
      if (history.subscription === subscription) return history;
    }
    return undefined;
  }

  /** This tab's channels go to the leader once per tick, however many hooks changed. */
  function queueAnnounce(): void {
    if (announceQueued) return;
    announceQueued = true;
    queueMicrotask(() => {
      announceQueued = false;
      if (!closed) announce();
    });
  }

  function announce(): void {
    if (!releaseTabLock && !leadership) return;
    const history = unsentHistory;
    const ended = endedHistory;
    unsentHistory = [];
    endedHistory = [];
    if (leadership) {
      askHistory(leadership, tab, history, ended);
      followUnion(leadership);
    } else {
      post({ kind: "channels", tab, channels: [...byChannel.keys()], history, ended });
    }
  }

  function subscribe(
    channel: string,
    handler: MessageHandler,
    subscribeOptions: SubscribeOptions = {},
  ): () => void {
    const subscription = newSubscription(
      channel,
      handler,
      subscribeOptions,
      closed,
      channelKinds ?? DEFAULT_CHANNEL_KINDS,
    );
    join();
    if (addSubscription(byChannel, subscription)) queueAnnounce();
    const ref = nextRef++;
    if (subscription.history) {
      histories.set(ref, { subscription, seen: new Set() });
      unsentHistory.push({ ref, channel });
      queueAnnounce();
    }
    return () => {
      if (!subscription.active) return;
      if (histories.delete(ref)) {
        endedHistory.push(ref);
        queueAnnounce();
      }
      if (removeSubscription(byChannel, subscription)) queueAnnounce();
    };
  }

  function reconnect(): void {
    if (closed) {
      throw new HeraldClientError(
        "client_closed",
        "this events client was closed: it cannot reconnect",
      );
    }
    join();
    if (leadership) leadership.stream.reconnect();
    else post({ kind: "reconnect" });
  }

  function close(): void {
    if (closed) return;
    for (const subscriptions of byChannel.values()) {
      for (const subscription of subscriptions) subscription.active = false;
    }
    byChannel.clear();
    const current = leadership;
    if (current) {
      // The next tab takes over from the union it was told, without this tab's channels.
      followUnion(current);
      leadership = undefined;
      current.stream.close();
      current.resign();
    } else {
      post({ kind: "channels", tab, channels: [], history: [], ended: [] });
    }
    closed = true;
    releaseTabLock?.();
    stopped.abort();
    if (bus) {
      bus.onmessage = null;
      bus.close();
    }
    store.update({ status: "closed" });
  }

  return {
    subscribe,
    connection: { getSnapshot: store.getSnapshot, subscribe: store.subscribe },
    reconnect,
    close,
  };
}

/** `events-client.ts`'s DEFAULT_PATH, here too so that neither module needs the other at load. */
const DEFAULT_EVENTS_PATH = "/api/v1/events";

function randomTabId(): string {
  const bytes = new Uint8Array(9);
  globalThis.crypto.getRandomValues(bytes);
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}
