import type { ConnectionState, ConnectionStore } from "@herald/client";
import { useSyncExternalStore } from "react";
import { useHeraldContext } from "./herald-provider.tsx";

/** What a fresh client says, for server rendering, where the provider has no client. */
const IDLE: ConnectionState = { status: "idle", attempts: 0 };
const NO_CLIENT_CONNECTION: ConnectionStore = {
  subscribe: () => () => {},
  getSnapshot: () => IDLE,
};

/**
 * The connection state of the provider's client (`status`, `attempts`, `lastError`,
 * `lastEventId`); the component re-renders only when it changes. The client's store is already
 * shaped for `useSyncExternalStore`: `getSnapshot()` keeps its identity until a change.
 */
export function useConnectionState(): ConnectionState {
  const { client } = useHeraldContext("useConnectionState");
  const connection = client?.connection ?? NO_CLIENT_CONNECTION;
  // The server snapshot is the client's own: on the server nothing connects, it stays "idle".
  return useSyncExternalStore(connection.subscribe, connection.getSnapshot, connection.getSnapshot);
}
