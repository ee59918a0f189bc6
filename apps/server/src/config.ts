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
  /** Event streams are ended (and resumed by their clients) at this age, in ms; 0: never. */
  streamMaxAgeMs?: number | undefined;
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
    streamMaxAgeMs: integer(env.HERALD_STREAM_MAX_AGE_MS, 0, "HERALD_STREAM_MAX_AGE_MS"),
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
