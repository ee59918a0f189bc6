/**
 * The hub's publish path in process, step by step, without sockets: what each step of
 * `hub.publish` costs (validation and JSON, id and store append, frame, the write to each
 * stream's sink) on the studio's generation traffic (one stream per channel, each publish
 * awaited). The sinks take the bytes and drop them, so only the hub's own work is counted.
 *
 *   npx tsx --conditions=@herald/source bench/micro/publish-path.ts [channels=5000] [events=30000]
 *   HUB_SRC=$PWD/node_modules/.herald-baseline npx tsx --conditions=@herald/source bench/micro/publish-path.ts
 */
import { progressMessage } from "../lib/shared.ts";
import { timed } from "./timed.ts";

const src = process.env.HUB_SRC ?? new URL("../../packages/hub/src", import.meta.url).pathname;
type Index = typeof import("../../packages/hub/src/index.ts");
type PublishedMessage = typeof import("../../packages/hub/src/published-message.ts");
type FrameCacheModule = typeof import("../../packages/hub/src/frame-cache.ts");

const channels = Number(process.argv[2] ?? 5000);
const events = Number(process.argv[3] ?? 30_000);
const { createHub, createMemoryStore } = (await import(`${src}/index.ts`)) as Index;
const { publishedJson } = (await import(`${src}/published-message.ts`)) as PublishedMessage;
const { FrameCache } = (await import(`${src}/frame-cache.ts`)) as FrameCacheModule;

let bytes = 0;
const sink = {
  write(chunk: Uint8Array) {
    bytes += chunk.byteLength;
  },
  bufferedBytes: 0,
  drained: () => Promise.resolve(),
  close() {},
};

const messages = Array.from({ length: channels }, (_, i) => progressMessage(i, `f${i}`));
const kinds = ["project", "file", "user"];

const steps = process.env.STEPS ?? "1234";
if (steps.includes("1"))
  await timed("1. validation and JSON (publishedJson)", events, () => {
    for (let n = 0; n < events; n++) {
      const i = n % channels;
      publishedJson(`file.f${i}`, messages[i], n, kinds, 65536);
    }
  });

const store = createMemoryStore();
if (steps.includes("2"))
  await timed("2. + id and store append (store.append)", events, async () => {
    for (let n = 0; n < events; n++) {
      const i = n % channels;
      const channel = `file.f${i}`;
      await store.append(channel, publishedJson(channel, messages[i], n, kinds, 65536), n);
    }
  });

const frameStore = createMemoryStore();
const frames = new FrameCache();
if (steps.includes("3"))
  await timed("3. + its SSE frame (FrameCache.frameOf)", events, async () => {
    for (let n = 0; n < events; n++) {
      const i = n % channels;
      const channel = `file.f${i}`;
      const data = publishedJson(channel, messages[i], n, kinds, 65536);
      bytes += frames.frameOf(await frameStore.append(channel, data, n)).length;
    }
  });

const hub = createHub({
  store: createMemoryStore(),
  limits: { maxStreamsPerSubject: channels + 1 },
});
for (let i = 0; i < channels; i++) {
  hub.openStream({ channels: [`file.f${i}`], subject: "bench" }, sink);
}
await new Promise((resolve) => setTimeout(resolve, 50));
const turn = () => new Promise((resolve) => setImmediate(resolve));
if (steps.includes("4"))
  await timed("4. hub.publish, awaited, to a stream each", events, async () => {
    for (let n = 0; n < events; n++) {
      const i = n % channels;
      await hub.publish(`file.f${i}`, messages[i] as { type: "render_progress" });
      // The generation scenario's 10 events per 1 ms tick: the event loop turns between ticks.
      if (n % 10 === 9) await turn();
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  });
process.stdout.write(`(${bytes} bytes framed)\n`);
await hub.close();
process.exit(0);
