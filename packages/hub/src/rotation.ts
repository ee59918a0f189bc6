/**
 * Streams ended on purpose at a maximum age (`maxStreamAgeMs`), for platforms that cut long
 * responses (docs/DEPLOYMENT.md): one timer sweeps every stream once a second, so each ends
 * between that age and a second later, and the client, told the end was planned, resumes at
 * once from the last id it received (docs/PROTOCOL.md, "Planned ends").
 */
import type { HubStream } from "./hub-stream.ts";

const SWEEP_MS = 1000;

/**
 * Ends the streams older than `maxAgeMs` through `end`, and returns the function that stops.
 * `streams` iterates in the order streams opened (a Set keeps insertion order), so a sweep
 * stops at the first stream young enough.
 */
export function startRotation(
  streams: Iterable<HubStream>,
  maxAgeMs: number,
  end: (stream: HubStream) => void,
): () => void {
  const timer = setInterval(() => {
    const oldest = performance.now() - maxAgeMs;
    for (const stream of streams) {
      if (stream.openedAt > oldest) break;
      // A stream still replaying history ends at a later sweep, once live: its events go whole.
      if (!stream.pending) end(stream);
    }
  }, SWEEP_MS);
  timer.unref();
  return () => clearInterval(timer);
}
