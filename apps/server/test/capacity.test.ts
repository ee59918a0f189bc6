/**
 * Capacity that degrades politely, against the server as `npm start` runs it: under a lowered
 * open-file limit, past the stream cap derived from it a stream request gets 503 with
 * Retry-After while /healthz, /readyz and the API keep answering; and one client address holds
 * at most its share of streams, X-Forwarded-For believed only from a trusted proxy.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openRawStream, type RawStream } from "@herald/test-support/raw-sse";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ServerProcess, startServerProcess } from "./support/process.ts";
import { newUser } from "./support/studio.ts";

const dataDirs: string[] = [];
const servers: ServerProcess[] = [];
const streams: RawStream[] = [];
async function start(env: Record<string, string>, wrapper: string[] = []) {
  const dataDir = await mkdtemp(join(tmpdir(), "herald-capacity-"));
  dataDirs.push(dataDir);
  const server = await startServerProcess({ DATA_DIR: dataDir, RENDER_PACE: "0", ...env }, wrapper);
  servers.push(server);
  return server;
}

/** 256 open files: the cap is three quarters of it less 64, 128 streams. */
const OPEN_FILES = 256;
const CAP = Math.floor(OPEN_FILES * 0.75) - 64;

let lowLimit: ServerProcess;
let trustingProxy: ServerProcess;
let noProxy: ServerProcess;
beforeAll(async () => {
  [lowLimit, trustingProxy, noProxy] = await Promise.all([
    start({}, ["prlimit", `--nofile=${OPEN_FILES}:${OPEN_FILES}`]),
    start({ TRUST_PROXY: "127.0.0.1", MAX_STREAMS_PER_ADDRESS: "3" }),
    start({ MAX_STREAMS_PER_ADDRESS: "3" }),
  ]);
}, 300_000);
afterAll(async () => {
  for (const stream of streams) stream.close();
  await Promise.all(servers.map((s) => s.kill()));
  await Promise.all(dataDirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

async function stream(
  server: ServerProcess,
  user: { userId: string; token: string },
  headers: Record<string, string> = {},
): Promise<RawStream> {
  const raw = await openRawStream(`${server.url}/api/v1/events/user.${user.userId}`, {
    authorization: `Bearer ${user.token}`,
    ...headers,
  });
  streams.push(raw);
  return raw;
}

describe("the process's stream cap", () => {
  it("answers 503 with Retry-After past the cap derived from the open-file limit, and keeps serving", async () => {
    // Several users: each may hold 64 streams at most.
    const users = await Promise.all([1, 2, 3].map(() => newUser(lowLimit.url)));
    const opened: RawStream[] = [];
    for (let n = 0; n < CAP; n++) {
      const raw = await stream(lowLimit, users[n % users.length] as (typeof users)[number]);
      expect(raw.status, `stream ${n + 1}`).toBe(200);
      opened.push(raw);
    }
    const refused = await stream(lowLimit, users[0] as (typeof users)[number]);
    expect(refused.status).toBe(503);
    expect(Number(refused.headers["retry-after"])).toBeGreaterThan(0);
    expect(JSON.parse(refused.text)).toMatchObject({ error: { code: "unavailable" } });

    for (const path of ["/healthz", "/readyz", "/api/v1/config/generation"]) {
      expect((await fetch(`${lowLimit.url}${path}`)).status, path).toBe(200);
    }
    const user = users[1] as (typeof users)[number];
    const generation = await user.post("/api/v1/generation/image", { prompt: "still here" });
    expect(generation.status).toBe(202);

    // A closed stream gives its place back.
    opened[0]?.close();
    await opened[0]?.ended;
    const again = await stream(lowLimit, users[0] as (typeof users)[number]);
    expect(again.status).toBe(200);
  }, 120_000);
});

describe("the per-address stream cap", () => {
  it("answers 429 too_many_connections past the cap, per X-Forwarded-For from a trusted proxy", async () => {
    const user = await newUser(trustingProxy.url);
    const from = (address: string) => ({ "x-forwarded-for": address });
    for (let n = 0; n < 3; n++)
      expect((await stream(trustingProxy, user, from("10.0.0.1"))).status).toBe(200);
    const refused = await stream(trustingProxy, user, from("10.0.0.1"));
    expect(refused.status).toBe(429);
    expect(JSON.parse(refused.text)).toMatchObject({ error: { code: "too_many_connections" } });
    expect((await stream(trustingProxy, user, from("10.0.0.2"))).status).toBe(200);
  });

  it("ignores X-Forwarded-For without a trusted proxy: a forged one does not get round the cap", async () => {
    const user = await newUser(noProxy.url);
    for (let n = 0; n < 3; n++) {
      const raw = await stream(noProxy, user, { "x-forwarded-for": `10.0.0.${n}` });
      expect(raw.status).toBe(200);
    }
    const refused = await stream(noProxy, user, { "x-forwarded-for": "10.0.0.99" });
    expect(refused.status).toBe(429);
  });
});
