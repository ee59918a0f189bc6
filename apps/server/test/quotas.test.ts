/**
 * Quotas and fairness, against the server as `npm start` runs it: new sessions per address,
 * tasks per user, storage per user, sessions that never generated expiring, and one user's
 * backlog never holding back another user's first task (in-process queue and BullMQ alike).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { follow } from "./support/events.ts";
import { type ServerProcess, startServerProcess } from "./support/process.ts";
import { createTestServices, type TestServices } from "./support/services.ts";
import { type ApiUser, newUser } from "./support/studio.ts";

const dataDirs: string[] = [];
const servers: ServerProcess[] = [];
let services: TestServices | undefined;
async function start(env: Record<string, string>): Promise<ServerProcess> {
  const dataDir = await mkdtemp(join(tmpdir(), "herald-quotas-"));
  dataDirs.push(dataDir);
  const server = await startServerProcess({ DATA_DIR: dataDir, ...env });
  servers.push(server);
  return server;
}

/** Default limits. */
let defaults: ServerProcess;
/** Idle sessions expire after 2 s. */
let expiring: ServerProcess;
/** One worker at realistic pace, small task cap and storage quota. */
let limited: ServerProcess;
/** One worker at realistic pace, in-process queue. */
let inProcess: ServerProcess;
beforeAll(async () => {
  [defaults, expiring, limited, inProcess] = await Promise.all([
    start({ RENDER_PACE: "0" }),
    start({ IDLE_SESSION_TTL_S: "2", SESSIONS_PER_MINUTE: "0", RENDER_PACE: "0" }),
    start({
      SESSIONS_PER_MINUTE: "0",
      RENDER_PACE: "1",
      WORKERS: "1",
      MAX_TASKS_PER_USER: "2",
      STORAGE_QUOTA_MB: "0.0001",
    }),
    start({ SESSIONS_PER_MINUTE: "0", RENDER_PACE: "1", WORKERS: "1" }),
  ]);
}, 300_000);
afterAll(async () => {
  await Promise.all(servers.map((s) => s.kill()));
  await services?.remove();
  await Promise.all(dataDirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

type Accepted = { projectId: string; fileId: string; taskId: string; channels: { file: string } };
type Refusal = { error: { code: string; message: string } };

describe("sessions", () => {
  it("limits new sessions per client address to 30 a minute by default: 429 with Retry-After", async () => {
    const made: number[] = [];
    for (let n = 0; n < 30; n++) made.push((await fetch(`${defaults.url}/api/v1/session`)).status);
    expect(made.every((status) => status === 200)).toBe(true);
    const refused = await fetch(`${defaults.url}/api/v1/session`);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
    const body = (await refused.json()) as Refusal;
    expect(body.error.code).toBe("rate_limited");
    expect(body.error.message).toContain("30");
  });

  it("removes a session that never generated anything; one that did stays", async () => {
    const idle = await newUser(expiring.url);
    expect((await idle.get("/api/v1/files")).status).toBe(200);
    const working = await newUser(expiring.url);
    expect((await working.post("/api/v1/generation/image", { prompt: "x" })).status).toBe(202);
    await vi.waitFor(async () => expect((await idle.get("/api/v1/files")).status).toBe(401), {
      timeout: 20_000,
      interval: 200,
    });
    expect((await working.get("/api/v1/files")).status).toBe(200);
  });
});

describe("per-user limits", () => {
  it("caps a user's queued and running tasks: 429 too_many_tasks naming the cap", async () => {
    const user = await newUser(limited.url);
    const accepted: Accepted[] = [];
    for (let n = 0; n < 2; n++) {
      const answer = await user.post<Accepted>("/api/v1/generation/image", { prompt: `a ${n}` });
      expect(answer.status).toBe(202);
      accepted.push(answer.body);
    }
    const refused = await user.post<Refusal>("/api/v1/generation/image", { prompt: "one more" });
    expect(refused.status).toBe(429);
    expect(refused.body.error.code).toBe("too_many_tasks");
    expect(refused.body.error.message).toContain("2");
    // Another user is not held by this one's cap, and a cancel makes room again.
    const other = await newUser(limited.url);
    const theirs = await other.post<Accepted>("/api/v1/generation/image", { prompt: "b" });
    expect(theirs.status).toBe(202);
    await user.post(`/api/v1/task/${accepted[1]?.taskId}/cancel`);
    const again = await user.post<Accepted>("/api/v1/generation/image", { prompt: "room" });
    expect(again.status).toBe(202);
    for (const task of [accepted[0], theirs.body, again.body])
      await (task === theirs.body ? other : user).post(`/api/v1/task/${task?.taskId}/cancel`);
  });

  it("refuses a generation once the user's files fill the storage quota, until one is deleted", async () => {
    const user = await newUser(limited.url);
    const first = await user.post<Accepted>("/api/v1/generation/image", {
      prompt: "small",
      resolution: "512x512",
    });
    expect(first.status).toBe(202);
    await (await follow(limited.url, first.body.channels.file, user.token)).untilEnded();
    const refused = await user.post<Refusal>("/api/v1/generation/image", { prompt: "more" });
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe("storage_quota_exceeded");
    expect(refused.body.error.message).toMatch(/delete/i);
    expect((await user.delete(`/api/v1/file/${first.body.fileId}`)).status).toBe(204);
    const after = await user.post<Accepted>("/api/v1/generation/image", { prompt: "room" });
    expect(after.status).toBe(202);
    await user.post(`/api/v1/task/${after.body.taskId}/cancel`);
  });
});

/**
 * One user queues five renders on a one-worker server, then another user queues one: the second
 * user's render starts after at most one render of the first (the one already running).
 */
async function expectFairTurn(server: ServerProcess): Promise<void> {
  const busy = await newUser(server.url);
  const backlog: Accepted[] = [];
  for (let n = 0; n < 5; n++) {
    const answer = await busy.post<Accepted>("/api/v1/generation/image", {
      prompt: `backlog ${n}`,
      resolution: "768x768",
    });
    expect(answer.status).toBe(202);
    backlog.push(answer.body);
  }
  const newcomer = await newUser(server.url);
  const first = await newcomer.post<Accepted>("/api/v1/generation/image", {
    prompt: "my first",
    resolution: "512x512",
  });
  expect(first.status).toBe(202);
  const events = await follow(server.url, first.body.channels.file, newcomer.token);
  await events.until(
    (all) => all.some((m) => m.type === "task" && m.object?.status === "in_progress"),
    "the newcomer's render starting",
  );
  const startedBefore = await startedCount(busy, backlog);
  // The running one, and at most one more that began between the start and this look.
  expect(startedBefore).toBeLessThanOrEqual(2);
  await events.untilEnded();
  for (const task of backlog) await busy.post(`/api/v1/task/${task.taskId}/cancel`);
}

async function startedCount(user: ApiUser, tasks: Accepted[]): Promise<number> {
  let started = 0;
  for (const task of tasks) {
    const file = await user.get<{ status: string }>(`/api/v1/file/${task.fileId}`);
    if (file.body.status !== "pending") started++;
  }
  return started;
}

describe("fair scheduling", () => {
  it("starts another user's first task within one render of a backlog (in-process queue)", async () => {
    await expectFairTurn(inProcess);
  }, 120_000);

  it("starts another user's first task within one render of a backlog (BullMQ)", async () => {
    services = await createTestServices();
    const server = await start({
      SESSIONS_PER_MINUTE: "0",
      RENDER_PACE: "1",
      WORKERS: "1",
      DATABASE_URL: services.databaseUrl,
      REDIS_URL: services.redisUrl,
      REDIS_PREFIX: services.redisPrefix,
    });
    await expectFairTurn(server);
  }, 180_000);
});
