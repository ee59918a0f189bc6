/** The error codes of PROTOCOL.md section 8, with the HTTP status each answers with. */
export const ERROR_STATUS = {
  invalid_channel: 400,
  invalid_cursor: 400,
  invalid_message: 400,
  /** A studio API request whose input is refused; the body names the field. */
  invalid_request: 400,
  too_many_channels: 400,
  unauthorized: 401,
  forbidden: 403,
  /** The studio API: the user's stored files fill its storage quota. */
  storage_quota_exceeded: 403,
  not_found: 404,
  method_not_allowed: 405,
  /** A request whose head or body did not arrive within the server's timeout. */
  request_timeout: 408,
  /** The studio API: the change asked for no longer applies (a task that has ended). */
  conflict: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  too_many_connections: 429,
  /** The studio API: too many requests of one kind from one client address (new sessions). */
  rate_limited: 429,
  /** The studio API: the user already has the most tasks allowed queued or running. */
  too_many_tasks: 429,
  internal: 500,
  unavailable: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

/** The JSON body of every refusal. */
export interface ErrorBody {
  error: { code: ErrorCode; message: string; field?: string };
}

/** Herald's one error type: a machine `code` and a message a person can act on. */
export class HeraldError extends Error {
  override readonly name = "HeraldError";
  readonly code: ErrorCode;
  readonly status: number;

  /** The input field at fault, where there is one. */
  readonly field: string | undefined;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; field?: string }) {
    super(message, options);
    this.code = code;
    this.status = ERROR_STATUS[code];
    this.field = options?.field;
  }

  toBody(): ErrorBody {
    return {
      error: {
        code: this.code,
        message: this.message,
        ...(this.field === undefined ? {} : { field: this.field }),
      },
    };
  }
}

export function isErrorBody(value: unknown): value is ErrorBody {
  if (typeof value !== "object" || value === null || !("error" in value)) return false;
  const error = (value as { error: unknown }).error;
  return typeof error === "object" && error !== null && "code" in error && "message" in error;
}
