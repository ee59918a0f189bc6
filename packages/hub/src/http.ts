/**
 * The HTTP face of the hub, free of any server framework: a request in, an answer out. The
 * adapters (`node.ts`, `fastify.ts`, `fetch.ts`) only translate to and from their transport.
 *
 *   GET  {basePath}/{channel}            one stream on one channel
 *   GET  {basePath}?channel=A&channel=B  one stream on several
 *   POST {basePath}/{channel}            publish (201 {"id"})
 *   POST {basePath}                      publish a batch: {"events": [{"channel", "message"}, …]}
 *                                        (201 {"ids"}, in the same order)
 *   GET  /healthz, /readyz, /metrics     operations (PROTOCOL.md section 9)
 */
import {
  channelProblem,
  type ErrorBody,
  HeraldError,
  matchesChannelPattern,
  type PublishedMessage,
  printable,
} from "@herald/protocol";
import { type Authenticator, assertChannelsAllowed, type Principal } from "./auth.ts";
import { type BatchEvent, type Hub, PartialPublishError, type StreamRequest } from "./hub.ts";
import {
  admissionOf,
  CapacityError,
  type StreamAdmission,
  type StreamCaps,
} from "./stream-caps.ts";

export interface HubRequest {
  readonly method: string;
  readonly url: URL;
  /** A request header by its lower-case name. */
  header(name: string): string | undefined;
  /** The body, refused with `payload_too_large` past `maxBytes`. */
  readBody(maxBytes: number): Promise<Uint8Array>;
}

export type HubResponse =
  | { kind: "body"; status: number; headers: Record<string, string>; body: string }
  | { kind: "stream"; status: 200; headers: Record<string, string>; request: StreamRequest };

export interface EventsHandlerOptions {
  auth: Authenticator;
  /** Where the event endpoints live (default `/api/v1/events`). */
  basePath?: string;
  /** Serve `/healthz`, `/readyz` and `/metrics` too (default true). */
  operations?: boolean;
  /** How long `/readyz` waits for the stores before answering 503, in ms (default 2 s). */
  readyTimeoutMs?: number;
  /**
   * Decides whether a principal may subscribe to channels the patterns of its token do not
   * cover (for example: the projects a user owns, looked up in a database). Throw a
   * HeraldError `forbidden` to refuse. Default: the token's patterns alone decide.
   */
  authorizeSubscribe?: (principal: Principal, channels: readonly string[]) => Promise<void>;
  /** More stores `/readyz` asks besides the event store, by name (for example a database). */
  readinessChecks?: Record<string, () => Promise<void>>;
  /**
   * Caps on open streams, for the process and per client address (every adapter; see
   * stream-caps.ts). The first options given for a hub set them for all its adapters.
   */
  streamCaps?: StreamCaps;
  /**
   * The client's address for the per-address cap, from the connection's address and the
   * request's headers. Default: the connection's address (X-Forwarded-For is anyone's to
   * forge; believe it only from proxies you trust). The fetch adapter has no connection
   * (`remoteAddress` is `undefined`): without this option, only the process's cap applies there.
   */
  clientAddress?: (
    remoteAddress: string | undefined,
    header: (name: string) => string | undefined,
  ) => string;
}

export type EventsHandler = (request: HubRequest) => Promise<HubResponse | undefined>;

export const STREAM_HEADERS: Readonly<Record<string, string>> = {
  "content-type": "text/event-stream; charset=utf-8",
  "cache-control": "no-cache, no-transform",
  "x-accel-buffering": "no",
  "x-content-type-options": "nosniff",
};

const JSON_HEADERS = {
  "content-type": "application/json; charset=utf-8",
  "cache-control": "no-store",
  "x-content-type-options": "nosniff",
};
const CURSOR_MAX_LENGTH = 1024;
/** Levels of arrays and objects a published message may nest (far below what overflows the stack). */
const MAX_NESTING = 256;

/** Answers the requests the hub owns; `undefined` for any other path. */
export function createEventsHandler(hub: Hub, options: EventsHandlerOptions): EventsHandler {
  const basePath = (options.basePath ?? "/api/v1/events").replace(/\/+$/, "");
  const operations = options.operations ?? true;
  const readyTimeoutMs = options.readyTimeoutMs ?? 2000;

  async function route(request: HubRequest): Promise<HubResponse | undefined> {
    const path = request.url.pathname;
    if (operations && request.method === "GET") {
      if (path === "/healthz") return json(200, { status: "ok" });
      if (path === "/readyz") return ready();
      if (path === "/metrics") {
        const text = await hub.metrics.registry.metrics();
        return {
          kind: "body",
          status: 200,
          headers: { "content-type": hub.metrics.registry.contentType },
          body: text,
        };
      }
    }
    if (path !== basePath && !path.startsWith(`${basePath}/`)) return undefined;
    const rest = path.slice(basePath.length + 1);
    // Channel names never need percent-encoding, so any `%` or `/` is a trick, not a channel.
    if (rest.includes("/") || rest.includes("%")) {
      throw new HeraldError("invalid_channel", `"${printable(rest)}" is not a channel name`);
    }
    const pathChannel = rest === "" ? undefined : rest;
    if (request.method === "GET" || request.method === "HEAD")
      return subscribe(request, pathChannel);
    if (request.method === "POST")
      return pathChannel === undefined ? publishBatch(request) : publish(request, pathChannel);
    return {
      ...json(405, error("method_not_allowed", "use GET to subscribe or POST to publish")),
      headers: { ...JSON_HEADERS, allow: "GET, POST" },
    };
  }

  async function subscribe(
    request: HubRequest,
    pathChannel: string | undefined,
  ): Promise<HubResponse> {
    const query = request.url.searchParams;
    const channels = query.getAll("channel");
    if (pathChannel !== undefined) channels.unshift(pathChannel);
    const from = query.get("from");
    if (from !== null && from !== "start") {
      throw new HeraldError(
        "invalid_cursor",
        `from must be "start" or absent, not "${printable(from)}"`,
      );
    }
    // An empty id is what EventSource sends before it has one: no id, not a foreign one.
    const lastEventId = request.header("last-event-id") || query.get("lastEventId") || undefined;
    if (lastEventId !== undefined && lastEventId.length > CURSOR_MAX_LENGTH) {
      throw new HeraldError(
        "invalid_cursor",
        `the last event id is ${lastEventId.length} characters long; ids are far shorter`,
      );
    }
    const start = query.getAll("start");
    const stranger = start.find((channel) => !channels.includes(channel));
    if (stranger !== undefined) {
      throw new HeraldError(
        "invalid_channel",
        `start=${printable(stranger)} names a channel this stream does not ask for: add it as channel=${printable(stranger)} too`,
      );
    }
    // Channels are checked before the token so a malformed request says what is malformed.
    hub.checkChannels(channels);
    const principal = await authenticate(request);
    const uncovered = channels.filter(
      (channel) => !matchesChannelPattern(channel, principal.channels),
    );
    if (uncovered.length > 0) {
      if (options.authorizeSubscribe) await options.authorizeSubscribe(principal, uncovered);
      else assertChannelsAllowed(uncovered, principal.channels, "subscribe to");
    }
    const streamRequest: StreamRequest = {
      channels,
      lastEventId,
      from: from === "start" ? "start" : undefined,
      start: start.length > 0 ? start : undefined,
      subject: principal.subject,
    };
    hub.checkStream(streamRequest);
    if (request.method === "HEAD") {
      // The headers a GET would get, and no stream: nothing would ever read its body, and
      // Node never sends the headers of a HEAD answer that is not ended.
      return { kind: "body", status: 200, headers: { ...STREAM_HEADERS }, body: "" };
    }
    return { kind: "stream", status: 200, headers: { ...STREAM_HEADERS }, request: streamRequest };
  }

  async function publish(request: HubRequest, channel: string): Promise<HubResponse> {
    // As for streams, a malformed name is a 400 whatever the token: patterns never match it.
    hub.checkChannels([channel]);
    const principal = await authenticate(request);
    assertChannelsAllowed([channel], principal.publish, "publish to");
    const bytes = await request.readBody(hub.limits.maxMessageBytes);
    const message = parseJson(bytes, "the body must be one JSON object in UTF-8");
    assertNesting(message, "the message");
    // Any JSON: publish checks it at run time and refuses it with invalid_message.
    const id = await hub.publish(channel, message as PublishedMessage);
    return json(201, { id });
  }

  /**
   * `POST {basePath}`: several events in one request. Everything is checked before anything is
   * published: the token, the body's size and shape, every channel name, the token's publish
   * claim on every channel, every message (`hub.publishMany`). The events are then published
   * in their order.
   */
  async function publishBatch(request: HubRequest): Promise<HubResponse> {
    // The token before the body: nobody gets a megabyte parsed without one.
    const principal = await authenticate(request);
    const { maxBatchBytes, maxBatchEvents } = hub.limits;
    const bytes = await request.readBody(maxBatchBytes);
    const events = batchEvents(parseJson(bytes, BATCH_SHAPE), maxBatchEvents);
    for (const [index, { channel }] of events.entries()) {
      const problem = channelProblem(channel, hub.channelKinds);
      if (problem) {
        const field = `events[${index}].channel`;
        throw new HeraldError("invalid_channel", `${field}: ${problem}`, { field });
      }
    }
    // Each channel matched once, however many events it has.
    const allowed = new Set<string>();
    for (const [index, { channel }] of events.entries()) {
      if (allowed.has(channel)) continue;
      if (!matchesChannelPattern(channel, principal.publish)) {
        const field = `events[${index}].channel`;
        throw new HeraldError(
          "forbidden",
          `${field}: this token may not publish to ${channel}: ask for a token whose publish claim covers it`,
          { field },
        );
      }
      allowed.add(channel);
    }
    for (const [index, { message }] of events.entries()) {
      assertNesting(message, `events[${index}].message`);
    }
    try {
      return json(201, { ids: await hub.publishMany(events) });
    } catch (caught) {
      if (!(caught instanceof PartialPublishError)) throw caught;
      if (caught.code === "internal") hub.reportError(caught);
      // The ids of what was published, so the publisher knows exactly what to send again.
      return json(caught.status, { ...caught.toBody(), ids: caught.ids });
    }
  }

  async function authenticate(request: HubRequest): Promise<Principal> {
    const token = tokenOf(request);
    if (token === undefined) {
      throw new HeraldError(
        "unauthorized",
        "no token: send the herald_token cookie, an Authorization: Bearer header or a token query parameter",
      );
    }
    return options.auth.authenticate(token);
  }

  async function ready(): Promise<HubResponse> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`no answer within ${readyTimeoutMs} ms`)),
        readyTimeoutMs,
      );
    });
    try {
      const checks = Object.entries({
        "event store": () => hub.store.check(),
        ...options.readinessChecks,
      });
      for (const [name, check] of checks) {
        try {
          await Promise.race([check(), timeout]);
        } catch (cause) {
          const reason = cause instanceof Error ? cause.message : String(cause);
          return json(503, error("unavailable", `the ${name} does not answer: ${reason}`));
        }
      }
      return json(200, { status: "ready" });
    } finally {
      clearTimeout(timer);
    }
  }

  return async (request) => {
    try {
      return await route(request);
    } catch (caught) {
      const failure =
        caught instanceof HeraldError
          ? caught
          : new HeraldError("internal", "the hub failed to answer; it has been reported", {
              cause: caught,
            });
      if (failure.code === "internal") hub.reportError(failure);
      return json(failure.status, failure.toBody());
    }
  };
}

/**
 * Checks a stream answer's limits once more, synchronously, right before the adapter opens it:
 * between the first check and now other requests may have opened streams.
 */
export function confirmStream(hub: Hub, answer: HubResponse): HubResponse {
  if (answer.kind !== "stream") return answer;
  try {
    hub.checkStream(answer.request);
    return answer;
  } catch (caught) {
    if (!(caught instanceof HeraldError)) throw caught;
    return json(caught.status, caught.toBody());
  }
}

/** Where an admitted stream counts under the stream caps, to give back once when it closes. */
export interface StreamPlace {
  readonly admission: StreamAdmission;
  /** `undefined` where the adapter cannot know the client's address: the process cap only. */
  readonly address: string | undefined;
}

/**
 * Admits a confirmed stream answer under the stream caps (stream-caps.ts): the answer with the
 * place it takes, or the refusal to send instead. `remoteAddress` is the connection's address,
 * `undefined` where the adapter has none (fetch); `clientAddress` may still name one from the
 * headers, and without either the per-address cap does not apply.
 */
export function admitStream(
  hub: Hub,
  answer: HubResponse,
  options: EventsHandlerOptions,
  remoteAddress: string | undefined,
  header: (name: string) => string | undefined,
): { answer: HubResponse; place?: StreamPlace } {
  if (answer.kind !== "stream") return { answer };
  const admission = admissionOf(hub, options.streamCaps);
  const address = options.clientAddress
    ? options.clientAddress(remoteAddress, header)
    : remoteAddress;
  try {
    admission.admit(address);
    return { answer, place: { admission, address } };
  } catch (error) {
    if (!(error instanceof HeraldError)) throw error;
    const retry: Record<string, string> =
      error instanceof CapacityError ? { "retry-after": String(error.retryAfterS) } : {};
    return { answer: errorResponse(error, retry) };
  }
}

/** The token from the Authorization header, the `token` query parameter or the cookie, in that order. */
export function tokenOf(request: HubRequest): string | undefined {
  const authorization = request.header("authorization");
  if (authorization?.toLowerCase().startsWith("bearer "))
    return authorization.slice(7).trim() || undefined;
  const query = request.url.searchParams.get("token");
  if (query) return query;
  return cookieValue(request.header("cookie"), "herald_token");
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim() || undefined;
  }
  return undefined;
}

const BATCH_SHAPE =
  'the body must be {"events": [{"channel": "…", "message": {…}}, …]} in UTF-8 JSON';

function parseJson(bytes: Uint8Array, shape: string): unknown {
  try {
    return JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (cause) {
    throw new HeraldError("invalid_message", shape, { cause });
  }
}

/** The events of a batch body, each with a string channel; messages are checked later. */
function batchEvents(body: unknown, maxEvents: number): BatchEvent[] {
  const events = (body as { events?: unknown } | null)?.events;
  if (typeof body !== "object" || body === null || !Array.isArray(events)) {
    throw new HeraldError("invalid_message", BATCH_SHAPE);
  }
  if (events.length === 0) {
    throw new HeraldError("invalid_message", "events is empty: send at least one event", {
      field: "events",
    });
  }
  if (events.length > maxEvents) {
    throw new HeraldError(
      "payload_too_large",
      `the batch holds ${events.length} events; the limit is ${maxEvents}: send them in several batches`,
      { field: "events" },
    );
  }
  for (const [index, event] of events.entries()) {
    if (typeof event !== "object" || event === null || Array.isArray(event)) {
      const field = `events[${index}]`;
      throw new HeraldError(
        "invalid_message",
        `${field} must be an object: {"channel": "…", "message": {…}}`,
        { field },
      );
    }
    if (typeof (event as { channel?: unknown }).channel !== "string") {
      const field = `events[${index}].channel`;
      throw new HeraldError("invalid_channel", `${field} must be a channel name (a string)`, {
        field,
      });
    }
  }
  // Messages of any shape: publishMany checks each and names the one it refuses.
  return events as BatchEvent[];
}

function assertNesting(message: unknown, what: string): void {
  if (nestingDepth(message) > MAX_NESTING) {
    // JSON.parse takes any depth, but serialising the message again overflows the stack.
    throw new HeraldError(
      "invalid_message",
      `${what} nests deeper than ${MAX_NESTING} levels: flatten it`,
      what.startsWith("events[") ? { field: what } : undefined,
    );
  }
}

/** How deeply arrays and objects nest in a parsed JSON value, without recursion. */
function nestingDepth(value: unknown): number {
  let deepest = 0;
  const stack: Array<[unknown, number]> = [[value, 0]];
  for (let item = stack.pop(); item !== undefined; item = stack.pop()) {
    const [node, depth] = item;
    if (typeof node !== "object" || node === null) continue;
    if (depth + 1 > deepest) {
      deepest = depth + 1;
      if (deepest > MAX_NESTING) return deepest;
    }
    for (const child of Object.values(node)) stack.push([child, depth + 1]);
  }
  return deepest;
}

/** A refusal as the hub answers it: the error's status and JSON body, and `extra` headers. */
export function errorResponse(
  error: HeraldError,
  extra: Record<string, string> = {},
): HubResponse & { kind: "body" } {
  const answer = json(error.status, error.toBody());
  return { ...answer, headers: { ...answer.headers, ...extra } };
}

function json(status: number, body: unknown): HubResponse & { kind: "body" } {
  return { kind: "body", status, headers: { ...JSON_HEADERS }, body: JSON.stringify(body) };
}

function error(code: ErrorBody["error"]["code"], message: string): ErrorBody {
  return { error: { code, message } };
}
