/**
 * The connection state as a plain observable (TanStack-style): `getSnapshot()` returns the same
 * object until something changes, so React's `useSyncExternalStore` re-renders only on change.
 */
import type { ClientErrorCode } from "./errors.ts";

export type ConnectionStatus = "idle" | "connecting" | "open" | "reconnecting" | "closed";

export interface ConnectionError {
  code?: ClientErrorCode;
  status?: number;
  message: string;
}

export interface ConnectionState {
  /**
   * idle: no subscription and no stream. connecting: opening a stream. open: receiving.
   * reconnecting: the stream failed and another attempt is on its way. closed: given up,
   * refused for good (400/403/404), or `close()` was called.
   */
  readonly status: ConnectionStatus;
  /** Failed attempts in a row; 0 again once a stream opens. */
  readonly attempts: number;
  readonly lastError?: ConnectionError;
  /** The id of the last event received: the cursor a re-opened stream resumes from. */
  readonly lastEventId?: string;
}

export interface ConnectionStore {
  getSnapshot(): ConnectionState;
  /** Calls `listener` after every change; returns the function that stops it. */
  subscribe(listener: (state: ConnectionState) => void): () => void;
}

export interface WritableConnectionStore extends ConnectionStore {
  /** Applies `patch`; listeners hear of it only where a field changed. */
  update(patch: Partial<ConnectionState>): void;
}

export const INITIAL_STATE: ConnectionState = { status: "idle", attempts: 0 };

export function createConnectionStore(
  onListenerError: (error: unknown) => void,
): WritableConnectionStore {
  let state: ConnectionState = INITIAL_STATE;
  const listeners = new Set<(state: ConnectionState) => void>();

  return {
    getSnapshot: () => state,
    subscribe(listener) {
      // Wrapped so that subscribing the same function twice gives two independent listeners.
      const entry = (next: ConnectionState) => listener(next);
      listeners.add(entry);
      return () => {
        listeners.delete(entry);
      };
    },
    update(patch) {
      const next = { ...state, ...patch };
      if (sameState(state, next)) return;
      state = withoutUndefined(next);
      for (const listener of [...listeners]) {
        try {
          listener(state);
        } catch (error) {
          onListenerError(error);
        }
      }
    },
  };
}

function sameState(a: ConnectionState, b: ConnectionState): boolean {
  return (
    a.status === b.status &&
    a.attempts === b.attempts &&
    a.lastEventId === b.lastEventId &&
    (a.lastError === b.lastError ||
      (a.lastError?.code === b.lastError?.code &&
        a.lastError?.status === b.lastError?.status &&
        a.lastError?.message === b.lastError?.message))
  );
}

/** Keeps `"lastError" in state` honest after a patch set a field to undefined. */
function withoutUndefined(state: ConnectionState): ConnectionState {
  const out: { -readonly [K in keyof ConnectionState]: ConnectionState[K] } = {
    status: state.status,
    attempts: state.attempts,
  };
  if (state.lastError !== undefined) out.lastError = state.lastError;
  if (state.lastEventId !== undefined) out.lastEventId = state.lastEventId;
  return out;
}
