import type { ConnectionState } from "@herald/client";
import { useSyncExternalStore } from "react";
import { useEventsClient } from "./herald-provider.tsx";

/**
 * The connection state of the provider's client (`status`, `attempts`, `lastError`,
 * `lastEventId`); the component re-renders only when it changes. The client's store is already
 * shaped for `useSyncExternalStore`: `getSnapshot()` keeps its identity until a change.
 */
export function useConnectionState(): ConnectionState {
  const { connection } = useEventsClient();
  // The server snapshot is the client's own: on the server nothing connects, it stays "idle".
  return useSyncExternalStore(connection.subscribe, connection.getSnapshot, connection.getSnapshot);
}
