/**
 * What the orchestrator (`bench/run.ts`), the servers (`bench/servers/`) and the load generator
 * (`bench/client.ts`) share: the payloads, the messages they exchange over IPC, and latency
 * histograms.
 */

/**
 * Herald and its peers. `ws` sends each event to each socket (as a Buffer encoded once);
 * `ws-batch` and `bare-batch` join the events of one event-loop turn into one message (one
 * write) per socket, as Herald does; `bare` writes each event to each response.
 */
export const SYSTEMS = [
  "herald",
  "ws",
  "ws-batch",
  "better-sse",
  "socket.io",
  "bare",
  "bare-batch",
] as const;
/** `herald-baseline`: Herald from another copy of its sources (`--baseline DIR`). */
export type SystemName = (typeof SYSTEMS)[number] | "herald-baseline";

export function isHerald(system: SystemName): boolean {
  return system === "herald" || system === "herald-baseline";
}

/** How a generator connection speaks to a system. */
export type Transport = "sse" | "ws" | "socket.io";

export function transportOf(system: SystemName): Transport {
  if (system === "ws" || system === "ws-batch") return "ws";
  if (system === "socket.io") return "socket.io";
  return "sse";
}

/** The secret every Herald server of a run signs and checks its tokens with. */
export const BENCH_SECRET = "herald-bench-secret-long-enough-for-hs256";

/** The channel every fan-out subscriber listens on. */
export const FANOUT_CHANNEL = "file.bench";

/**
 * Now on the machine's monotonic clock, in µs: `process.hrtime` reads CLOCK_MONOTONIC, one
 * clock for every process of the machine (not only this one), which no wall-clock step moves.
 * A publisher stamps its events with it (`sentUs`) and a generator in another process reads
 * latency as its own `nowUs() - sentUs`. Only on one machine: another machine's monotonic clock
 * has another origin.
 */
export function nowUs(): number {
  return Number(process.hrtime.bigint()) / 1000;
}

/**
 * A render_progress message as the renderer publishes it. With the `channel` and `ts` every
 * system adds, it is about 220 bytes of JSON. `n` numbers the events of its channel from 1, so
 * a subscriber can tell a lost event from a duplicate; `sentUs` is when it was published
 * (`nowUs()`), for latency.
 */
export function progressMessage(n: number, fileId: string): Record<string, unknown> {
  return {
    type: "render_progress",
    object: {
      taskId: `task_${fileId}`,
      fileId,
      progress: (n % 100) / 100,
      stage: "denoise",
      etaMs: 4200,
      step: n % 50,
    },
    projectId: "proj_bench",
    n,
    sentUs: nowUs(),
  };
}

/**
 * An open-loop publisher: `run(tick)` publishes what falls on one tick of `tickMs`, awaiting
 * each publish in turn as the studio does (`apps/server/src/events.ts`). Ticks missed while it
 * was busy are caught up at once, so the rate holds whatever the subscribers do. Returns what
 * stops it.
 */
export function ticking(tickMs: number, run: (tick: number) => Promise<void>): () => void {
  const start = performance.now();
  let tick = 0;
  let running = true;
  let timer: NodeJS.Timeout | undefined;
  const loop = async () => {
    const due = Math.floor((performance.now() - start) / tickMs);
    for (; tick <= due && running; tick++) await run(tick);
    if (running) timer = setTimeout(loop, tick * tickMs - (performance.now() - start));
  };
  loop().catch((error: unknown) => {
    process.stderr.write(`publisher: ${String(error)}\n`);
    process.exit(1);
  });
  return () => {
    running = false;
    clearTimeout(timer);
  };
}

/**
 * What the peers send: the message with the `channel` and `ts` Herald's hub adds, spliced into
 * its JSON as the hub does (`packages/hub/src/published-message.ts`). A spread copy
 * (`{ ...message, channel, ts }`) cost 2.3 µs more per message in isolation
 * (bench/micro/peer-stamp.ts) and about 20 % of what `ws` spends per delivery on generation
 * traffic (docs/BENCHMARKS.md): a peer handicapped by it is not at its best.
 */
export function stamped(message: Record<string, unknown>, channel: string): string {
  const json = JSON.stringify(message);
  return `${json.slice(0, -1)},"channel":${JSON.stringify(channel)},"ts":${Date.now()}}`;
}

/**
 * The same for the peers that take an object and serialise it themselves (better-sse,
 * Socket.IO): the fields set on the message, which each publish makes anew, rather than on a
 * spread copy of it.
 */
export function stampedObject(
  message: Record<string, unknown>,
  channel: string,
): Record<string, unknown> {
  message.channel = channel;
  message.ts = Date.now();
  return message;
}

/**
 * Latencies are kept as a histogram of µs in log-linear buckets: exact below 64 µs, then 64
 * buckets per power of two (a bucket is at most 1/64 = 1.6 % wide) up to 2^26 µs (67 s).
 */
const SUB_BUCKETS = 64;
export const HISTOGRAM_BUCKETS = SUB_BUCKETS * 21;

export function bucketOf(us: number): number {
  if (!(us >= 0)) return 0;
  if (us < SUB_BUCKETS) return Math.floor(us);
  const power = Math.floor(Math.log2(us)); // 6 and up
  const step = 2 ** (power - 6);
  const bucket = SUB_BUCKETS * (power - 5) + Math.floor(us / step) - SUB_BUCKETS;
  return Math.min(bucket, HISTOGRAM_BUCKETS - 1);
}

/** The highest µs a bucket holds (what a percentile in it is reported as). */
export function bucketTopUs(bucket: number): number {
  if (bucket < SUB_BUCKETS) return bucket + 1;
  const power = Math.floor(bucket / SUB_BUCKETS) + 5;
  const step = 2 ** (power - 6);
  return ((bucket % SUB_BUCKETS) + SUB_BUCKETS + 1) * step;
}

/** A histogram as [bucket, count] pairs, for IPC. */
export type SparseHistogram = Array<[number, number]>;

export function toSparse(histogram: Uint32Array): SparseHistogram {
  const pairs: SparseHistogram = [];
  for (let bucket = 0; bucket < histogram.length; bucket++) {
    const count = histogram[bucket] as number;
    if (count > 0) pairs.push([bucket, count]);
  }
  return pairs;
}

/** Latency in ms, to the µs (the percentiles are their bucket's top: at most 1.6 % high). */
export interface LatencySummary {
  count: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
}

const ms = (us: number) => Math.round(us) / 1000;

export function summarise(histograms: readonly SparseHistogram[], maxUs: number): LatencySummary {
  const merged = new Map<number, number>();
  let count = 0;
  for (const histogram of histograms) {
    for (const [bucket, n] of histogram) {
      merged.set(bucket, (merged.get(bucket) ?? 0) + n);
      count += n;
    }
  }
  const sorted = [...merged.entries()].sort((a, b) => a[0] - b[0]);
  const at = (q: number): number => {
    const rank = Math.ceil(q * count);
    let seen = 0;
    for (const [bucket, n] of sorted) {
      seen += n;
      if (seen >= rank) return Math.min(bucketTopUs(bucket), maxUs);
    }
    return maxUs;
  };
  return {
    count,
    p50Ms: count ? ms(at(0.5)) : 0,
    p99Ms: count ? ms(at(0.99)) : 0,
    p999Ms: count ? ms(at(0.999)) : 0,
    maxMs: ms(maxUs),
  };
}

/** Commands the orchestrator sends a server process; each is answered with the same `id`. */
export type ServerCommand =
  | {
      op: "fanout";
      channel: string;
      /** Events published beyond the slowest subscriber's last acknowledged one, at most. */
      window: number;
      /** Events published per event-loop turn, at most. */
      burst: number;
    }
  | { op: "ack"; n: number }
  | {
      op: "generation";
      /** Channels `file.f0` … : one per subscriber. */
      channels: number;
      /** Events per second on each channel. */
      perSecond: number;
      /** The publisher's tick: each channel's events fall on their own ticks. */
      tickMs: number;
    }
  | { op: "rate"; channel: string; perSecond: number }
  | { op: "publish"; channel: string; count: number }
  | { op: "stop" }
  | { op: "mark" }
  | { op: "stats" }
  | { op: "memory" }
  | { op: "exit" };

export interface ServerReady {
  op: "ready";
  port: number;
  /** A token every subscriber may use (Herald only). */
  token?: string;
}

export interface ServerStats {
  /** CPU time of the server process since the last `mark`, in µs (user + system). */
  cpuUs: number;
  wallMs: number;
  /** Events published so far (the last `n` of the running publisher). */
  published: number;
  publishErrors: number;
  connections: number;
  rss: number;
  heapUsed: number;
}

export interface MemoryReport {
  rss: number;
  /**
   * The young generation's pages (V8's new space, its physical size). Empty after the forced
   * collections, which promote what lives; V8 grows it while much of what it holds survives (a
   * connection storm) and gives it back once the process has allocated little for some seconds.
   */
  youngGeneration: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
  fdsOpen: number;
  fdLimit: number;
  connections: number;
}

export interface ClientSetup {
  transport: Transport;
  port: number;
  /** The source address of every connection of this process (127.0.0.x). */
  localAddress: string;
  /** The request path; `{i}` is replaced by the connection's index. */
  path: string;
  /** Index of the first connection of this process. */
  first: number;
  count: number;
  /** Connections being opened at once. */
  concurrency: number;
  /** Check every connection's `n` for gaps and duplicates (one sequence per connection). */
  checkSequence: boolean;
  /** Send the slowest connection's last `n` to the orchestrator this often (0: never). */
  ackEveryMs: number;
  /** Read each connection at about this many bytes a second, a slow link (0: as fast as it can). */
  throttleBytesPerSec?: number;
}

/** Commands the orchestrator sends a generator process. */
export type ClientCommand =
  | { op: "setup"; setup: ClientSetup }
  | { op: "mark" }
  | { op: "report" }
  | { op: "drop" }
  | { op: "target"; n: number }
  | { op: "sequence"; n: number }
  | { op: "exit" };

export interface ClientReport {
  /** Events received since the last `mark`. */
  received: number;
  /** Events received since the connections opened. */
  total: number;
  cpuUs: number;
  wallMs: number;
  histogram: SparseHistogram;
  /** The largest latency since the last `mark`, exactly. */
  maxUs: number;
  open: number;
  failed: number;
  errors: string[];
  /** With `checkSequence`: events missing between two received ones, and repeated ones. */
  gaps: number;
  duplicates: number;
  /** Events that failed the checks of `lib/event-parser.ts`, and the first few problems. */
  invalid: number;
  problems: string[];
  /** SSE events of another type than `message` (`stream_reset`): not counted as deliveries. */
  control: number;
  /** The lowest and highest last `n` over the connections. */
  minN: number;
  maxN: number;
  /** After `target`: when every connection had passed it (ms since the epoch), or 0. */
  caughtUpAt: number;
  droppedAt: number;
  reconnected: number;
}

export type ClientMessage =
  | { op: "connected"; open: number; failed: number; errors: string[] }
  | { op: "progress"; minN: number }
  | { op: "dropped"; at: number }
  | ({ op: "report" } & ClientReport);

/** The HTTP publisher process (`bench/http-publisher.ts`): what it is told. */
export type PublisherCommand =
  | {
      op: "setup";
      port: number;
      /** A token whose `publish` claim covers `channel`. */
      token: string;
      channel: string;
      perSecond: number;
      /**
       * Publish through `@herald/client/publisher` (batch POSTs to `/api/v1/events`) with this
       * `lingerMs`, each publish not awaited; absent: one POST per event, each awaited.
       */
      batchLingerMs?: number;
    }
  | { op: "mark" }
  | { op: "report" }
  | { op: "stop" }
  | { op: "exit" };

export interface PublisherReport {
  op: "report";
  /** Events the hub answered 201 to since the last `mark`, and in all. */
  published: number;
  total: number;
  /** POSTs answered since the last `mark`. */
  posts: number;
  errors: number;
  problems: string[];
  cpuUs: number;
  wallMs: number;
  /** Connections the keep-alive agent opened in all (1 while keep-alive holds). */
  connections: number;
}

export function bytes(n: number): string {
  if (n >= 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${n} B`;
}
