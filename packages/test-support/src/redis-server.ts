/**
 * Redis for tests: the shared server the suite needs (it fails, never skips, without one), key
 * prefixes of their own per test, and private `redis-server` processes a test can kill and
 * restart to see what the store does through an outage.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";

/** The Redis the tests use: `REDIS_URL`, or the one on this machine's default port. */
export const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";

/** A prefix no other test uses, so tests can share one Redis and run side by side. */
export function uniquePrefix(): string {
  return `herald-test:${randomBytes(6).toString("hex")}:`;
}

/** A connection for the test's own look at Redis; rejects with how to fix it if none answers. */
export async function connectTestRedis(url = REDIS_URL): Promise<Redis> {
  const redis = new Redis(url, { lazyConnect: true, retryStrategy: () => null });
  let reason = "no answer";
  redis.on("error", (error: Error) => {
    reason = error.message;
  });
  try {
    await redis.connect();
    await redis.ping();
    return redis;
  } catch (error) {
    redis.disconnect();
    throw new Error(
      `the Redis store tests need a Redis at ${url} (${reason}): start one with \`redis-server\`, or set REDIS_URL`,
      { cause: error },
    );
  }
}

/** Deletes every key under `prefix`. */
export async function deleteKeys(redis: Redis, prefix: string): Promise<void> {
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 500);
    cursor = next;
    if (keys.length > 0) await redis.del(...keys);
  } while (cursor !== "0");
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === "string") throw new Error("no TCP port was given");
  return address.port;
}

export interface RedisServer {
  port: number;
  url: string;
  /** Its data directory (for a test that copies and restores it, as a backup would). */
  dir: string;
  /** Kills the server the hard way (SIGKILL): a crash, not a shutdown. */
  kill(): Promise<void>;
  /** Starts it again on the same port and data directory. */
  start(): Promise<void>;
  /** Kills it and removes its data. */
  close(): Promise<void>;
}

/**
 * A `redis-server` of the test's own on a free port, persisting to a fresh directory with
 * `appendfsync always`: every write it acknowledged survives `kill()`.
 */
export async function startRedisServer(): Promise<RedisServer> {
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), "herald-redis-"));
  const args = [
    "--port",
    String(port),
    "--bind",
    "127.0.0.1",
    "--save",
    "",
    "--appendonly",
    "yes",
    "--appendfsync",
    "always",
    "--dir",
    dir,
    "--daemonize",
    "no",
  ];
  let child: ChildProcess | undefined;

  async function start(): Promise<void> {
    const server = spawn("redis-server", args, { stdio: ["ignore", "pipe", "ignore"] });
    child = server;
    await new Promise<void>((resolve, reject) => {
      let output = "";
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes("Ready to accept connections")) {
          // Still read, and dropped: a full pipe would block Redis on its next log line.
          server.stdout?.off("data", onData);
          server.stdout?.resume();
          resolve();
        }
      };
      server.stdout?.on("data", onData);
      server.once("error", (error) =>
        reject(
          new Error(`could not start redis-server (${error.message}): install Redis`, {
            cause: error,
          }),
        ),
      );
      server.once("exit", (code) =>
        reject(new Error(`redis-server exited with ${code} before it was ready:\n${output}`)),
      );
    });
  }

  async function kill(): Promise<void> {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => running.once("exit", () => resolve()));
    running.kill("SIGKILL");
    await exited;
  }

  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    dir,
    kill,
    start,
    async close() {
      await kill();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
