/** The server's settings, read once from the environment (GENERATION_API.md, "Starting"). */
import { resolve } from "node:path";

export interface ServerConfig {
  port: number;
  host: string;
  /** Embedded database, generated files and self-made secrets live here. */
  dataDir: string;
  /** PostgreSQL instead of the embedded database. */
  databaseUrl?: string | undefined;
  /** Redis for the events and the task queue, so several servers act as one. */
  redisUrl?: string | undefined;
  /** Put before every Redis key, so deployments (and tests) can share one Redis. */
  redisPrefix: string;
  /** HS256 secret for event-stream tokens; made and kept under dataDir where unset. */
  jwtSecret?: string | undefined;
  /** Renders at once (tasks running at the same time) per server. */
  workers: number;
  /** 1: renders take realistic time; 0: as fast as the machine goes (tests). */
  renderPace: number;
  /**
   * The proxies whose X-Forwarded-For, -Proto and -Host are believed (TRUST_PROXY): `true`
   * for any, or addresses and CIDR ranges separated by commas (`127.0.0.1,10.0.0.0/8`,
   * `loopback`). Unset: none, and the connection's own address and protocol count.
   */
  trustProxy?: boolean | string | undefined;
  /** A request's head, then its body, must arrive within this many ms (408 past it). */
  requestTimeoutMs: number;
  /** New sessions one client address may make per minute (429 past it). */
  sessionsPerMinute: number;
  /** A session that has generated nothing is removed this many seconds after it was made. */
  idleSessionTtlS: number;
  /** Tasks one user may have pending or running at once (429 past it). */
  maxTasksPerUser: number;
  /** Bytes of generated files one user may keep (403 past it). */
  storageQuotaBytes: number;
  /** Event streams this process holds at once (503 past it); default from the open-file limit. */
  maxStreams?: number | undefined;
  /** Event streams one client address may hold at once (429 past it). */
  maxStreamsPerAddress: number;
  /** Event streams are ended (and resumed by their clients) at this age, in ms; 0: never. */
  streamMaxAgeMs?: number | undefined;
  /** The hub's write coalescing while busy, in ms (hub `coalesceMs`); 0: off. */
  coalesceMs?: number | undefined;
}

export function readConfig(env: NodeJS.ProcessEnv = process.env): ServerConfig {
  return {
    port: integer(env.PORT, 3000, "PORT"),
    host: env.HOST ?? "127.0.0.1",
    // Relative to where `npm start` was typed (npm runs the script inside apps/server).
    dataDir: resolve(env.INIT_CWD ?? process.cwd(), env.DATA_DIR ?? "data"),
    databaseUrl: env.DATABASE_URL || undefined,
    redisUrl: env.REDIS_URL || undefined,
    redisPrefix: env.REDIS_PREFIX || "herald:",
    jwtSecret: env.HERALD_JWT_SECRET || undefined,
    workers: integer(env.WORKERS, 2, "WORKERS"),
    renderPace: number(env.RENDER_PACE, 1, "RENDER_PACE"),
    trustProxy: trustProxy(env.TRUST_PROXY),
    requestTimeoutMs: integer(env.REQUEST_TIMEOUT_MS, 60_000, "REQUEST_TIMEOUT_MS") || 60_000,
    sessionsPerMinute: integer(env.SESSIONS_PER_MINUTE, 30, "SESSIONS_PER_MINUTE"),
    idleSessionTtlS: number(env.IDLE_SESSION_TTL_S, 24 * 3600, "IDLE_SESSION_TTL_S"),
    maxTasksPerUser: integer(env.MAX_TASKS_PER_USER, 20, "MAX_TASKS_PER_USER"),
    maxStreams: env.MAX_STREAMS ? integer(env.MAX_STREAMS, 0, "MAX_STREAMS") : undefined,
    maxStreamsPerAddress: integer(env.MAX_STREAMS_PER_ADDRESS, 500, "MAX_STREAMS_PER_ADDRESS"),
    storageQuotaBytes: Math.round(
      number(env.STORAGE_QUOTA_MB, 1024, "STORAGE_QUOTA_MB") * 1024 * 1024,
    ),
    streamMaxAgeMs: integer(env.HERALD_STREAM_MAX_AGE_MS, 0, "HERALD_STREAM_MAX_AGE_MS"),
    coalesceMs: integer(env.HERALD_COALESCE_MS, 2, "HERALD_COALESCE_MS"),
  };
}

function integer(value: string | undefined, fallback: number, name: string): number {
  const parsed = number(value, fallback, name);
  if (!Number.isInteger(parsed) || parsed < 0)
    throw new Error(`${name} must be a whole number, not "${value}"`);
  return parsed;
}

function number(value: string | undefined, fallback: number, name: string): number {
  if (value === undefined || value === "") return fallback;
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed < 0)
    throw new Error(`${name} must be a number of 0 or more, not "${value}"`);
  return parsed;
}

function trustProxy(value: string | undefined): boolean | string | undefined {
  if (value === undefined || value === "" || value === "false") return undefined;
  return value === "true" ? true : value;
}
