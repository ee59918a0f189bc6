/**
 * The hub's HTTP publish path without sockets: what the HTTP face (`createEventsHandler`) adds
 * to `hub.publish` per event, one event per request and in batches of several sizes, with the
 * token check on its own beside it. No stream is open, so fan-out is not counted; node:http's
 * own parsing and writing are not either (the `http-publish` scenario counts everything).
 *
 *   npx tsx --conditions=@herald/source bench/micro/http-publish-path.ts [events=20000]
 */
import { createEventsHandler, createHub, createJwtAuth, createMemoryStore } from "@herald/hub";
import { progressMessage } from "../lib/shared.ts";
import { timed } from "./timed.ts";

const events = Number(process.argv[2] ?? 20_000);
const auth = createJwtAuth({ secret: "micro-bench-secret-of-at-least-32-chars" });
const token = await auth.sign({ sub: "bench", publish: ["file.*"] });
const hub = createHub({ store: createMemoryStore() });
const handle = createEventsHandler(hub, { auth });
const encoder = new TextEncoder();

function post(path: string, body: Uint8Array) {
  return handle({
    method: "POST",
    url: new URL(`http://hub${path}`),
    header: (name) => (name === "authorization" ? `Bearer ${token}` : undefined),
    readBody: async () => body,
  });
}

const message = (n: number) => progressMessage(n, "f1") as { type: "render_progress" };

await timed("hub.publish, awaited", events, async () => {
  for (let n = 0; n < events; n++) await hub.publish("file.f1", message(n));
});
await timed("auth.authenticate (once per request)", events, async () => {
  for (let n = 0; n < events; n++) await auth.authenticate(token);
});
await timed("POST /api/v1/events/{channel}, 1 per request", events, async () => {
  for (let n = 0; n < events; n++) {
    const answer = await post("/api/v1/events/file.f1", encoder.encode(JSON.stringify(message(n))));
    if (answer?.status !== 201) throw new Error(`answered ${answer?.status}`);
  }
});
for (const size of [1, 3, 10, 100]) {
  await timed(`hub.publishMany, ${size} per call`, events, async () => {
    for (let n = 0; n < events; n += size) {
      await hub.publishMany(
        Array.from({ length: size }, (_, i) => ({ channel: "file.f1", message: message(n + i) })),
      );
    }
  });
  await timed(`POST /api/v1/events, ${size} per request`, events, async () => {
    for (let n = 0; n < events; n += size) {
      const batch = Array.from({ length: size }, (_, i) => ({
        channel: "file.f1",
        message: message(n + i),
      }));
      const answer = await post(
        "/api/v1/events",
        encoder.encode(JSON.stringify({ events: batch })),
      );
      if (answer?.status !== 201) throw new Error(`answered ${answer?.status}`);
    }
  });
}
await hub.close();
