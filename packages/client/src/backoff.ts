/**
 * Reconnection delays: exponential backoff with full jitter, as in
 * https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/ . Full jitter
 * spreads the browsers that lost the same server over the whole window instead of bringing
 * them back in waves.
 */

export interface BackoffOptions {
  /** The cap of the first delay, in ms. Default 1000. */
  initialMs?: number;
  /** The cap no delay goes above, in ms. Default 30000. */
  maxMs?: number;
  /** Failures in a row after which the client gives up (state `closed`). Default Infinity. */
  maxAttempts?: number;
}

export type ResolvedBackoff = Required<BackoffOptions>;

export const DEFAULT_BACKOFF: ResolvedBackoff = {
  initialMs: 1000,
  maxMs: 30_000,
  maxAttempts: Number.POSITIVE_INFINITY,
};

export function resolveBackoff(options: BackoffOptions | undefined): ResolvedBackoff {
  const resolved = { ...DEFAULT_BACKOFF, ...options };
  for (const [name, value] of Object.entries(resolved)) {
    if (!(value >= 0)) {
      throw new RangeError(`backoff.${name} must be a number of 0 or more, got ${value}`);
    }
  }
  if (resolved.maxAttempts < 1) {
    throw new RangeError(`backoff.maxAttempts must be at least 1, got ${resolved.maxAttempts}`);
  }
  return resolved;
}

/** The window of attempt `attempt` (1 for the first retry): initialMs, doubled each time, capped. */
export function backoffCap(attempt: number, backoff: ResolvedBackoff): number {
  // Past 2^52 the power is Infinity anyway; clamping the exponent keeps Math.pow finite.
  const exponent = Math.min(Math.max(attempt - 1, 0), 52);
  return Math.min(backoff.maxMs, backoff.initialMs * 2 ** exponent);
}

/** The delay before attempt `attempt`: anywhere in [0, cap), drawn with `random`. */
export function backoffDelay(
  attempt: number,
  backoff: ResolvedBackoff,
  random: () => number,
  minimumMs = 0,
): number {
  return Math.max(minimumMs, Math.floor(random() * backoffCap(attempt, backoff)));
}
