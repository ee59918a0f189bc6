/**
 * The client's one error type. Its codes are the server's (PROTOCOL.md section 8), so a refusal
 * keeps the code the hub sent, plus the few things only a client can run into.
 */
import { ERROR_STATUS, type ErrorCode, isErrorBody } from "@herald/protocol";

export type ClientErrorCode =
  | ErrorCode
  /** No HTTP answer at all: DNS, refused connection, a dropped stream. */
  | "network"
  /** An HTTP status that is not Herald's, for example a proxy's 502 page. */
  | "http_error"
  /** `maxAttempts` failures in a row; the client stopped trying. */
  | "gave_up"
  /** A handler given to `subscribe` threw. */
  | "handler_failed"
  /** `createEventsClient` or `subscribe` was called with options that cannot work. */
  | "invalid_options"
  /** `close()` was called; the client does nothing any more. */
  | "client_closed";

export class HeraldClientError extends Error {
  override readonly name = "HeraldClientError";
  readonly code: ClientErrorCode;
  /** The HTTP status behind the error, where there was one. */
  readonly status: number | undefined;

  constructor(
    code: ClientErrorCode,
    message: string,
    options?: { status?: number | undefined; cause?: unknown },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.status = options?.status;
  }
}

/** What a failed attempt to open the stream told us. */
export interface StreamFailure {
  code: ClientErrorCode;
  status?: number | undefined;
  message: string;
  /** From a `Retry-After` header: wait at least this long before the next attempt. */
  retryAfterMs?: number | undefined;
}

/**
 * The codes an event stream or a publish answers with (PROTOCOL.md section 8). The others in
 * ERROR_STATUS are the studio API's (`rate_limited`, `storage_quota_exceeded`, …) and never
 * answer this client, so they must not make a status ambiguous here.
 */
const STREAM_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  "invalid_channel",
  "invalid_cursor",
  "invalid_message",
  "too_many_channels",
  "unauthorized",
  "forbidden",
  "not_found",
  "method_not_allowed",
  "request_timeout",
  "payload_too_large",
  "too_many_connections",
  "internal",
  "unavailable",
]);

const CODE_OF_STATUS = uniqueCodeByStatus();

/**
 * Reads a refusal: the hub's JSON body where there is one, else a code guessed from the status
 * (a proxy in front of the hub answers with its own HTML).
 */
export function failureFromResponse(
  status: number,
  headers: { get(name: string): string | null },
  body: unknown,
  now: number,
): StreamFailure {
  const retryAfterMs = parseRetryAfter(headers.get("retry-after"), now);
  if (isErrorBody(body) && body.error.code in ERROR_STATUS) {
    return {
      code: body.error.code,
      status,
      message: `the events stream was refused with ${status} ${body.error.code}: ${body.error.message}`,
      retryAfterMs,
    };
  }
  if (status >= 200 && status < 300 && status !== 204) {
    return {
      code: "http_error",
      status,
      message: `the events URL answered ${status} but not with an event stream (check baseUrl and path)`,
      retryAfterMs,
    };
  }
  return {
    code: CODE_OF_STATUS.get(status) ?? "http_error",
    status,
    message: `the events stream was refused with HTTP ${status}${hintFor(status)}`,
    retryAfterMs,
  };
}

/** `Retry-After` is either whole seconds or an HTTP date (RFC 9110 section 10.2.3). */
export function parseRetryAfter(value: string | null, now: number): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

function hintFor(status: number): string {
  if (status === 401) return " (no valid token: sign in again, or refresh it in onUnauthorized)";
  if (status === 403) return " (the token does not allow one of the channels asked for)";
  if (status === 404) return " (check baseUrl and path: they must point at the hub's events route)";
  if (status === 204) return " (the server asked the client to stop reconnecting)";
  if (status >= 500) return " (the server or a proxy in front of it failed; retrying)";
  return "";
}

/** Statuses that only one stream code answers with; 400 is left out, four codes share it. */
function uniqueCodeByStatus(): Map<number, ErrorCode> {
  const seen = new Map<number, ErrorCode[]>();
  for (const [code, status] of Object.entries(ERROR_STATUS) as [ErrorCode, number][]) {
    if (STREAM_CODES.has(code)) seen.set(status, [...(seen.get(status) ?? []), code]);
  }
  const unique = new Map<number, ErrorCode>();
  for (const [status, codes] of seen) {
    if (codes.length === 1 && codes[0] !== undefined) unique.set(status, codes[0]);
  }
  return unique;
}

export function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
