/**
 * `npm run bench [-- --quick] [--out FILE] [--only a,b] [--systems a,b] [--rounds N] [--profile]`
 *
 * Herald beside what a user would pick instead, on this machine: every server in a process of
 * its own, every subscriber in load generator processes of their own (`client.ts`), the same
 * payloads for all. Writes a table to the terminal and the figures to
 * `bench/results/latest.json` (or `--out`). What each scenario measures, and what limits each
 * figure, is in docs/BENCHMARKS.md.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { cpus, loadavg, release, totalmem } from "node:os";
import { dirname, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { deleteKeys } from "../packages/hub/test/support/redis-server.ts";
import {
  type ClientHandle,
  killAll,
  nextLocalAddress,
  type ServerHandle,
  type ServerSpawnOptions,
  startClient,
  startServer,
} from "./lib/processes.ts";
import {
  bytes,
  type ClientReport,
  FANOUT_CHANNEL,
  isHerald,
  SYSTEMS,
  type SystemName,
  summarise,
  transportOf,
} from "./lib/shared.ts";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const SCENARIOS = [
  "fanout-1k",
  "fanout-5k",
  "generation",
  "connections",
  "reconnect-storm",
  "redis-2",
  "slow-share",
] as const;
type ScenarioName = (typeof SCENARIOS)[number];

const { values: args } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    out: { type: "string" },
    only: { type: "string" },
    systems: { type: "string" },
    rounds: { type: "string" },
    profile: { type: "boolean", default: false },
    window: { type: "string" },
    burst: { type: "string" },
    baseline: { type: "string" },
  },
});

const quick = args.quick ?? false;
const config = {
  quick,
  rounds: Number(args.rounds ?? (quick ? 1 : 2)),
  warmupMs: quick ? 1500 : 3000,
  measureMs: quick ? 4000 : 10_000,
  generationMeasureMs: quick ? 6000 : 20_000,
  /** Fan-out publisher: events per event-loop turn, and events ahead of the slowest subscriber. */
  burst: Number(args.burst ?? 8),
  window: Number(args.window ?? 64),
  ackEveryMs: 2,
  generation: { subscribers: 10_000, progressPerSecond: 2, taskEveryS: 5 },
  storm: { subscribers: 5000, perSecond: 10 },
  slowShare: { fast: 500, throttled: 100, bytesPerSec: 5000, perSecond: 100 },
  redisUrl: process.env.REDIS_URL ?? "redis://127.0.0.1:6379",
};
const only = new Set((args.only?.split(",") ?? SCENARIOS) as ScenarioName[]);
const systems = (args.systems?.split(",") ?? [...SYSTEMS]) as SystemName[];
for (const name of only) if (!SCENARIOS.includes(name)) throw new Error(`no scenario ${name}`);
for (const name of systems) {
  if (!(SYSTEMS as readonly string[]).includes(name)) throw new Error(`no system ${name}`);
}
/** Another copy of packages/hub/src, measured as `herald-baseline` right after `herald`. */
const baseline = args.baseline ? resolve(args.baseline) : undefined;
if (baseline) systems.splice(systems.indexOf("herald") + 1, 0, "herald-baseline");
const outFile = resolve(args.out ?? `${ROOT}/bench/results/latest.json`);
const profileDir = args.profile ? `${ROOT}/bench/results/profiles` : undefined;

type Figures = Record<string, unknown>;
const results: {
  machine: Figures;
  config: typeof config;
  scenarios: Partial<Record<ScenarioName, Record<string, Figures>>>;
  ratios: Record<string, number>;
  targets: Record<string, { target: string; value: string; met: boolean | null }>;
} = { machine: machine(), config, scenarios: {}, ratios: {}, targets: {} };

/**
 * The JSON file: `scenarios` names only the systems compared (herald and its peers); a
 * baseline's figures go under `baseline`, by scenario, so that readers of `scenarios` never
 * meet a system they do not know.
 */
function asWritten() {
  if (!baseline) return results;
  const scenarios: typeof results.scenarios = {};
  const measured: Record<string, Figures> = {};
  for (const [name, bySystem] of Object.entries(results.scenarios)) {
    const { "herald-baseline": figures, ...compared } = bySystem;
    scenarios[name as ScenarioName] = compared;
    if (figures) measured[name] = figures;
  }
  return {
    ...results,
    scenarios,
    baseline: { src: relative(ROOT, baseline), scenarios: measured },
  };
}

process.on("SIGINT", () => {
  killAll();
  process.exit(130);
});

function machine(): Figures {
  const limits = readFileSync("/proc/self/limits", "utf8");
  const files = limits.split("\n").find((line) => line.startsWith("Max open files"));
  return {
    cpu: cpus()[0]?.model ?? "unknown",
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    kernel: release(),
    node: process.version,
    openFileLimit: Number(files?.split(/\s+/)[3] ?? 0),
    loadAverageAtStart: loadavg().map((value) => Math.round(value * 100) / 100),
    date: new Date().toISOString(),
  };
}

/** How to start a system's server: the profiler on Herald's, a baseline's sources. */
function spawnOptions(system: SystemName): ServerSpawnOptions {
  const options: ServerSpawnOptions = {};
  if (isHerald(system) && profileDir) options.profileDir = profileDir;
  if (system === "herald-baseline") options.heraldSrc = baseline;
  return options;
}

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));
const round1 = (value: number) => Math.round(value * 10) / 10;
const round2 = (value: number) => Math.round(value * 100) / 100;

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

/** The request path of a subscriber of `channels` (`{i}`: the subscriber's index). */
function pathFor(system: SystemName, channels: readonly string[], token?: string): string {
  const query = channels.map((channel) => `channel=${channel}`).join("&");
  if (isHerald(system)) return `/api/v1/events?${query}&token=${token}`;
  if (system === "socket.io") return `/socket.io/?EIO=4&transport=websocket&${query}`;
  return `/?${query}`;
}

interface ClientPlan {
  server: ServerHandle;
  path: string;
  subscribers: number;
  processes: number;
  checkSequence?: boolean;
  ackEveryMs?: number;
  concurrency?: number;
  /** Index of the first subscriber. */
  first?: number;
  /** Read at about this many bytes a second (a slow link). */
  throttleBytesPerSec?: number;
}

async function startClients(plan: ClientPlan): Promise<ClientHandle[]> {
  const clients: ClientHandle[] = [];
  const per = Math.ceil(plan.subscribers / plan.processes);
  for (let p = 0; p < plan.processes; p++) {
    const first = p * per;
    const count = Math.min(per, plan.subscribers - first);
    if (count <= 0) break;
    clients.push(
      startClient({
        transport: transportOf(plan.server.system),
        port: plan.server.port,
        localAddress: nextLocalAddress(),
        path: plan.path,
        first: (plan.first ?? 0) + first,
        count,
        concurrency: plan.concurrency ?? 128,
        checkSequence: plan.checkSequence ?? false,
        ackEveryMs: plan.ackEveryMs ?? 0,
        throttleBytesPerSec: plan.throttleBytesPerSec ?? 0,
      }),
    );
  }
  const connected = await Promise.all(clients.map((client) => client.connected));
  const open = connected.reduce((sum, c) => sum + c.open, 0);
  const failed = connected.reduce((sum, c) => sum + c.failed, 0);
  if (failed > 0) {
    const errors = [...new Set(connected.flatMap((c) => c.errors))].join(", ");
    log(`  ${plan.server.system}: ${failed} of ${plan.subscribers} connections failed (${errors})`);
  }
  if (open === 0) throw new Error(`no subscriber could connect to ${plan.server.system}`);
  return clients;
}

/** Forwards the slowest subscriber's acknowledged event to the publishing server. */
function relayAcks(server: ServerHandle, clients: readonly ClientHandle[]): void {
  const mins = clients.map(() => 0);
  let sent = 0;
  clients.forEach((client, index) => {
    client.onProgress((n) => {
      mins[index] = n;
      const min = Math.min(...mins);
      if (min > sent) {
        sent = min;
        server.tell({ op: "ack", n: min });
      }
    });
  });
}

async function stopAll(servers: ServerHandle[], clients: ClientHandle[]): Promise<void> {
  // Servers first: they close first, so TIME_WAIT lands on their side, not on client ports.
  await Promise.all(servers.map((server) => server.stop()));
  await Promise.all(clients.map((client) => client.stop()));
}

function sumReports(reports: readonly ClientReport[]) {
  const sum = (pick: (report: ClientReport) => number) =>
    reports.reduce((total, report) => total + pick(report), 0);
  return {
    received: sum((r) => r.received),
    total: sum((r) => r.total),
    cpuUs: sum((r) => r.cpuUs),
    wallMs: Math.max(...reports.map((r) => r.wallMs)),
    gaps: sum((r) => r.gaps),
    duplicates: sum((r) => r.duplicates),
    open: sum((r) => r.open),
    latency: summarise(reports.map((r) => r.histogram)),
  };
}

/**
 * The figures every delivery scenario reports, from what the generators received in a window
 * and the server CPU time spent over `server.wallMs`.
 */
function deliveryFigures(
  received: ReturnType<typeof sumReports>,
  server: { cpuUs: number; wallMs: number },
) {
  return {
    deliveriesPerSec: Math.round(received.received / (received.wallMs / 1000)),
    p50Ms: received.latency.p50Ms,
    p99Ms: received.latency.p99Ms,
    maxMs: received.latency.maxMs,
    serverCpuPct: round1((server.cpuUs / 1000 / server.wallMs) * 100),
    clientCpuPct: round1((received.cpuUs / 1000 / received.wallMs) * 100),
    serverCpuUsPerDelivery: round2(server.cpuUs / received.received),
    clientCpuUsPerDelivery: round2(received.cpuUs / received.received),
  };
}

/** One flow-controlled fan-out run: deliveries per second, latency, CPU on both sides. */
async function fanoutRun(
  system: SystemName,
  subscribers: number,
  processes: number,
  options: { redis?: boolean } = {},
): Promise<Figures> {
  const servers: ServerHandle[] = [];
  const clients: ClientHandle[] = [];
  try {
    const spawn = spawnOptions(system);
    if (options.redis) spawn.redis = { url: config.redisUrl, keyPrefix: redisPrefix };
    servers.push(await startServer(system, spawn));
    if (options.redis) servers.push(await startServer(system, spawn));
    const publisher = servers[0] as ServerHandle;
    for (const [index, server] of servers.entries()) {
      clients.push(
        ...(await startClients({
          server,
          path: pathFor(system, [FANOUT_CHANNEL], server.token),
          subscribers: subscribers / servers.length,
          processes: Math.max(1, processes / servers.length),
          first: (index * subscribers) / servers.length,
          checkSequence: true,
          ackEveryMs: config.ackEveryMs,
        })),
      );
    }
    relayAcks(publisher, clients);
    await publisher.call({
      op: "fanout",
      channel: FANOUT_CHANNEL,
      window: config.window,
      burst: config.burst,
    });
    await sleep(config.warmupMs);
    const startStats = await publisher.stats();
    await Promise.all([
      ...servers.map((server) => server.call({ op: "mark" })),
      ...clients.map((client) => client.report({ op: "mark" })),
    ]);
    await sleep(config.measureMs);
    const [serverStats, reports] = await Promise.all([
      Promise.all(servers.map((server) => server.stats())),
      Promise.all(clients.map((client) => client.report())),
    ]);
    const { published } = await publisher.call<{ published: number }>({ op: "stop" });
    await sleep(500);
    const final = sumReports(
      await Promise.all(clients.map((client) => client.report({ op: "sequence", n: published }))),
    );
    const window = sumReports(reports);
    const wallS = window.wallMs / 1000;
    const serverCpuUs = serverStats.reduce((sum, s) => sum + s.cpuUs, 0);
    const serverWallMs = Math.max(...serverStats.map((s) => s.wallMs));
    const open = final.open;
    return {
      ...deliveryFigures(window, { cpuUs: serverCpuUs, wallMs: serverWallMs }),
      eventsPerSec: Math.round(((serverStats[0]?.published ?? 0) - startStats.published) / wallS),
      subscribers: open,
      clientProcesses: clients.length,
      serverProcesses: servers.length,
      published,
      lost: final.gaps,
      duplicates: final.duplicates,
      publishErrors: serverStats.reduce((sum, s) => sum + s.publishErrors, 0),
      serverRssMiB: round1(serverStats.reduce((sum, s) => sum + s.rss, 0) / 2 ** 20),
    };
  } finally {
    await stopAll(servers, clients);
  }
}

async function fanout(name: "fanout-1k" | "fanout-5k", subscribers: number, processes: number) {
  const rounds: Record<string, Figures[]> = {};
  for (let round = 0; round < config.rounds; round++) {
    // Each round in another order, so no system always runs first (or last) in a noisy minute.
    const order = systems.map((_, i) => systems[(i + round) % systems.length] as SystemName);
    for (const system of order) {
      log(`${name}: ${system} (round ${round + 1} of ${config.rounds})`);
      const figures = await fanoutRun(system, subscribers, processes);
      log(`  ${describe(figures)}`);
      rounds[system] = [...(rounds[system] ?? []), figures];
    }
  }
  const scenario: Record<string, Figures> = {};
  for (const system of systems) {
    const runs = rounds[system] ?? [];
    // The best round: noise from the other work on this machine only ever slows a run down.
    const best = runs.reduce((a, b) =>
      Number(b.deliveriesPerSec) > Number(a.deliveriesPerSec) ? b : a,
    );
    scenario[system] = {
      ...best,
      rounds: runs.map((run) => run.deliveriesPerSec),
    };
  }
  results.scenarios[name] = scenario;
}

function describe(figures: Figures): string {
  return Object.entries(figures)
    .filter(([, value]) => typeof value === "number")
    .map(([key, value]) => `${key}=${value}`)
    .join(" ");
}

async function generation() {
  const scenario: Record<string, Figures> = {};
  const { subscribers, progressPerSecond, taskEveryS } = config.generation;
  for (const system of systems) {
    log(`generation: ${system}`);
    const servers: ServerHandle[] = [];
    const clients: ClientHandle[] = [];
    try {
      const server = await startServer(system, spawnOptions(system));
      servers.push(server);
      clients.push(
        ...(await startClients({
          server,
          path: pathFor(system, ["file.f{i}", "user.u{i}"], server.token),
          subscribers,
          processes: 2,
        })),
      );
      await server.call({ op: "generation", subscribers, progressPerSecond, taskEveryS });
      await sleep(config.warmupMs);
      const start = await server.call<{ published: number }>({ op: "mark" });
      await Promise.all(clients.map((client) => client.report({ op: "mark" })));
      await sleep(config.generationMeasureMs);
      const [stats, reports] = await Promise.all([
        server.stats(),
        Promise.all(clients.map((client) => client.report())),
      ]);
      const { published } = await server.call<{ published: number }>({ op: "stop" });
      await sleep(1000);
      const final = sumReports(await Promise.all(clients.map((client) => client.report())));
      const window = sumReports(reports);
      scenario[system] = {
        ...deliveryFigures(window, stats),
        eventsPerSec: Math.round((stats.published - start.published) / (stats.wallMs / 1000)),
        subscribers: final.open,
        published,
        // Every event has exactly one subscriber here.
        lost: published - final.total,
        serverRssMiB: round1(stats.rss / 2 ** 20),
      };
      log(`  ${describe(scenario[system] as Figures)}`);
    } finally {
      await stopAll(servers, clients);
    }
  }
  results.scenarios.generation = scenario;
}

/** Idle streams up to the server's open-file limit, and what each costs in memory. */
async function holdStreams(
  servers: ServerHandle[],
  system: SystemName,
): Promise<{ clients: ClientHandle[]; per: Figures[] }> {
  const clients: ClientHandle[] = [];
  const per: Figures[] = [];
  // A few streams opened and closed first: code compiled and pools filled on first use are
  // not what a stream costs.
  for (const [index, server] of servers.entries()) {
    const warm = await startClients({
      server,
      path: pathFor(system, [`file.c${index}`], server.token),
      subscribers: 200,
      processes: 1,
    });
    await stopAll([], warm);
  }
  await sleep(500);
  const before = await Promise.all(servers.map((server) => server.memory()));
  for (const [index, server] of servers.entries()) {
    const base = before[index];
    if (!base) continue;
    // What is left of the limit, less a few for what the process opens meanwhile.
    const streams = base.fdLimit - base.fdsOpen - 16;
    clients.push(
      ...(await startClients({
        server,
        path: pathFor(system, [`file.c${index}`], server.token),
        subscribers: streams,
        processes: Math.ceil(streams / 5000),
        concurrency: 256,
        first: index * streams,
      })),
    );
  }
  await sleep(2000);
  const after = await Promise.all(servers.map((server) => server.memory()));
  for (const [index, memory] of after.entries()) {
    const base = before[index];
    if (!base) continue;
    const streams = memory.connections;
    per.push({
      streams,
      fdLimit: memory.fdLimit,
      rssPerStreamBytes: Math.round((memory.rss - base.rss) / streams),
      heapPerStreamBytes: Math.round((memory.heapUsed - base.heapUsed) / streams),
      externalPerStreamBytes: Math.round(
        (memory.external - base.external + memory.arrayBuffers - base.arrayBuffers) / streams,
      ),
      rssMiB: round1(memory.rss / 2 ** 20),
      heapUsedMiB: round1(memory.heapUsed / 2 ** 20),
    });
  }
  return { clients, per };
}

async function connections(redisSkip: string | undefined) {
  const scenario: Record<string, Figures> = {};
  for (const system of systems) {
    log(`connections: ${system}`);
    const servers = [await startServer(system, spawnOptions(system))];
    let clients: ClientHandle[] = [];
    try {
      const held = await holdStreams(servers, system);
      clients = held.clients;
      const figures = held.per[0] ?? {};
      scenario[system] = {
        deliveriesPerSec: null,
        p50Ms: null,
        p99Ms: null,
        maxMs: null,
        serverCpuPct: null,
        clientCpuPct: null,
        ...figures,
      };
      log(`  ${describe(scenario[system] as Figures)}`);
    } finally {
      await stopAll(servers, clients);
    }
  }
  if (systems.includes("herald")) {
    const herald = scenario.herald ?? {};
    herald.twoProcesses = redisSkip
      ? { skipped: redisSkip }
      : await twoProcesses().catch((error: unknown) => ({ skipped: String(error) }));
    log(`  two processes: ${JSON.stringify(herald.twoProcesses)}`);
  }
  results.scenarios.connections = scenario;
}

/** Two Herald processes on one Redis, each holding streams up to its limit; one publishes. */
async function twoProcesses(): Promise<Figures> {
  const spawn: ServerSpawnOptions = { redis: { url: config.redisUrl, keyPrefix: redisPrefix } };
  const servers = [await startServer("herald", spawn), await startServer("herald", spawn)];
  let clients: ClientHandle[] = [];
  try {
    const held = await holdStreams(servers, "herald");
    clients = held.clients;
    // Every stream must hear what one process publishes: two events per channel, via Redis.
    const publisher = servers[0] as ServerHandle;
    const events = 2;
    for (const channel of ["file.c0", "file.c1"]) {
      await publisher.call({ op: "publish", channel, count: events });
    }
    await sleep(3000);
    const reports = sumReports(await Promise.all(clients.map((client) => client.report())));
    const streams = held.per.reduce((sum, figures) => sum + Number(figures.streams), 0);
    return {
      streams,
      perProcess: held.per,
      delivered: reports.total,
      expectedAtLeast: streams * events,
    };
  } finally {
    await stopAll(servers, clients);
  }
}

async function reconnectStorm(system: SystemName) {
  log(`reconnect-storm: ${system}`);
  const { subscribers, perSecond } = config.storm;
  const channel = "file.storm";
  const server = await startServer(system, spawnOptions(system));
  let clients: ClientHandle[] = [];
  try {
    clients = await startClients({
      server,
      path: pathFor(system, [channel], server.token),
      subscribers,
      processes: 2,
      checkSequence: true,
      concurrency: 256,
    });
    await server.call({ op: "steady", channel, perSecond });
    await sleep(2000);
    await server.call({ op: "mark" });
    await Promise.all(clients.map((client) => client.report({ op: "mark" })));
    const dropped = Promise.all(clients.map((client) => client.next("dropped")));
    for (const client of clients) client.command({ op: "drop" });
    const droppedAt = Math.min(...(await dropped).map((d) => d.at));
    // Caught up: every subscriber has every event published until after all were dropped, and
    // one more published later.
    const { published: target } = await server.stats();
    let reports = await Promise.all(
      clients.map((client) => client.report({ op: "target", n: target })),
    );
    const deadline = Date.now() + 30_000;
    while (reports.some((r) => r.caughtUpAt === 0) && Date.now() < deadline) {
      await sleep(100);
      reports = await Promise.all(clients.map((client) => client.report()));
    }
    const caughtUp = reports.every((r) => r.caughtUpAt > 0);
    const caughtUpMs = caughtUp ? Math.max(...reports.map((r) => r.caughtUpAt)) - droppedAt : null;
    await sleep(1000);
    const stats = await server.stats();
    const { published } = await server.call<{ published: number }>({ op: "stop" });
    await sleep(1500);
    const final = sumReports(
      await Promise.all(clients.map((client) => client.report({ op: "sequence", n: published }))),
    );
    const figures: Figures = {
      ...deliveryFigures(final, stats),
      subscribers,
      reconnected: reports.reduce((sum, r) => sum + r.reconnected, 0),
      caughtUpMs,
      published,
      lost: final.gaps,
      duplicates: final.duplicates,
      publishedPerSecond: perSecond,
    };
    log(`  ${describe(figures)}`);
    results.scenarios["reconnect-storm"] = {
      ...results.scenarios["reconnect-storm"],
      [system]: figures,
    };
  } finally {
    await stopAll([server], clients);
  }
}

/**
 * Fast subscribers' latency with and without a share of throttled ones (about 5 KB/s each) on
 * the same channel, where render_progress flows faster than the throttled ones read: the
 * throttled streams fall behind and are conflated (issue 14); the fast ones should not notice.
 * On loopback the kernel buffers what a throttled reader leaves unread (up to its receive
 * buffer, about 128 KiB, since it reads too slowly for the buffer to grow) before the hub sees
 * an unsent byte, so the throttled streams fall behind a few seconds into the warm-up.
 */
async function slowShare() {
  const { fast, throttled, bytesPerSec, perSecond } = config.slowShare;
  const channel = "project.slow-share";
  const scenario: Record<string, Figures> = {};
  for (const share of [0, throttled]) {
    const name = share === 0 ? "herald (fast only)" : `herald (+${share} throttled)`;
    log(`slow-share: ${name}`);
    const server = await startServer("herald", spawnOptions("herald"));
    const fastClients: ClientHandle[] = [];
    const slowClients: ClientHandle[] = [];
    try {
      const path = pathFor("herald", [channel], server.token);
      fastClients.push(...(await startClients({ server, path, subscribers: fast, processes: 1 })));
      if (share > 0) {
        slowClients.push(
          ...(await startClients({
            server,
            path,
            subscribers: share,
            processes: 1,
            first: fast,
            throttleBytesPerSec: bytesPerSec,
          })),
        );
      }
      await server.call({ op: "steady", channel, perSecond });
      await sleep(config.warmupMs * 2);
      await server.call({ op: "mark" });
      const all = [...fastClients, ...slowClients];
      await Promise.all(all.map((client) => client.report({ op: "mark" })));
      await sleep(config.measureMs);
      const [stats, fastReports, slowReports] = await Promise.all([
        server.stats(),
        Promise.all(fastClients.map((client) => client.report())),
        Promise.all(slowClients.map((client) => client.report())),
      ]);
      await server.call({ op: "stop" });
      const fastWindow = sumReports(fastReports);
      const figures: Figures = {
        ...deliveryFigures(fastWindow, stats),
        fastSubscribers: fastWindow.open,
        throttledSubscribers: share,
        serverRssMiB: round1(stats.rss / 2 ** 20),
      };
      if (share > 0) {
        const slowWindow = sumReports(slowReports);
        figures.throttledOpen = slowWindow.open;
        figures.throttledEventsPerSecEach = round1(
          slowWindow.received / (slowWindow.wallMs / 1000) / share,
        );
        figures.throttledP99Ms = slowWindow.latency.p99Ms;
      }
      log(`  ${describe(figures)}`);
      scenario[name] = figures;
    } finally {
      await stopAll([server], [...fastClients, ...slowClients]);
    }
  }
  results.scenarios["slow-share"] = scenario;
}

async function redis2() {
  log("redis-2: herald, two servers on Redis");
  const figures = await fanoutRun("herald", 1000, 2, { redis: true });
  log(`  ${describe(figures)}`);
  results.scenarios["redis-2"] = { herald: figures };
}

const redisPrefix = `herald-bench:${process.pid}-${Date.now().toString(36)}:`;

/** Why the Redis parts cannot run, or `undefined` when they can. */
async function redisProblem(): Promise<string | undefined> {
  const file = `${ROOT}/packages/hub/src/redis-store.ts`;
  if (!existsSync(file))
    return "the Redis store does not exist yet (packages/hub/src/redis-store.ts)";
  const source = readFileSync(file, "utf8");
  if (!/export\s+(async\s+)?function\s+createRedisStore/.test(source))
    return "packages/hub/src/redis-store.ts exports no createRedisStore yet";
  const url = new URL(config.redisUrl);
  const answer = await new Promise<string>((done) => {
    const socket = connect({ host: url.hostname, port: Number(url.port || 6379) });
    socket.setTimeout(2000, () => {
      socket.destroy();
      done("no answer");
    });
    socket.on("error", (error) => done(error.message));
    socket.on("connect", () => socket.write("PING\r\n"));
    socket.on("data", (data) => {
      socket.destroy();
      done(data.toString().trim());
    });
  });
  return answer === "+PONG" ? undefined : `no Redis at ${config.redisUrl} (${answer})`;
}

async function cleanRedis(): Promise<void> {
  const { Redis } = await import("ioredis");
  const redis = new Redis(config.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    await deleteKeys(redis, redisPrefix);
  } finally {
    redis.disconnect();
  }
}

function judge(): void {
  const f1k = results.scenarios["fanout-1k"];
  const herald = Number(f1k?.herald?.deliveriesPerSec);
  for (const [peer, factor] of [
    ["ws", 1.2],
    ["better-sse", 1.8],
    ["bare", 1.0],
  ] as const) {
    const other = Number(f1k?.[peer]?.deliveriesPerSec);
    if (!herald || !other) continue;
    const ratio = round2(herald / other);
    results.ratios[`fanout-1k herald/${peer}`] = ratio;
    results.targets[`fanout-1k vs ${peer}`] = {
      target: `≥ ${factor}×`,
      value: `${ratio}×`,
      met: ratio >= factor,
    };
  }
  const f5k = results.scenarios["fanout-5k"];
  for (const peer of ["ws", "better-sse", "socket.io", "bare"]) {
    const a = Number(f5k?.herald?.deliveriesPerSec);
    const b = Number(f5k?.[peer]?.deliveriesPerSec);
    if (a && b) results.ratios[`fanout-5k herald/${peer}`] = round2(a / b);
  }
  const generationP99 = results.scenarios.generation?.herald?.p99Ms;
  if (typeof generationP99 === "number") {
    results.targets["generation p99"] = {
      target: "< 50 ms",
      value: `${generationP99} ms`,
      met: generationP99 < 50,
    };
  }
  const held = results.scenarios.connections?.herald;
  if (held?.streams !== undefined) {
    const rss = Number(held.rssPerStreamBytes);
    const heap = Number(held.heapPerStreamBytes);
    results.targets.connections = {
      target: "the whole file limit (about 19,900) at ≤ 8 KiB RSS and ≤ 4 KiB heap per stream",
      value: `${held.streams} streams, ${bytes(rss)} RSS, ${bytes(heap)} heap per stream`,
      met: Number(held.streams) >= Number(held.fdLimit) - 100 && rss <= 8192 && heap <= 4096,
    };
    const two = held.twoProcesses as Figures | undefined;
    results.targets["connections, two processes"] = two?.skipped
      ? { target: "40,000", value: `skipped: ${two.skipped}`, met: null }
      : {
          target: "40,000 streams on one machine",
          value: `${two?.streams} streams, ${two?.delivered} of ${two?.expectedAtLeast} deliveries`,
          met:
            Number(two?.streams) >= 39_000 &&
            Number(two?.delivered) >= Number(two?.expectedAtLeast),
        };
  }
  const storm = results.scenarios["reconnect-storm"]?.herald;
  if (storm) {
    results.targets["reconnect-storm"] = {
      target: "0 lost, all caught up within 10 s",
      value: `${storm.lost} lost, ${storm.duplicates} duplicates, caught up in ${storm.caughtUpMs} ms`,
      met: storm.lost === 0 && storm.duplicates === 0 && Number(storm.caughtUpMs) <= 10_000,
    };
  }
}

function table(): string {
  const lines: string[] = [];
  const row = (cells: readonly unknown[]) =>
    lines.push(
      `| ${cells.map((cell) => (cell === undefined || cell === null ? "–" : String(cell))).join(" | ")} |`,
    );
  const rule = (n: number) => lines.push(`|${" --- |".repeat(n)}`);
  const number = (value: unknown) =>
    typeof value === "number" ? value.toLocaleString("en-US") : value;
  for (const name of ["fanout-1k", "fanout-5k", "generation", "redis-2", "slow-share"] as const) {
    const scenario = results.scenarios[name];
    if (!scenario) continue;
    lines.push("", `### ${name}`, "");
    row([
      "system",
      "deliveries/s",
      "p50 ms",
      "p99 ms",
      "max ms",
      "server CPU %",
      "server µs/delivery",
      "client CPU %",
      "lost",
    ]);
    rule(9);
    for (const [system, f] of Object.entries(scenario)) {
      if (f.skipped) {
        row([system, `skipped: ${f.skipped}`]);
        continue;
      }
      row([
        system,
        number(f.deliveriesPerSec),
        f.p50Ms,
        f.p99Ms,
        f.maxMs,
        f.serverCpuPct,
        f.serverCpuUsPerDelivery,
        f.clientCpuPct,
        f.lost,
      ]);
    }
  }
  const held = results.scenarios.connections;
  if (held) {
    lines.push("", "### connections", "");
    row(["system", "idle streams", "RSS / stream", "heap / stream", "external / stream"]);
    rule(5);
    for (const [system, f] of Object.entries(held)) {
      row([
        system,
        number(f.streams),
        bytes(Number(f.rssPerStreamBytes)),
        bytes(Number(f.heapPerStreamBytes)),
        bytes(Number(f.externalPerStreamBytes)),
      ]);
    }
    const two = held.herald?.twoProcesses as Figures | undefined;
    if (two) {
      lines.push("");
      lines.push(
        two.skipped
          ? `Two Herald processes on Redis: skipped (${two.skipped}).`
          : `Two Herald processes on Redis: ${number(two.streams)} streams, ${number(two.delivered)} of ${number(two.expectedAtLeast)} deliveries.`,
      );
    }
  }
  const storm = results.scenarios["reconnect-storm"];
  if (storm) {
    lines.push("", "### reconnect-storm", "");
    row([
      "system",
      "subscribers",
      "reconnected",
      "caught up ms",
      "lost",
      "duplicates",
      "p99 ms",
      "max ms",
    ]);
    rule(8);
    for (const [system, f] of Object.entries(storm)) {
      if (f.skipped) row([system, `skipped: ${f.skipped}`]);
      else
        row([
          system,
          number(f.subscribers),
          number(f.reconnected),
          number(f.caughtUpMs),
          f.lost,
          f.duplicates,
          f.p99Ms,
          f.maxMs,
        ]);
    }
  }
  if (Object.keys(results.ratios).length > 0) {
    lines.push("", "### ratios (same run)", "");
    for (const [key, value] of Object.entries(results.ratios)) lines.push(`- ${key}: ${value}×`);
  }
  if (Object.keys(results.targets).length > 0) {
    lines.push("", "### targets", "");
    for (const [key, t] of Object.entries(results.targets)) {
      const verdict = t.met === null ? "skipped" : t.met ? "met" : "missed";
      lines.push(`- ${key}: ${t.value} (target ${t.target}): ${verdict}`);
    }
  }
  return `${lines.join("\n")}\n`;
}

async function main(): Promise<void> {
  const started = Date.now();
  const redisSkip = await redisProblem();
  if (redisSkip) log(`Redis parts skipped: ${redisSkip}`);
  if (profileDir) mkdirSync(profileDir, { recursive: true });
  try {
    if (only.has("fanout-1k")) await fanout("fanout-1k", 1000, 1);
    if (only.has("fanout-5k")) await fanout("fanout-5k", 5000, 2);
    if (only.has("generation")) await generation();
    if (only.has("connections")) await connections(redisSkip);
    if (only.has("reconnect-storm")) {
      for (const system of systems.filter(isHerald)) await reconnectStorm(system);
    }
    if (only.has("redis-2") && systems.includes("herald")) {
      if (redisSkip) results.scenarios["redis-2"] = { herald: { skipped: redisSkip } };
      else await redis2();
    }
    if (only.has("slow-share") && systems.includes("herald")) await slowShare();
  } finally {
    if (!redisSkip)
      await cleanRedis().catch((error: unknown) =>
        log(`could not delete the run's Redis keys: ${String(error)}`),
      );
    killAll();
  }
  judge();
  results.machine.durationS = Math.round((Date.now() - started) / 1000);
  mkdirSync(dirname(outFile), { recursive: true });
  writeFileSync(outFile, `${JSON.stringify(asWritten(), null, 2)}\n`);
  process.stdout.write(table());
  process.stdout.write(`\nwritten to ${outFile} in ${results.machine.durationS} s\n`);
}

await main();
