/**
 * The comment every stream gets while nothing else is sent (PROTOCOL.md section 2), from one
 * timer for all streams: a stream that wrote since the last tick needs none.
 */
import { encodeComment } from "@herald/protocol";
import type { HubStream } from "./hub-stream.ts";

const HEARTBEAT = Buffer.from(encodeComment());

/** Starts the heartbeat of `streams` (read at every tick); returns the function that stops it. */
export function startHeartbeat(streams: Iterable<HubStream>, intervalMs: number): () => void {
  const timer = setInterval(() => {
    for (const stream of streams) {
      // A stream waiting for the network has unsent bytes: its connection is not idle.
      if (!stream.active && !stream.pending && !stream.waiting) stream.write(HEARTBEAT);
      stream.active = false;
    }
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
