/** The connection indicator's logic: the label, and trying again when the network returns. */
import { useConnectionState, useEventsClient } from "@herald/react";
import { useCallback, useEffect, useRef } from "react";
import { type ConnectionLabel, connectionLabel } from "../connection-label.ts";

export interface Connection extends ConnectionLabel {
  retry(): void;
}

export function useConnection(): Connection {
  const client = useEventsClient();
  const state = useConnectionState();
  const everOpen = useRef(false);
  if (state.status === "open") everOpen.current = true;

  const retry = useCallback(() => client.reconnect(), [client]);

  useEffect(() => {
    // After giving up, the client waits for a person; the browser saying the network is back
    // (or the tab coming back into view) is as good a reason to try again.
    const retryIfOffline = () => {
      if (
        client.connection.getSnapshot().status === "closed" &&
        document.visibilityState !== "hidden"
      )
        client.reconnect();
    };
    window.addEventListener("online", retryIfOffline);
    document.addEventListener("visibilitychange", retryIfOffline);
    return () => {
      window.removeEventListener("online", retryIfOffline);
      document.removeEventListener("visibilitychange", retryIfOffline);
    };
  }, [client]);

  return { ...connectionLabel(state, everOpen.current), retry };
}
