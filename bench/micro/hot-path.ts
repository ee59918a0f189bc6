/**
 * A quick in-process measure of the hub's hot path, for before/after comparisons of a hub
 * change without the full `npm run bench`: one channel, N subscribers on node:http over
 * loopback (their reader is a child process), events published one per event-loop turn and
 * in bursts of 8 per turn. Prints the server's CPU per delivery (`process.cpuUsage`).
 *
 *   npx tsx bench/micro/hot-path.ts [subscribers=1000] [events=1000] [rounds=3]
 *   HUB_SRC=node_modules/.herald-baseline npx tsx bench/micro/hot-path.ts
 */
import { fork } from "node:child_process";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { connect } from "node:net";

/** Another copy of the hub's source to measure (HUB_SRC=dir), as `npm run bench -- --baseline`. */
const src = process.env.HUB_SRC ?? new URL("../../packages/hub/src", import.meta.url).pathname;
type Index = typeof import("../../packages/hub/src/index.ts");
type NodeAdapter = typeof import("../../packages/hub/src/node.ts");

const SECRET = "micro-bench-secret-that-is-long-enough!";

if (process.argv[2] === "readers") {
  const [, , , port, token, count] = process.argv;
  let open = 0;
  for (let i = 0; i < Number(count); i++) {
    const socket = connect(Number(port), "127.0.0.1", () => {
      socket.write(
        `GET /api/v1/events/project.bench?token=${token} HTTP/1.1\r\nhost: x\r\naccept: text/event-stream\r\n\r\n`,
      );
    });
    socket.once("data", () => {
      open++;
      if (open === Number(count)) process.send?.("open");
    });
    socket.on("data", () => {});
    socket.on("error", (error) => console.error(`reader ${i}: ${error.message}`));
  }
} else {
  const subscribers = Number(process.argv[2] ?? 1000);
  const events = Number(process.argv[3] ?? 1000);
  const rounds = Number(process.argv[4] ?? 3);
  const { createHub, createJwtAuth, createMemoryStore } = (await import(
    `${src}/index.ts`
  )) as Index;
  const { acceptEventStreams, createNodeHandler } = (await import(`${src}/node.ts`)) as NodeAdapter;
  const auth = createJwtAuth({ secret: SECRET });
  const hub = createHub({
    store: createMemoryStore(),
    limits: { maxStreamsPerSubject: subscribers + 10 },
  });
  const handle = createNodeHandler(hub, { auth });
  const server = createServer((req, res) => {
    void handle(req, res).then((handled) => {
      if (!handled) res.writeHead(404).end();
    });
  });
  acceptEventStreams(server, hub, { auth });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const token = await auth.sign({ sub: "bench", channels: ["project.*"] });
  const readers = fork(new URL(import.meta.url).pathname, [
    "readers",
    String((server.address() as AddressInfo).port),
    token,
    String(subscribers),
  ]);
  await new Promise<void>((resolve) => readers.once("message", () => resolve()));
  const payload = {
    type: "render_progress",
    object: { taskId: "t1", fileId: "f1", progress: 0.5, stage: "denoise", etaMs: 1200 },
    projectId: "p1",
  };
  const turn = () => new Promise((resolve) => setImmediate(resolve));
  async function measure(perTurn: number): Promise<number> {
    const before = (await hub.metrics.delivered.get()).values[0]?.value ?? 0;
    const cpu = process.cpuUsage();
    for (let n = 0; n < events; n += perTurn) {
      for (let i = 0; i < perTurn; i++) void hub.publish("project.bench", { ...payload, n: n + i });
      await turn();
    }
    await turn();
    const used = process.cpuUsage(cpu);
    const after = (await hub.metrics.delivered.get()).values[0]?.value ?? 0;
    return (used.user + used.system) / (after - before);
  }
  await measure(1); // warm-up
  for (let round = 0; round < rounds; round++) {
    const single = await measure(1);
    const burst = await measure(8);
    process.stdout.write(
      `round ${round + 1}: one per turn ${single.toFixed(3)} µs/delivery, bursts of 8 ${burst.toFixed(3)} µs/delivery\n`,
    );
  }
  readers.kill();
  await hub.close();
  server.closeAllConnections();
  server.close();
  process.exit(0);
}
