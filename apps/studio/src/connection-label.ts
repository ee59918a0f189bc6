/**
 * What the connection indicator says, from the events client's state (packages/client
 * README, "Connection states"). A re-open for a change of channels (a generation starting)
 * passes through "connecting" without any outage, so once the stream has been open that
 * state still reads "Connected"; a real break shows as "reconnecting".
 */
import type { ConnectionState } from "@herald/client";

export type ConnectionTone = "ok" | "waiting" | "warning" | "offline";

export interface ConnectionLabel {
  text: "Connected" | "Connecting…" | "Reconnecting…" | "Offline";
  tone: ConnectionTone;
  /** A longer line for a person: why, and what happens next. */
  detail: string;
  /** Whether a "Try again" makes sense. */
  canRetry: boolean;
}

export function connectionLabel(state: ConnectionState, everOpen: boolean): ConnectionLabel {
  switch (state.status) {
    case "open":
      return {
        text: "Connected",
        tone: "ok",
        detail: "Live updates are on.",
        canRetry: false,
      };
    case "idle":
    case "connecting":
      return everOpen
        ? { text: "Connected", tone: "ok", detail: "Live updates are on.", canRetry: false }
        : {
            text: "Connecting…",
            tone: "waiting",
            detail: "Opening the live updates stream.",
            canRetry: false,
          };
    case "reconnecting":
      return {
        text: "Reconnecting…",
        tone: "warning",
        detail: `The live updates stream dropped; trying again (attempt ${state.attempts}). Nothing is lost meanwhile.`,
        canRetry: false,
      };
    case "closed":
      return {
        text: "Offline",
        tone: "offline",
        detail: state.lastError?.message
          ? `Live updates stopped: ${state.lastError.message}`
          : "Live updates stopped.",
        canRetry: true,
      };
  }
}
