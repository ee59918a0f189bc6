/**
 * What the server's log may hold: never a token (AGENTS.md, "Never put a token in a log") and
 * never what users typed. A failed database query's error carries its parameters (a prompt,
 * an id) in its message and stack: they are cut, and the query's shape kept.
 */
import { DrizzleQueryError } from "drizzle-orm/errors";

export function redactToken(url: string): string {
  return url.replace(/([?&]token=)[^&]*/g, "$1[redacted]");
}

export interface LoggedError {
  [key: string]: unknown;
  type: string;
  message: string;
  code?: string;
  stack: string;
  cause?: LoggedError;
}

export function loggableError(error: unknown, depth = 0): LoggedError {
  if (!(error instanceof Error)) return { type: typeof error, message: String(error), stack: "" };
  const message =
    error instanceof DrizzleQueryError
      ? `Failed query: ${error.query} (parameters left out of the log)`
      : error.message;
  const code = (error as { code?: unknown }).code;
  const logged: LoggedError = {
    type: error.name,
    message,
    ...(typeof code === "string" ? { code } : {}),
    stack: (error.stack ?? "").replace(error.message, message),
  };
  if (error.cause !== undefined && depth < 5) logged.cause = loggableError(error.cause, depth + 1);
  return logged;
}
