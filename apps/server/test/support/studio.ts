/** Herald Studio's server on a free port with a fresh DATA_DIR, and an API client for tests. */
import { mkdtemp, rm } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type App, createApp } from "../../src/app.ts";
import { readConfig } from "../../src/config.ts";

export interface TestStudio {
  url: string;
  app: App;
  dataDir: string;
  close(): Promise<void>;
}

export async function startStudio(
  options: { renderPace?: number; workers?: number; dataDir?: string } = {},
): Promise<TestStudio> {
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), "herald-studio-")));
  const app = await createApp({
    // The defaults of every setting `npm start` reads, then this test's own.
    ...readConfig({}),
    port: 0,
    host: "127.0.0.1",
    dataDir,
    databaseUrl: undefined,
    redisPrefix: "herald:",
    jwtSecret: undefined,
    workers: options.workers ?? 2,
    renderPace: options.renderPace ?? 0,
    // Tests make many users from one address; the limit has a test of its own.
    sessionsPerMinute: 0,
  });
  await app.fastify.listen({ port: 0, host: "127.0.0.1" });
  await app.resumeUnfinished();
  const { port } = app.fastify.server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    app,
    dataDir,
    async close() {
      await app.fastify.close();
      if (!options.dataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export interface ApiAnswer<T = unknown> {
  status: number;
  body: T;
  headers: Headers;
}

/** One user of the API, holding its session as a bearer token (as a non-browser client does). */
export interface ApiUser {
  userId: string;
  token: string;
  get<T = Record<string, unknown>>(path: string): Promise<ApiAnswer<T>>;
  post<T = Record<string, unknown>>(path: string, body?: unknown): Promise<ApiAnswer<T>>;
  delete(path: string): Promise<ApiAnswer>;
}

export async function newUser(baseUrl: string): Promise<ApiUser> {
  const first = await fetch(`${baseUrl}/api/v1/session`);
  const session = (await first.json()) as { userId: string; token: string };
  const call = async <T>(method: string, path: string, body?: unknown): Promise<ApiAnswer<T>> => {
    const response = await fetch(`${baseUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${session.token}`,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      ...(body === undefined
        ? {}
        : { body: typeof body === "string" ? body : JSON.stringify(body) }),
    });
    const text = await response.text();
    return {
      status: response.status,
      body: (text ? JSON.parse(text) : undefined) as T,
      headers: response.headers,
    };
  };
  return {
    userId: session.userId,
    token: session.token,
    get: (path) => call("GET", path),
    post: (path, body) => call("POST", path, body ?? {}),
    delete: (path) => call("DELETE", path),
  };
}
