/**
 * One server process of the bench, forked by `run.ts`: `main.ts <system> [options JSON]`.
 * It starts the system, says `ready` with its port, then publishes as told and reports its own
 * CPU time and memory. The publishers live here, in the server's process, as an application
 * publishing into its hub (or its WebSocket server) would.
 */
import { readdirSync, readFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { getHeapSpaceStatistics } from "node:v8";
import {
  type MemoryReport,
  progressMessage,
  type ServerCommand,
  type ServerStats,
  type SystemName,
  ticking,
} from "../lib/shared.ts";
import { type SystemOptions, startSystem } from "./systems.ts";

const name = process.argv[2] as SystemName;
const options = JSON.parse(process.argv[3] ?? "{}") as SystemOptions;
const system = await startSystem(name, options);

let published = 0;
let stopPublisher: () => void = () => {};
let markCpu = process.cpuUsage();
let markWall = performance.now();

/**
 * As fast as the subscribers take it: at most `burst` events per event-loop turn (1: one event
 * per turn, the events spread out; 8: bursts), and never more than `window` events ahead of the
 * slowest subscriber's last acknowledged one (the generators report it every few ms), so
 * queues, and with them latency, stay bounded. Publishes are not awaited here: with 8 per turn
 * they are issued together, as a burst is.
 */
function fanout(channel: string, window: number, burst: number): (n: number) => void {
  let acked = 0;
  let scheduled = false;
  let running = true;
  const tick = () => {
    scheduled = false;
    if (!running) return;
    for (let i = 0; i < burst && published - acked < window; i++) {
      published++;
      system.publish(channel, progressMessage(published, "bench"));
    }
    if (published - acked < window) schedule();
  };
  const schedule = () => {
    if (scheduled || !running) return;
    scheduled = true;
    setImmediate(tick);
  };
  stopPublisher = () => {
    running = false;
  };
  schedule();
  return (n) => {
    if (n > acked) acked = n;
    schedule();
  };
}

let onAck: (n: number) => void = () => {};

/**
 * The studio's generation traffic: `channels` file channels, one per subscriber, each getting
 * `perSecond` render_progress events; a channel's events fall on its own ticks, so every tick
 * of `tickMs` publishes its share of the channels, one event at a time, each awaited.
 */
function generation(channels: number, perSecond: number, tickMs: number): void {
  const ticksPerPeriod = Math.max(1, Math.round(1000 / perSecond / tickMs));
  const sent = new Uint32Array(channels);
  stopPublisher = ticking(tickMs, async (tick) => {
    for (let i = tick % ticksPerPeriod; i < channels; i += ticksPerPeriod) {
      const n = (sent[i] as number) + 1;
      sent[i] = n;
      published++;
      await system.publish(`file.f${i}`, progressMessage(n, `f${i}`));
    }
  });
}

/** `perSecond` events on one channel, evenly spaced (one per tick), whatever the subscribers do. */
function rate(channel: string, perSecond: number): void {
  let sent = 0;
  stopPublisher = ticking(1000 / perSecond, async () => {
    sent++;
    published++;
    await system.publish(channel, progressMessage(sent, "rate"));
  });
}

function stats(): ServerStats {
  const cpu = process.cpuUsage(markCpu);
  const memory = process.memoryUsage();
  return {
    cpuUs: cpu.user + cpu.system,
    wallMs: performance.now() - markWall,
    published,
    publishErrors: system.publishErrors(),
    connections: system.connections(),
    rss: memory.rss,
    heapUsed: memory.heapUsed,
  };
}

function fdLimit(): number {
  const line = readFileSync("/proc/self/limits", "utf8")
    .split("\n")
    .find((l) => l.startsWith("Max open files"));
  return Number(line?.split(/\s+/)[3] ?? 0);
}

async function memory(): Promise<MemoryReport> {
  const gc = (globalThis as { gc?: () => void }).gc;
  for (let i = 0; i < 3; i++) {
    gc?.();
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const usage = process.memoryUsage();
  const young = getHeapSpaceStatistics().find((space) => space.space_name === "new_space");
  return {
    rss: usage.rss,
    youngGeneration: young?.physical_space_size ?? 0,
    heapUsed: usage.heapUsed,
    heapTotal: usage.heapTotal,
    external: usage.external,
    arrayBuffers: usage.arrayBuffers,
    fdsOpen: readdirSync("/proc/self/fd").length,
    fdLimit: fdLimit(),
    connections: system.connections(),
  };
}

async function answer(command: ServerCommand): Promise<unknown> {
  switch (command.op) {
    case "fanout":
      onAck = fanout(command.channel, command.window, command.burst);
      return {};
    case "ack":
      onAck(command.n);
      return undefined;
    case "generation":
      generation(command.channels, command.perSecond, command.tickMs);
      return {};
    case "rate":
      rate(command.channel, command.perSecond);
      return {};
    case "publish":
      for (let n = 1; n <= command.count; n++) {
        published++;
        system.publish(command.channel, progressMessage(n, "once"));
      }
      return {};
    case "stop":
      stopPublisher();
      return { published };
    case "mark":
      markCpu = process.cpuUsage();
      markWall = performance.now();
      return stats();
    case "stats":
      return stats();
    case "memory":
      return memory();
    case "exit":
      stopPublisher();
      await Promise.race([system.close(), new Promise((resolve) => setTimeout(resolve, 2000))]);
      process.exit(0);
  }
}

process.on("message", (message: ServerCommand & { id?: number }) => {
  answer(message).then(
    (reply) => {
      if (reply !== undefined && message.id !== undefined)
        process.send?.({ id: message.id, ...reply });
    },
    (error: unknown) => {
      process.send?.({ id: message.id, error: String(error) });
    },
  );
});
process.on("disconnect", () => process.exit(0));

system.server.listen({ port: 0, host: "127.0.0.1", backlog: 4096 }, () => {
  const { port } = system.server.address() as AddressInfo;
  process.send?.({ op: "ready", port, token: system.token });
});
