/**
 * Where the studio finds its server: the one place to change it. Both default to the page's
 * own origin, which is how `npm start` serves the studio (and how `npm run dev` proxies it), so
 * the `herald_session` and `herald_token` cookies ride along with every request and stream.
 *
 * Set `VITE_HERALD_API_URL` / `VITE_HERALD_EVENTS_URL` at build time to point elsewhere; a hub on
 * another origin then gets the cookies through `withCredentials` (it must allow that with CORS).
 */
import type { EventsClientOptions } from "@herald/client";

const env = import.meta.env;

export const API_BASE_URL: string = env.VITE_HERALD_API_URL ?? "";
export const EVENTS_BASE_URL: string = env.VITE_HERALD_EVENTS_URL ?? "";

/** Failures in a row before the indicator says "Offline" and stops trying by itself. */
export const MAX_RECONNECT_ATTEMPTS = 10;

/**
 * A stream holds at most 32 channels (PROTOCOL.md section 9); the user channel and a margin
 * leave this many for the files a page follows live. Files past it wait their turn (they are
 * queued on the server anyway) and are read over REST when they get a slot.
 */
export const MAX_FOLLOWED_FILES = 24;

export function eventsClientOptions(refreshSession: () => Promise<void>): EventsClientOptions {
  return {
    baseUrl: EVENTS_BASE_URL,
    withCredentials: EVENTS_BASE_URL !== "",
    backoff: { maxAttempts: MAX_RECONNECT_ATTEMPTS },
    // A 401 means the herald_token cookie expired (it lasts a day): GET /api/v1/session sets a
    // fresh one, then the client re-opens the stream.
    onUnauthorized: refreshSession,
    onError: (error) => console.warn(`[herald] ${error.code}: ${error.message}`),
  };
}
