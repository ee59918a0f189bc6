/**
 * `createEventsClient`: every subscription of a page over one multiplexed EventSource
 * (PROTOCOL.md sections 2 and 3), with resume from the last cursor, duplicates dropped,
 * reconnection with backoff and an observable connection state.
 *
 * Who reconnects: while the EventSource retries by itself (a dropped connection, readyState
 * CONNECTING) it is left to do so, sending `Last-Event-ID` itself. Once it gives up for good
 * (readyState CLOSED: an HTTP refusal) this client learns the status and decides: refresh
 * credentials on 401, stop on 400/403/404, else back off and open a new EventSource that
 * resumes through the `lastEventId` query parameter. A stream the hub ends on purpose (its
 * `end` event, docs/PROTOCOL.md "Planned ends") is resumed at once, with no backoff and no
 * change of connection state.
 */
import {
  CURSOR_EVENT,
  type Cursor,
  DEFAULT_CHANNEL_KINDS,
  type Message,
  PLANNED_END_EVENT,
  parseCursor,
} from "@herald/protocol";
import {
  type BackoffOptions,
  backoffDelay,
  type ResolvedBackoff,
  resolveBackoff,
} from "./backoff.ts";
import {
  type ConnectionError,
  type ConnectionStore,
  createConnectionStore,
} from "./connection-state.ts";
import {
  describeError,
  failureFromResponse,
  HeraldClientError,
  type StreamFailure,
} from "./errors.ts";
import {
  CLOSED,
  chooseEventSource,
  createSourceFetch,
  type EventSourceConstructor,
  type EventSourceInitLike,
  type EventSourceLike,
  errorEventDetails,
  type HeadersProvider,
  probeStream,
} from "./event-source.ts";
import { createSharedEventsClient, sharingFor } from "./shared-stream.ts";
import { buildStreamUrl, streamChannels } from "./stream-url.ts";
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

export interface EventsClientOptions {
  /** Origin of the hub, for example `https://events.example.com`. Default: the page's origin. */
  baseUrl?: string;
  /** Path of the multi-channel events route. Default `/api/v1/events`. */
  path?: string;
  /**
   * The EventSource to use. Default: `globalThis.EventSource`, else (Node, or where `headers`
   * is given) the `eventsource` package's, loaded when the first stream opens. A browser build
   * never loads that package by itself: a page that needs `headers` passes it here.
   */
  EventSource?: EventSourceConstructor;
  /** Headers for every request of the stream, for example Authorization. Needs the `eventsource` package's EventSource. */
  headers?: HeadersProvider;
  /** A token sent as the `token` query parameter, read again at each new EventSource. */
  token?: () => string | undefined | Promise<string | undefined>;
  /** Send cookies to a hub on another origin. Default false. */
  withCredentials?: boolean;
  /** Called on a 401, to refresh credentials; the stream is re-opened once it settles. */
  onUnauthorized?: () => Promise<void> | void;
  /** Errors nobody else would hear of. Default: `console.error`. */
  onError?: (error: HeraldClientError) => void;
  backoff?: BackoffOptions;
  /** How long the stream stays open after the last subscription ends. Default 1000. */
  lingerMs?: number;
  /** Source of jitter, in [0, 1). Default `Math.random`; tests pass their own. */
  random?: () => number;
  /** Used to learn why a stream was refused, and by the `eventsource` package. Default `globalThis.fetch`. */
  fetch?: typeof fetch;
  /** Channel kinds the hub accepts (PROTOCOL.md section 1). Default `project`, `file`, `user`. */
  channelKinds?: readonly string[];
  /**
   * One stream for every tab of the browser (see `shared-stream.ts`). Default: on where the
   * browser has Web Locks and BroadcastChannel and the client uses its EventSource with cookies
   * (no `token`, `headers` or `EventSource` option). `{ key }` shares between tabs whose
   * credentials `key` names (a user id, say), with those options too; `false` never shares.
   */
  share?: boolean | { key: string };
}

export interface MessageMeta {
  /** The event's id, the cursor it leaves; undefined for an event sent without one. */
  id: string | undefined;
  /**
   * True for an event of the channel's past, replayed for this subscription's
   * `from: "start"`: older than what the page's other subscriptions had already received.
   */
  replayed?: boolean;
}

export type MessageHandler = (message: Message, meta: MessageMeta) => void;

export interface SubscribeOptions {
  /** Only messages of these types; `stream_reset` is always delivered. Default: every type. */
  types?: readonly string[];
  /**
   * `"start"`: first the channel's kept history (the hub's `start=`), then live; the page's
   * other subscriptions keep their cursor and see nothing twice. Default: from now on.
   */
  from?: "start";
}

export interface EventsClient {
  /** Starts receiving `channel`'s messages; returns the function that stops it. */
  subscribe(channel: string, handler: MessageHandler, options?: SubscribeOptions): () => void;
  /** The connection state, as an observable store. */
  readonly connection: ConnectionStore;
  /** Tries again at once, attempts back to 0: for a "retry" button after `closed`. */
  reconnect(): void;
  /** Closes the stream and stops everything; the client cannot be used again. */
  close(): void;
}

export const DEFAULT_PATH = "/api/v1/events";
export const DEFAULT_LINGER_MS = 1000;

/** Statuses that another attempt would only repeat (204: the SSE spec's "stop reconnecting"). */
const FINAL_STATUSES = new Set([204, 400, 403, 404]);

/** One attempt at a stream: the channels it was opened for and its EventSource once made. */
interface Stream {
  readonly key: string;
  readonly channels: readonly string[];
  /** Channels that replay all their history on this stream (`from: "start"`). */
  readonly start: readonly string[];
  /** The cursor the stream opened from: a `start` channel's events up to it are history. */
  readonly base: Cursor | undefined;
  /** The subscriptions that asked for that history; the others had those events already. */
  readonly historyFor: ReadonlySet<Subscription>;
  /** Per `start` channel, the last seq of history delivered (EventSource may replay it again). */
  readonly historySeen: Map<string, number>;
  source?: EventSourceLike;
  /** What the last refused request of this stream said (known only through our own fetch). */
  refusal?: StreamFailure;
}

interface Settings {
  baseUrl: string;
  path: string;
  /** Set once loaded where the `eventsource` package is loaded on demand. */
  EventSource: EventSourceConstructor | undefined;
  loadEventSource: (() => Promise<EventSourceConstructor>) | undefined;
  passFetch: boolean;
  headers: HeadersProvider | undefined;
  token: EventsClientOptions["token"];
  withCredentials: boolean;
  onUnauthorized: EventsClientOptions["onUnauthorized"];
  backoff: ResolvedBackoff;
  lingerMs: number;
  random: () => number;
  fetch: typeof fetch;
  channelKinds: readonly string[];
}

type Timer = ReturnType<typeof setTimeout>;

export function createEventsClient(options: EventsClientOptions = {}): EventsClient {
  const settings = resolveSettings(options);
  const sharing = sharingFor(options);
  if (sharing) return createSharedEventsClient(options, sharing, createStreamClient);
  return createStreamClient(options, undefined, settings);
}

/**
 * The client that holds the EventSource itself: the only one of an unshared client, the
 * leader's of a shared one. `resumeFrom` is the cursor its first stream resumes from (a tab
 * taking over a shared stream).
 */
export function createStreamClient(
  options: EventsClientOptions,
  resumeFrom?: string,
  settings: Settings = resolveSettings(options),
): EventsClient {
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

  const byChannel: SubscriptionsByChannel = new Map();
  let stream: Stream | undefined;
  /** Bumped whenever a stream or a recovery is abandoned, so late callbacks know they are stale. */
  let generation = 0;
  /** A failure is being handled: probing, refreshing credentials or waiting out the backoff. */
  let recovering = false;
  let reconnectTimer: Timer | undefined;
  let lingerTimer: Timer | undefined;
  let syncQueued = false;
  let closed = false;
  let cursor: Cursor | undefined = parseCursor(resumeFrom);
  if (cursor) store.update({ lastEventId: resumeFrom });
  let unauthorizedInARow = 0;

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
      settings.channelKinds,
    );
    addSubscription(byChannel, subscription);
    // Even for a channel already streamed: it cancels a linger, or retries after a refusal.
    queueSync();

    return () => {
      if (subscription.active && removeSubscription(byChannel, subscription)) queueSync();
    };
  }

  /** Many subscribe/unsubscribe calls in one tick (a render) make one change of stream. */
  function queueSync(): void {
    if (syncQueued) return;
    syncQueued = true;
    queueMicrotask(sync);
  }

  function sync(): void {
    syncQueued = false;
    if (closed) return;
    const channels = wantedChannels();
    if (channels.length === 0) {
      if (stream || recovering) startLinger();
      else if (store.getSnapshot().status !== "idle") teardown();
      return;
    }
    stopLinger();
    // The reconnect that ends the recovery opens with whatever channels are wanted by then.
    if (recovering) return;
    if (stream && stream.key === channels.join("&") && historyWanted().size === 0) return;
    open();
  }

  function wantedChannels(): string[] {
    return streamChannels(byChannel.keys());
  }

  /** Subscriptions waiting for their channel's history: asked `from: "start"`, not yet opened. */
  function historyWanted(): Set<Subscription> {
    const waiting = new Set<Subscription>();
    for (const subscriptions of byChannel.values()) {
      for (const subscription of subscriptions) if (subscription.history) waiting.add(subscription);
    }
    return waiting;
  }

  function startLinger(): void {
    lingerTimer ??= setTimeout(teardown, settings.lingerMs);
  }

  function stopLinger(): void {
    if (lingerTimer !== undefined) clearTimeout(lingerTimer);
    lingerTimer = undefined;
  }

  /**
   * Nobody listens any more. The cursor goes too: a later subscription starts live, as a
   * page that has just read its state expects, rather than replaying what nobody listened to.
   */
  function teardown(): void {
    stopLinger();
    abandon();
    cursor = undefined;
    unauthorizedInARow = 0;
    store.update({
      status: "idle",
      attempts: 0,
      lastError: undefined,
      lastEventId: undefined,
    });
  }

  function abandon(): void {
    generation += 1;
    if (stream?.source) detach(stream.source);
    stream = undefined;
    if (reconnectTimer !== undefined) clearTimeout(reconnectTimer);
    reconnectTimer = undefined;
    recovering = false;
  }

  /** `planned`: the hub ended the stream on purpose; the state stays as it is meanwhile. */
  function open(planned = false): void {
    abandon();
    const channels = wantedChannels();
    if (channels.length === 0) return;
    const historyFor = historyWanted();
    const start = streamChannels([...historyFor].map((subscription) => subscription.channel));
    const current: Stream = {
      key: channels.join("&"),
      channels,
      start,
      base: cursor,
      historyFor,
      historySeen: new Map(),
    };
    stream = current;
    const gen = generation;
    if (!planned) {
      store.update({ status: store.getSnapshot().attempts > 0 ? "reconnecting" : "connecting" });
    }
    if (!settings.token) {
      connect(current, undefined);
      return;
    }
    readToken(settings.token).then(
      (token) => {
        if (gen === generation) connect(current, token);
      },
      (error: unknown) => {
        if (gen !== generation) return;
        recover(
          current,
          Promise.resolve({
            code: "unauthorized",
            message: `the token option threw: ${describeError(error)}`,
          }),
        );
      },
    );
  }

  function connect(current: Stream, token: string | undefined): void {
    const EventSource = settings.EventSource;
    if (!EventSource) {
      loadEventSource(current, token);
      return;
    }
    const url = buildStreamUrl({
      baseUrl: settings.baseUrl,
      path: settings.path,
      channels: current.channels,
      start: current.start,
      lastEventId: store.getSnapshot().lastEventId,
      token,
    });
    const init: EventSourceInitLike = { withCredentials: settings.withCredentials };
    if (settings.passFetch) {
      init.fetch = createSourceFetch(settings.fetch, settings.headers, (failure) => {
        current.refusal = failure;
      });
    }
    let source: EventSourceLike;
    try {
      source = new EventSource(url, init);
    } catch (error) {
      refuse({
        code: "invalid_options",
        message: `could not open an EventSource on ${url} (${describeError(error)}): check baseUrl and path`,
      });
      return;
    }
    current.source = source;
    source.onopen = () => {
      if (stream !== current) return;
      // The hub has the request: the history comes on this stream, or on EventSource's retries.
      for (const subscription of current.historyFor) subscription.history = false;
      unauthorizedInARow = 0;
      store.update({ status: "open", attempts: 0 });
    };
    source.onmessage = (event) => {
      if (stream === current) receive(current, event);
    };
    source.onerror = (event) => {
      if (stream === current) onSourceError(current, source, event);
    };
    // Every event before it has been received: resume from the last id now, rather than let
    // the EventSource wait out its retry delay or count the end as a failure.
    source.addEventListener?.(PLANNED_END_EVENT, () => {
      if (stream === current) open(true);
    });
    // A stream that starts live gets its cursor at once: a reopen (a channel added) or a drop
    // before the first message then resumes from it rather than missing what came meanwhile.
    source.addEventListener?.(CURSOR_EVENT, (event) => {
      const position = parseCursor(event.lastEventId);
      if (stream !== current || cursor || !position) return;
      cursor = position;
      store.update({ lastEventId: event.lastEventId });
    });
  }

  /** The first stream that needs the `eventsource` package loads it, then opens. */
  function loadEventSource(current: Stream, token: string | undefined): void {
    const load = settings.loadEventSource;
    if (!load) throw new Error("unreachable: an EventSource is either given or loaded");
    const gen = generation;
    load().then(
      (EventSource) => {
        settings.EventSource = EventSource;
        if (gen === generation) connect(current, token);
      },
      (error: unknown) => {
        if (gen !== generation) return;
        refuse({
          code: "invalid_options",
          message: `the eventsource package could not be loaded (${describeError(error)}): npm install eventsource, or pass an EventSource`,
        });
      },
    );
  }

  function onSourceError(current: Stream, source: EventSourceLike, event: Event): void {
    const details = errorEventDetails(event);
    if (source.readyState !== CLOSED) {
      const attempts = store.getSnapshot().attempts + 1;
      const lastError: ConnectionError = {
        code: "network",
        message: `the events stream dropped${details.message ? ` (${details.message})` : ""}; reconnecting`,
      };
      if (attempts >= settings.backoff.maxAttempts) {
        giveUp(attempts, lastError);
        return;
      }
      store.update({ status: "reconnecting", attempts, lastError });
      return;
    }
    const known =
      current.refusal ??
      (details.status === undefined
        ? undefined
        : failureFromResponse(details.status, new Headers(), undefined, Date.now()));
    recover(
      current,
      known
        ? Promise.resolve(known)
        : probeStream({
            url: source.url,
            fetch: settings.fetch,
            headers: settings.headers,
            withCredentials: settings.withCredentials,
          }),
    );
  }

  /** The EventSource gave up for good: from here on this client decides what comes next. */
  function recover(current: Stream, failure: Promise<StreamFailure>): void {
    if (current.source) detach(current.source);
    abandon();
    recovering = true;
    const gen = generation;
    void failure.then((known) => {
      if (gen === generation) handleFailure(known);
    });
  }

  function handleFailure(failure: StreamFailure): void {
    if (failure.status !== undefined && FINAL_STATUSES.has(failure.status)) {
      refuse(failure);
      return;
    }
    const attempts = store.getSnapshot().attempts + 1;
    const lastError = toConnectionError(failure);
    if (attempts >= settings.backoff.maxAttempts) {
      giveUp(attempts, lastError);
      return;
    }
    store.update({ status: "reconnecting", attempts, lastError });
    if (failure.status === 401 && settings.onUnauthorized) {
      unauthorizedInARow += 1;
      const gen = generation;
      void refreshCredentials(settings.onUnauthorized).then(() => {
        if (gen !== generation) return;
        // Fresh credentials deserve an attempt at once; a second 401 in a row means they did
        // not help, and from then on the backoff keeps a broken login from hammering the hub.
        if (unauthorizedInARow === 1) reconnectNow();
        else scheduleReconnect(attempts, failure);
      });
      return;
    }
    scheduleReconnect(attempts, failure);
  }

  async function refreshCredentials(onUnauthorized: () => Promise<void> | void): Promise<void> {
    try {
      await onUnauthorized();
    } catch (error) {
      report(
        new HeraldClientError(
          "unauthorized",
          `onUnauthorized threw (${describeError(error)}); reconnecting with the credentials at hand`,
          { status: 401, cause: error },
        ),
      );
    }
  }

  function scheduleReconnect(attempts: number, failure: StreamFailure): void {
    const delay = backoffDelay(
      attempts,
      settings.backoff,
      settings.random,
      failure.retryAfterMs ?? 0,
    );
    reconnectTimer = setTimeout(reconnectNow, delay);
  }

  function reconnectNow(): void {
    reconnectTimer = undefined;
    recovering = false;
    // With nothing wanted any more, the linger already under way ends it all.
    if (wantedChannels().length > 0) open();
  }

  function refuse(failure: StreamFailure): void {
    abandon();
    store.update({ status: "closed", lastError: toConnectionError(failure) });
    report(
      new HeraldClientError(
        failure.code,
        `${failure.message}. Not retrying: change the subscriptions or call reconnect() to try again`,
        { status: failure.status },
      ),
    );
  }

  function giveUp(attempts: number, last: ConnectionError): void {
    abandon();
    const message = `gave up after ${attempts} failed attempts in a row; the last: ${last.message}`;
    store.update({
      status: "closed",
      attempts,
      lastError: { code: "gave_up", status: last.status, message },
    });
    report(new HeraldClientError("gave_up", message, { status: last.status }));
  }

  function receive(current: Stream, event: MessageEvent): void {
    // The package gives "" for an event without id; Herald sends an id with every event.
    const id =
      typeof event.lastEventId === "string" && event.lastEventId ? event.lastEventId : undefined;
    const parsed = readEnvelope(event.data);
    const isReset = parsed.message?.type === "stream_reset";
    const position = parseCursor(id);
    if (parsed.message && position && isHistory(current, parsed.message.channel, position)) {
      replayHistory(current, parsed.message, position, id);
      return;
    }
    if (!isReset && alreadySeen(position, cursor)) return;
    if (id !== undefined) {
      cursor = position;
      store.update({ lastEventId: id });
    }
    if (!parsed.message) {
      report(
        new HeraldClientError(
          "invalid_message",
          `an event${id ? ` (id ${id})` : ""} was skipped: ${parsed.problem}`,
        ),
      );
      return;
    }
    dispatch(parsed.message, isReset, id);
  }

  function dispatch(message: Message, isReset: boolean, id: string | undefined): void {
    dispatchMessage(byChannel.get(message.channel), message, isReset, id, report);
  }

  /** An event of a `start` channel at or before the cursor the stream opened from. */
  function isHistory(current: Stream, channel: string, position: Cursor): boolean {
    const base = current.base;
    return Boolean(
      base &&
        current.start.includes(channel) &&
        position.epoch === base.epoch &&
        position.seq <= base.seq,
    );
  }

  /**
   * History goes only to the subscriptions that asked for it, once each (EventSource's own
   * retries ask for it again), and leaves the cursor where it is: it is older.
   */
  function replayHistory(
    current: Stream,
    message: Message,
    position: Cursor,
    id: string | undefined,
  ): void {
    if (position.seq <= (current.historySeen.get(message.channel) ?? 0)) return;
    current.historySeen.set(message.channel, position.seq);
    const askers = new Set(
      [...(byChannel.get(message.channel) ?? [])].filter((subscription) =>
        current.historyFor.has(subscription),
      ),
    );
    dispatchMessage(askers, message, message.type === "stream_reset", id, report, true);
  }

  function reconnect(): void {
    if (closed) {
      throw new HeraldClientError(
        "client_closed",
        "this events client was closed: it cannot reconnect",
      );
    }
    abandon();
    unauthorizedInARow = 0;
    store.update({ attempts: 0 });
    if (wantedChannels().length > 0) open();
    else teardown();
  }

  function close(): void {
    if (closed) return;
    closed = true;
    stopLinger();
    abandon();
    for (const subscriptions of byChannel.values()) {
      for (const subscription of subscriptions) subscription.active = false;
    }
    byChannel.clear();
    store.update({ status: "closed" });
  }

  return {
    subscribe,
    connection: { getSnapshot: store.getSnapshot, subscribe: store.subscribe },
    reconnect,
    close,
  };
}

function detach(source: EventSourceLike): void {
  source.onopen = null;
  source.onmessage = null;
  source.onerror = null;
  source.close();
}

function toConnectionError(failure: StreamFailure): ConnectionError {
  return failure.status === undefined
    ? { code: failure.code, message: failure.message }
    : { code: failure.code, status: failure.status, message: failure.message };
}

async function readToken(
  token: () => string | undefined | Promise<string | undefined>,
): Promise<string | undefined> {
  return token();
}

type ParsedEnvelope =
  | { message: Message; problem?: undefined }
  | { message?: undefined; problem: string };

/** Only what routing needs is checked: unknown types and extra fields pass on (PROTOCOL.md section 4). */
function readEnvelope(data: unknown): ParsedEnvelope {
  let value: unknown;
  try {
    value = JSON.parse(String(data));
  } catch (error) {
    return { problem: `its data is not JSON (${describeError(error)})` };
  }
  if (
    typeof value !== "object" ||
    value === null ||
    typeof (value as { type?: unknown }).type !== "string" ||
    typeof (value as { channel?: unknown }).channel !== "string"
  ) {
    return { problem: 'its data is not an object with a string "type" and "channel"' };
  }
  return { message: value as Message };
}

function resolveSettings(options: EventsClientOptions): Settings {
  const choice = chooseEventSource(options.EventSource, options.headers !== undefined);
  const baseUrl = options.baseUrl ?? "";
  if (!baseUrl && !options.EventSource && !("document" in globalThis)) {
    throw new HeraldClientError(
      "invalid_options",
      'baseUrl is needed outside a web page, for example createEventsClient({ baseUrl: "http://127.0.0.1:3000" })',
    );
  }
  const lingerMs = options.lingerMs ?? DEFAULT_LINGER_MS;
  if (!(lingerMs >= 0)) {
    throw new HeraldClientError("invalid_options", `lingerMs must be 0 or more, got ${lingerMs}`);
  }
  let backoff: ResolvedBackoff;
  try {
    backoff = resolveBackoff(options.backoff);
  } catch (error) {
    throw new HeraldClientError("invalid_options", describeError(error), { cause: error });
  }
  return {
    baseUrl,
    path: options.path ?? DEFAULT_PATH,
    EventSource: "EventSource" in choice ? choice.EventSource : undefined,
    loadEventSource: "load" in choice ? choice.load : undefined,
    passFetch: choice.passFetch,
    headers: options.headers,
    token: options.token,
    withCredentials: options.withCredentials ?? false,
    onUnauthorized: options.onUnauthorized,
    backoff,
    lingerMs,
    random: options.random ?? Math.random,
    // Looked up at each call, so that a fetch stubbed or patched after creation is the one used.
    fetch: options.fetch ?? ((input, init) => globalThis.fetch(input, init)),
    channelKinds: options.channelKinds ?? DEFAULT_CHANNEL_KINDS,
  };
}
