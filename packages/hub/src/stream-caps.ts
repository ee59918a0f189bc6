/**
 * How many streams a process holds, and one client address: checked by every adapter right
 * before a stream's head is written (`admitStream` in http.ts), so that past the caps a stream
 * request is refused with a JSON error (503 with Retry-After for the process, 429
 * `too_many_connections` for an address) while the process keeps file descriptors for
 * `/healthz`, `/readyz` and its API.
 */
import { readFileSync } from "node:fs";
import { HeraldError } from "@herald/protocol";

export interface StreamCaps {
  /**
   * Streams this process holds open at once, over every adapter of one hub. Default: derived
   * from the open-file limit (`defaultMaxOpenStreams`).
   */
  maxOpenStreams?: number;
  /** Streams one client address may hold open at once in this process (default 500). */
  maxStreamsPerAddress?: number;
}

/** Seconds a client refused for the process's cap is told to wait before trying again. */
export const RETRY_AFTER_S = 5;

/**
 * Three quarters of the process's soft open-file limit, less 64 for the stores, logs and API
 * connections: past it, accepting more streams would leave `/healthz` without a descriptor.
 * 10,000 where the limit cannot be read (not Linux).
 */
export function defaultMaxOpenStreams(limitsFile = "/proc/self/limits"): number {
  const limit = openFileLimit(limitsFile);
  if (limit === undefined) return 10_000;
  return Math.max(1, Math.floor(limit * 0.75) - 64);
}

/** The soft "Max open files" of this process, from /proc; `undefined` where unknown. */
export function openFileLimit(limitsFile = "/proc/self/limits"): number | undefined {
  let text: string;
  try {
    text = readFileSync(limitsFile, "latin1");
  } catch {
    return undefined; // not Linux: the caller uses its fallback
  }
  const soft = /^Max open files\s+(\d+|unlimited)/m.exec(text)?.[1];
  return soft === undefined || soft === "unlimited" ? undefined : Number(soft);
}

export interface StreamAdmission {
  /**
   * Counts a stream from `address` in, or throws the refusal (`unavailable` with
   * `retryAfterS`, or `too_many_connections`). Call `release(address)` once when it closes.
   * `undefined`: an adapter that cannot know the client's address (a fetch Request carries
   * none); only the process's cap applies.
   */
  admit(address: string | undefined): void;
  /**
   * Gives the place of a stream admitted from `address` back. A method, not a function per
   * stream: what every open stream holds until it closes is counted in bytes.
   */
  release(address: string | undefined): void;
}

export class CapacityError extends HeraldError {
  readonly retryAfterS = RETRY_AFTER_S;
}

/** One admission per hub, shared by all its adapters (the Fastify plugin mounts two). */
const admissions = new WeakMap<object, StreamAdmission>();

/** The admission of `hub`, made with the caps of the first adapter that asks for it. */
export function admissionOf(hub: object, caps: StreamCaps | undefined): StreamAdmission {
  let admission = admissions.get(hub);
  if (!admission) {
    admission = createStreamAdmission(caps);
    admissions.set(hub, admission);
  }
  return admission;
}

export function createStreamAdmission(caps: StreamCaps = {}): StreamAdmission {
  const maxOpen = caps.maxOpenStreams ?? defaultMaxOpenStreams();
  const maxPerAddress = caps.maxStreamsPerAddress ?? 500;
  const byAddress = new Map<string, number>();
  let open = 0;
  return {
    admit(address) {
      if (open >= maxOpen) {
        throw new CapacityError(
          "unavailable",
          `this server holds the most event streams it can (${maxOpen}): retry in ${RETRY_AFTER_S} s, or on another server`,
        );
      }
      if (address === undefined) {
        open++;
        return;
      }
      const held = byAddress.get(address) ?? 0;
      if (held >= maxPerAddress) {
        throw new HeraldError(
          "too_many_connections",
          `at most ${maxPerAddress} streams may be open from one address: close unused ones, or put more channels on one stream`,
        );
      }
      open++;
      byAddress.set(address, held + 1);
    },
    release(address) {
      open--;
      if (address === undefined) return;
      const left = (byAddress.get(address) ?? 1) - 1;
      if (left > 0) byAddress.set(address, left);
      else byAddress.delete(address);
    },
  };
}
