/**
 * The seam between the client and an EventSource implementation: the browser's own, the
 * `eventsource` package (Node, or anywhere headers are needed), or a fake in tests.
 * Only what the WHATWG EventSource interface has is relied on
 * (https://html.spec.whatwg.org/multipage/server-sent-events.html#the-eventsource-interface),
 * plus the `eventsource` package's `fetch` option and the `code` of its error events.
 */

import type { FetchLike, FetchLikeResponse } from "eventsource";
import { loadEventSourcePackage } from "#eventsource-package";
import {
  describeError,
  failureFromResponse,
  HeraldClientError,
  type StreamFailure,
} from "./errors.ts";

/** `readyState` values, as the spec numbers them. */
export const CONNECTING = 0;
export const OPEN = 1;
export const CLOSED = 2;

export interface EventSourceLike {
  readonly readyState: number;
  readonly url: string;
  onopen: ((event: Event) => unknown) | null;
  onmessage: ((event: MessageEvent) => unknown) | null;
  onerror: ((event: Event) => unknown) | null;
  /** For the hub's named `end` event (a planned end); every EventSource has it, doubles may not. */
  addEventListener?(type: string, listener: (event: MessageEvent) => void): void;
  close(): void;
}

export interface EventSourceInitLike {
  withCredentials?: boolean;
  /** Honoured by the `eventsource` package only; the browser's EventSource ignores it. */
  fetch?: FetchLike;
}

export type EventSourceConstructor = new (
  url: string,
  init?: EventSourceInitLike,
) => EventSourceLike;

/** The `eventsource` package marks its constructor so that callers can tell it takes `fetch`. */
const SUPPORTS_FETCH = Symbol.for("eventsource.supports-fetch-override");

export function supportsFetchOption(source: EventSourceConstructor): boolean {
  return SUPPORTS_FETCH in source;
}

/** The EventSource a client uses, or how to load it. */
export type EventSourceChoice =
  | { EventSource: EventSourceConstructor; passFetch: boolean }
  | { load: () => Promise<EventSourceConstructor>; passFetch: true };

/**
 * The `EventSource` option where given; else the platform's own where there is one, since it
 * cannot send headers only where `headers` are not needed; else the `eventsource` package, which
 * can, loaded when the first stream opens (never in a browser build: there, pass it yourself).
 */
export function chooseEventSource(
  given: EventSourceConstructor | undefined,
  needsHeaders: boolean,
): EventSourceChoice {
  if (given) {
    const passFetch = supportsFetchOption(given);
    if (needsHeaders && !passFetch) {
      throw new HeraldClientError(
        "invalid_options",
        "the headers option needs an EventSource that takes a fetch option, such as the eventsource package's: the browser's own EventSource cannot send headers. Use cookies (withCredentials) or the token option instead",
      );
    }
    return { EventSource: given, passFetch };
  }
  const native = (globalThis as { EventSource?: EventSourceConstructor }).EventSource;
  if (native && (!needsHeaders || supportsFetchOption(native))) {
    return { EventSource: native, passFetch: supportsFetchOption(native) };
  }
  if (!loadEventSourcePackage) {
    throw new HeraldClientError(
      "invalid_options",
      needsHeaders
        ? 'the headers option needs the eventsource package\'s EventSource, which a browser build does not load by itself: npm install eventsource, then pass it, createEventsClient({ headers, EventSource }) with import { EventSource } from "eventsource"; or use cookies (withCredentials) or the token option instead'
        : 'there is no EventSource here: npm install eventsource, then pass it as the EventSource option (import { EventSource } from "eventsource")',
    );
  }
  return { load: loadEventSourcePackage, passFetch: true };
}

/** The extra data the `eventsource` package's error events carry. */
export function errorEventDetails(event: Event): { status?: number; message?: string } {
  const { code, message } = event as Event & { code?: unknown; message?: unknown };
  return {
    ...(typeof code === "number" ? { status: code } : {}),
    ...(typeof message === "string" && message ? { message } : {}),
  };
}

export type HeadersProvider = () => Record<string, string> | Promise<Record<string, string>>;

/**
 * The `fetch` handed to the `eventsource` package: it adds the caller's headers to every
 * request (its own reconnects too, so a refreshed token is picked up) and keeps what a refusal
 * said, since the package's error event carries the status but neither body nor headers.
 */
export function createSourceFetch(
  baseFetch: typeof fetch,
  headers: HeadersProvider | undefined,
  onRefused: (failure: StreamFailure) => void,
): FetchLike {
  return async (input, init) => {
    const extra = headers ? await headers() : {};
    const response = await baseFetch(input, { ...init, headers: { ...init.headers, ...extra } });
    if (response.status !== 200) onRefused(await readRefusal(response));
    return response as FetchLikeResponse;
  };
}

export interface ProbeRequest {
  url: string;
  fetch: typeof fetch;
  headers: HeadersProvider | undefined;
  withCredentials: boolean;
}

/**
 * The browser's EventSource hides why it gave up. Asking the same URL again with `fetch` tells:
 * the headers are all we need from a stream that now works, so its body is aborted at once.
 */
export async function probeStream(request: ProbeRequest): Promise<StreamFailure> {
  const controller = new AbortController();
  try {
    const extra = request.headers ? await request.headers() : {};
    const response = await request.fetch(request.url, {
      headers: { Accept: "text/event-stream", ...extra },
      credentials: request.withCredentials ? "include" : "same-origin",
      cache: "no-store",
      signal: controller.signal,
    });
    if (response.status === 200) {
      controller.abort();
      return {
        code: "network",
        status: 200,
        message: "the events stream failed, but answers again: reconnecting",
      };
    }
    return await readRefusal(response);
  } catch (error) {
    return {
      code: "network",
      message: `the events server could not be reached (${describeError(error)}); check baseUrl and the network`,
    };
  } finally {
    controller.abort();
  }
}

/**
 * Refusals are small JSON bodies (a proxy's, a short HTML page). The body is read to its end, or
 * to a bound, because nobody else will: an unread body would hold its connection open.
 */
async function readRefusal(response: Response): Promise<StreamFailure> {
  let body: unknown;
  let note = "";
  try {
    const text = await readBoundedText(response, REFUSAL_BODY_LIMIT);
    if ((response.headers.get("content-type") ?? "").includes("json")) body = JSON.parse(text);
  } catch (error) {
    note = ` (its body could not be read: ${describeError(error)})`;
  }
  const failure = failureFromResponse(response.status, response.headers, body, Date.now());
  return note ? { ...failure, message: `${failure.message}${note}` } : failure;
}

const REFUSAL_BODY_LIMIT = 16 * 1024;

async function readBoundedText(response: Response, limit: number): Promise<string> {
  const reader = response.body?.getReader();
  if (!reader) return "";
  const decoder = new TextDecoder();
  let text = "";
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return text + decoder.decode();
    text += decoder.decode(value, { stream: true });
    if (text.length > limit) {
      await reader.cancel();
      return text;
    }
  }
}
