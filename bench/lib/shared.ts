/**
 * What the orchestrator (`bench/run.ts`), the servers (`bench/servers/`) and the load generator
 * (`bench/client.ts`) share: the payloads, the messages they exchange over IPC, and latency
 * histograms.
 */

export const SYSTEMS = ["herald", "ws", "better-sse", "socket.io", "bare"] as const;
/** `herald-baseline`: Herald from another copy of its sources (`--baseline DIR`). */
export type SystemName = (typeof SYSTEMS)[number] | "herald-baseline";

export function isHerald(system: SystemName): boolean {
  return system === "herald" || system === "herald-baseline";
}

/** How a generator connection speaks to a system. */
export type Transport = "sse" | "ws" | "socket.io";

export function transportOf(system: SystemName): Transport {
  if (system === "ws") return "ws";
  if (system === "socket.io") return "socket.io";
  return "sse";
}

/** The secret every Herald server of a run signs and checks its tokens with. */
export const BENCH_SECRET = "herald-bench-secret-long-enough-for-hs256";

/** The channel every fan-out subscriber listens on. */
export const FANOUT_CHANNEL = "file.bench";

/**
 * A render_progress message as the renderer publishes it. With the `channel` and `ts` every
 * system adds, it is about 200 bytes of JSON. `n` numbers the events of its channel from 1, so
 * a subscriber can tell a lost event from a duplicate.
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
  };
}

/** A task event, published on a user channel every few seconds in `generation`. */
export function taskMessage(n: number, userId: string, fileId: string): Record<string, unknown> {
  return {
    type: "task",
    object: {
      id: `task_${fileId}`,
      kind: "image",
      status: "in_progress",
      projectId: "proj_bench",
      fileId,
    },
    projectId: "proj_bench",
    user: userId,
    n,
  };
}

/** What the peers send: the message with the `channel` and `ts` Herald's hub adds. */
export function stamped(message: Record<string, unknown>, channel: string): string {
  return JSON.stringify({ ...message, channel, ts: Date.now() });
}

/** Latencies are kept as a histogram of whole milliseconds, the last bucket taking the rest. */
export const HISTOGRAM_BUCKETS = 60_001;

/** A histogram as [ms, count] pairs, for IPC. */
export type SparseHistogram = Array<[number, number]>;

export function toSparse(histogram: Uint32Array): SparseHistogram {
  const pairs: SparseHistogram = [];
  for (let ms = 0; ms < histogram.length; ms++) {
    const count = histogram[ms] as number;
    if (count > 0) pairs.push([ms, count]);
  }
  return pairs;
}

export interface LatencySummary {
  count: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export function summarise(histograms: readonly SparseHistogram[]): LatencySummary {
  const merged = new Map<number, number>();
  let count = 0;
  for (const histogram of histograms) {
    for (const [ms, n] of histogram) {
      merged.set(ms, (merged.get(ms) ?? 0) + n);
      count += n;
    }
  }
  const sorted = [...merged.entries()].sort((a, b) => a[0] - b[0]);
  const at = (q: number): number => {
    const rank = Math.ceil(q * count);
    let seen = 0;
    for (const [ms, n] of sorted) {
      seen += n;
      if (seen >= rank) return ms;
    }
    return sorted.at(-1)?.[0] ?? 0;
  };
  return {
    count,
    p50Ms: count ? at(0.5) : 0,
    p99Ms: count ? at(0.99) : 0,
    maxMs: sorted.at(-1)?.[0] ?? 0,
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
  | { op: "generation"; subscribers: number; progressPerSecond: number; taskEveryS: number }
  | { op: "steady"; channel: string; perSecond: number }
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
  open: number;
  failed: number;
  errors: string[];
  /** With `checkSequence`: events missing between two received ones, and repeated ones. */
  gaps: number;
  duplicates: number;
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

export function bytes(n: number): string {
  if (n >= 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${n} B`;
}
