/**
 * Several servers as one service (GENERATION_API.md "Starting and finding the server",
 * PROTOCOL.md section 6): separate processes sharing the machine's PostgreSQL and Redis and
 * one DATA_DIR for files, with and without nginx in front.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createJwtAuth } from "@herald/hub";
import { messagesOf, openRawStream, type RawStream } from "@herald/test-support/raw-sse";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { follow } from "../support/events.ts";
import { killAllServers, type ServerProcess, startServerProcess } from "../support/process.ts";
import { createTestServices, type TestServices } from "../support/services.ts";
import { newUser } from "../support/studio.ts";

const SECRET = "scale-test-secret-long-enough-for-hs256-0123456789";
/** Debian puts nginx in /usr/sbin, which is not on every user's PATH. */
const NGINX = existsSync("/usr/sbin/nginx") ? "/usr/sbin/nginx" : "nginx";
const LOCATIONS = new URL("../../../../deploy/nginx/herald-locations.conf", import.meta.url)
  .pathname;

let services: TestServices;
let dataDir: string;
let env: Record<string, string>;
let publishToken: string;
let subscribeToken: string;

beforeAll(async () => {
  services = await createTestServices();
  dataDir = await mkdtemp(join(tmpdir(), "herald-scale-"));
  env = {
    DATA_DIR: dataDir,
    DATABASE_URL: services.databaseUrl,
    REDIS_URL: services.redisUrl,
    REDIS_PREFIX: services.redisPrefix,
    HERALD_JWT_SECRET: SECRET,
    RENDER_PACE: "0",
    WORKERS: "1",
  };
  const auth = createJwtAuth({ secret: SECRET });
  publishToken = await auth.sign({ sub: "publisher", publish: ["project.*"], expiresInS: 3600 });
  subscribeToken = await auth.sign({ sub: "watcher", channels: ["project.*"], expiresInS: 3600 });
}, 60_000);

afterAll(async () => {
  await killAllServers();
  await services?.remove();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
}, 60_000);

async function publish(server: { url: string }, channel: string, n: number): Promise<string> {
  const response = await fetch(`${server.url}/api/v1/events/${channel}`, {
    method: "POST",
    headers: { authorization: `Bearer ${publishToken}`, "content-type": "application/json" },
    body: JSON.stringify({ type: "data", data: { n, at: Date.now() } }),
  });
  const body = (await response.json()) as { id: string };
  if (response.status !== 201)
    throw new Error(`publish answered ${response.status}: ${JSON.stringify(body)}`);
  return body.id;
}

function subscribe(
  server: { url: string },
  channel: string,
  lastEventId?: string,
): Promise<RawStream> {
  const query = lastEventId ? `?lastEventId=${encodeURIComponent(lastEventId)}` : "";
  return openRawStream(`${server.url}/api/v1/events/${channel}${query}`, {
    authorization: `Bearer ${subscribeToken}`,
  });
}

const numbers = (stream: RawStream) => messagesOf(stream).map((m) => (m.data as { n: number }).n);

describe("two servers on Redis and PostgreSQL", () => {
  let a: ServerProcess;
  let b: ServerProcess;
  beforeAll(async () => {
    [a, b] = await Promise.all([startServerProcess(env), startServerProcess(env)]);
  }, 60_000);

  it("follows a generation started on one server to its end from the other", async () => {
    const user = await newUser(a.url);
    const accepted = await user.post<{ fileId: string; channels: { file: string } }>(
      "/api/v1/generation/image",
      {
        prompt: "two harbours",
        resolution: "512x512",
      },
    );
    expect(accepted.status).toBe(202);
    const messages = await (
      await follow(b.url, accepted.body.channels.file, user.token)
    ).untilEnded();
    expect(messages.at(-1)).toMatchObject({ type: "task", object: { status: "completed" } });
    const onB = await fetch(`${b.url}/api/v1/file/${accepted.body.fileId}`, {
      headers: { authorization: `Bearer ${user.token}` },
    });
    const file = (await onB.json()) as { status: string; url: string };
    expect(file.status).toBe("completed");
    expect((await fetch(`${b.url}${file.url}`)).status).toBe(200);
  });

  it("delivers events published on one server to subscribers on every server", async () => {
    const onA = await subscribe(a, "project.everywhere");
    const onB = await subscribe(b, "project.everywhere");
    await Promise.all([onA, onB].map((s) => s.until((x) => x.comments.includes("ok"))));
    for (let n = 0; n < 20; n++) await publish(n % 2 ? a : b, "project.everywhere", n);
    for (const stream of [onA, onB]) {
      await stream.until((s) => s.events.length === 20, "all 20 events");
      expect(numbers(stream).sort((x, y) => x - y)).toEqual(
        Array.from({ length: 20 }, (_, n) => n),
      );
      stream.close();
    }
    // One sequence for the whole service: both saw the same ids in the same order.
    expect(onA.events.map((e) => e.id)).toEqual(onB.events.map((e) => e.id));
  });

  it("resumes on another server after the subscriber's server is killed: 10,000 events, none lost, none doubled", async () => {
    const c = await startServerProcess(env);
    const total = 10_000;
    const first = await subscribe(c, "project.kill");
    await first.until((s) => s.comments.includes("ok"));
    let next = 0;
    const publishing = (async () => {
      // Several publishers at once, as several services would publish.
      const lanes = Array.from({ length: 8 }, async () => {
        while (next < total) {
          const n = next++;
          await publish(n % 2 ? a : b, "project.kill", n);
        }
      });
      await Promise.all(lanes);
    })();
    await first.until((s) => s.events.length >= 2000, "the first 2,000 events");
    await c.kill("SIGKILL");
    await first.ended;
    const lastId = first.events.at(-1)?.id as string;
    const resumed = await subscribe(a, "project.kill", lastId);
    await publishing;
    await resumed.until((s) => first.events.length + s.events.length >= total, "every event");
    const all = [...numbers(first), ...numbers(resumed)];
    expect(all).toHaveLength(total);
    expect(new Set(all).size).toBe(total);
    resumed.close();
  }, 120_000);

  it("keeps resume exact across a restart of every server (history in Redis)", async () => {
    const ids: string[] = [];
    for (let n = 0; n < 50; n++) ids.push(await publish(a, "project.restart", n));
    await Promise.all([a.kill("SIGTERM"), b.kill("SIGTERM")]);
    [a, b] = await Promise.all([startServerProcess(env), startServerProcess(env)]);
    const resumed = await subscribe(b, "project.restart", ids[19]);
    await resumed.until((s) => s.events.length === 30, "the 30 events after the id");
    expect(resumed.events.map((e) => e.id)).toEqual(ids.slice(20));
    expect(messagesOf(resumed).some((m) => m.type === "stream_reset")).toBe(false);
    resumed.close();
  }, 60_000);

  it("finishes a render on another server when the one running it is killed, with one file", async () => {
    // Only one server runs at first, so it is the one that takes the task.
    await b.kill("SIGKILL");
    const slowEnv = { ...env, RENDER_PACE: "1" };
    await a.kill("SIGKILL");
    const runner = await startServerProcess(slowEnv);
    const user = await newUser(runner.url);
    const accepted = await user.post<{ fileId: string; channels: { file: string } }>(
      "/api/v1/generation/video",
      {
        prompt: "a lighthouse beam sweeping",
        resolution: "426x240",
        durationS: 10,
        frameRate: 24,
      },
    );
    const watching = await follow(runner.url, accepted.body.channels.file, user.token);
    await watching.until(
      (all) => all.some((m) => m.type === "render_progress"),
      "the render under way",
    );
    await runner.kill("SIGKILL");
    expect(watching.messages().some((m) => m.type === "render_result")).toBe(false);
    // Started after the kill, so the task can only be finished by taking it over.
    const taker = await startServerProcess(env);
    const messages = await (
      await follow(taker.url, accepted.body.channels.file, user.token)
    ).untilEnded();
    expect(messages.at(-1)).toMatchObject({ type: "task", object: { status: "completed" } });
    const stored = (await readdir(join(dataDir, "files"))).filter((f) =>
      f.startsWith(accepted.body.fileId),
    );
    expect(stored).toEqual([`${accepted.body.fileId}.mp4`]);
    a = taker;
    b = await startServerProcess(env);
  }, 120_000);
});

describe("cancel across servers", () => {
  it("stops a render running on one server when the cancel arrives at another", async () => {
    const slowEnv = { ...env, RENDER_PACE: "1" };
    const runner = await startServerProcess(slowEnv);
    const user = await newUser(runner.url);
    const accepted = await user.post<{
      fileId: string;
      taskId: string;
      channels: { file: string };
    }>("/api/v1/generation/video", {
      // A long render (about 20 s at pace 1): still running when the cancel comes.
      prompt: "a long exposure of the sea",
      resolution: "854x480",
      durationS: 10,
      frameRate: 24,
    });
    const watching = await follow(runner.url, accepted.body.channels.file, user.token);
    await watching.until(
      (all) => all.some((m) => m.type === "render_progress"),
      "the render under way",
    );
    // The other server starts only now, so the task is surely running on the first.
    const other = await startServerProcess(slowEnv);
    const cancelled = await fetch(`${other.url}/api/v1/task/${accepted.body.taskId}/cancel`, {
      method: "POST",
      headers: { authorization: `Bearer ${user.token}` },
    });
    expect(cancelled.status).toBe(200);
    const messages = await watching.untilEnded();
    expect(messages.at(-1)).toMatchObject({ type: "task", object: { status: "cancelled" } });
    // A later task runs to its end meanwhile; the cancelled one never produced a result or a file.
    const next = await user.post<{ channels: { file: string } }>("/api/v1/generation/image", {
      prompt: "next",
      resolution: "512x512",
    });
    await (await follow(runner.url, next.body.channels.file, user.token)).untilEnded();
    expect(watching.messages().some((m) => m.type === "render_result")).toBe(false);
    const file = await fetch(`${runner.url}/api/v1/file/${accepted.body.fileId}`, {
      headers: { authorization: `Bearer ${user.token}` },
    });
    expect(await file.json()).toMatchObject({ status: "cancelled" });
    expect(
      (await readdir(join(dataDir, "files"))).filter((f) => f.startsWith(accepted.body.fileId)),
    ).toEqual([]);
    await Promise.all([runner.kill(), other.kill()]);
  }, 60_000);
});

describe("behind nginx", () => {
  let nginx: ChildProcess | undefined;
  afterAll(async () => {
    // SIGTERM, not SIGKILL: the master must take its worker down with it.
    if (nginx && nginx.exitCode === null) {
      const exited = new Promise((resolve) => nginx?.once("exit", resolve));
      nginx.kill("SIGTERM");
      await exited;
    }
  });

  it("carries every event through nginx within 100 ms of its publishing", async () => {
    const servers = await Promise.all([startServerProcess(env), startServerProcess(env)]);
    const port = await freePort();
    const folder = await mkdtemp(join(tmpdir(), "herald-nginx-"));
    const conf = join(folder, "nginx.conf");
    await writeFile(
      conf,
      `worker_processes 1;
pid ${folder}/nginx.pid;
error_log stderr warn;
daemon off;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${folder}/body;
  proxy_temp_path ${folder}/proxy;
  upstream herald {
${servers.map((s) => `    server 127.0.0.1:${s.port};`).join("\n")}
    keepalive 16;
  }
  server {
    listen 127.0.0.1:${port};
    include ${LOCATIONS};
  }
}
`,
    );
    nginx = spawn(NGINX, ["-e", "stderr", "-p", folder, "-c", conf], {
      stdio: ["ignore", "inherit", "inherit"],
    });
    const proxied = { url: `http://127.0.0.1:${port}` };
    await waitForHttp(`${proxied.url}/healthz`);
    const stream = await subscribe(proxied, "project.nginx");
    await stream.until((s) => s.comments.includes("ok"), "the opening comment through nginx");
    // Each event must arrive before the next is published: a proxy that buffers the response
    // would hold the first (a few hundred bytes) until its buffer filled, and `until` would fail.
    for (let n = 0; n < 50; n++) {
      await publish(servers[n % 2] as ServerProcess, "project.nginx", n);
      await stream.until((s) => s.events.length === n + 1, `event ${n}`);
    }
    expect(numbers(stream)).toEqual(Array.from({ length: 50 }, (_, n) => n));
    stream.close();
    await rm(folder, { recursive: true, force: true });
  }, 60_000);
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address();
      const port = typeof address === "object" && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

async function waitForHttp(url: string): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const ok = await fetch(url).then(
      (response) => response.ok,
      () => false,
    );
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${url} did not answer: nginx did not start`);
}
