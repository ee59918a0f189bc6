import type { ConnectionState, ConnectionStore } from "@herald/client";
import { useCallback, useRef, useSyncExternalStore } from "react";
import { useHeraldContext } from "./herald-provider.tsx";

/**
 * What `useConnectionState()` and `useChannel` return: the connection state without
 * `lastEventId`, which changes on every event. A component that wants the cursor selects it:
 * `useConnectionState((state) => state.lastEventId)`.
 */
export type ConnectionView = Omit<ConnectionState, "lastEventId">;

/** What a fresh client says, for server rendering, where the provider has no client. */
const IDLE: ConnectionState = { status: "idle", attempts: 0 };
const NO_CLIENT_CONNECTION: ConnectionStore = {
  subscribe: () => () => {},
  getSnapshot: () => IDLE,
};

/**
 * The connection state of the provider's client. Without a selector it returns
 * `{ status, attempts, lastError? }`, re-rendering only when one of those changes (never for an
 * event's id). With one, it returns `select(state)` and re-renders only when that value changes
 * (compared with `Object.is`, or field by field for a plain object or array), so
 * `useConnectionState((s) => s.status === "open")` renders once per change of that boolean.
 */
export function useConnectionState(): ConnectionView;
export function useConnectionState<T>(select: (state: ConnectionState) => T): T;
export function useConnectionState<T>(select?: (state: ConnectionState) => T): T | ConnectionView {
  const { client } = useHeraldContext("useConnectionState");
  const connection = client?.connection ?? NO_CLIENT_CONNECTION;
  return useConnectionOf<T | ConnectionView>(connection, select ?? withoutCursor);
}

/** `useSyncExternalStore` over a selection: the selected value keeps its identity until it changes. */
export function useConnectionOf<T>(
  connection: ConnectionStore,
  select: (state: ConnectionState) => T,
): T {
  const selectRef = useRef(select);
  selectRef.current = select;
  const memo = useRef<{ state: ConnectionState; selected: T } | null>(null);
  const getSelected = useCallback((): T => {
    const state = connection.getSnapshot();
    const last = memo.current;
    if (last && last.state === state) return last.selected;
    const selected = selectRef.current(state);
    if (last && shallowEqual(last.selected, selected)) {
      memo.current = { state, selected: last.selected };
      return last.selected;
    }
    memo.current = { state, selected };
    return selected;
  }, [connection]);
  // The server snapshot is the client's own: on the server nothing connects, it stays "idle".
  return useSyncExternalStore(connection.subscribe, getSelected, getSelected);
}

function withoutCursor(state: ConnectionState): ConnectionView {
  const { lastEventId: _cursor, ...view } = state;
  return view;
}

function shallowEqual(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const keysA = Object.keys(a);
  const keysB = Object.keys(b);
  if (keysA.length !== keysB.length) return false;
  return keysA.every(
    (key) =>
      Object.hasOwn(b, key) &&
      Object.is((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key]),
  );
}
