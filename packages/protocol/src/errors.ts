/** The error codes of PROTOCOL.md section 8, with the HTTP status each answers with. */
export const ERROR_STATUS = {
  invalid_channel: 400,
  invalid_cursor: 400,
  invalid_message: 400,
  too_many_channels: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  payload_too_large: 413,
  unsupported_media_type: 415,
  too_many_connections: 429,
  internal: 500,
  unavailable: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

/** The JSON body of every refusal. */
export interface ErrorBody {
  error: { code: ErrorCode; message: string };
}

/** Herald's one error type: a machine `code` and a message a person can act on. */
export class HeraldError extends Error {
  override readonly name = "HeraldError";
  readonly code: ErrorCode;
  readonly status: number;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.status = ERROR_STATUS[code];
  }

  toBody(): ErrorBody {
    return { error: { code: this.code, message: this.message } };
  }
}

export function isErrorBody(value: unknown): value is ErrorBody {
  if (typeof value !== "object" || value === null || !("error" in value)) return false;
  const error = (value as { error: unknown }).error;
  return typeof error === "object" && error !== null && "code" in error && "message" in error;
}
