/**
 * A 202 is a promise (GENERATION_API.md, "What a task promises"): a render interrupted by
 * killing the server process is taken up when it starts again, and ends with one file.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";
import { follow } from "./support/events.ts";
import { newUser } from "./support/studio.ts";

const SERVER_MAIN = new URL("../src/main.ts", import.meta.url).pathname;
const running: ChildProcess[] = [];
let dataDir: string | undefined;

afterAll(async () => {
  for (const child of running) child.kill("SIGKILL");
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

/** Starts `src/main.ts` as `npm start` does, and resolves with its URL once it listens. */
function startServer(env: Record<string, string>): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, ["--import", "tsx", SERVER_MAIN], {
    env: { ...process.env, PORT: "0", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  running.push(child);
  return new Promise((resolve, reject) => {
    let output = "";
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (match) {
        child.stdout?.off("data", onData);
        child.stdout?.resume();
        resolve({ url: match[1] as string, child });
      }
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.once("exit", (code) =>
      reject(new Error(`the server exited (${code}) before listening:\n${output}`)),
    );
  });
}

it("takes up a render killed with SIGKILL after a restart and ends it with one file", async () => {
  dataDir = await mkdtemp(join(tmpdir(), "herald-recovery-"));
  const env = { DATA_DIR: dataDir, RENDER_PACE: "1", WORKERS: "1" };
  const first = await startServer(env);
  const user = await newUser(first.url);
  const accepted = await user.post<{ fileId: string; taskId: string; channels: { file: string } }>(
    "/api/v1/generation/image",
    {
      prompt: "a harbour at dawn",
      resolution: "1024x1024",
      seed: 5,
    },
  );
  expect(accepted.status).toBe(202);
  const before = await follow(first.url, accepted.body.channels.file, user.token);
  await before.until(
    (all) => all.some((m) => m.type === "render_progress"),
    "the render under way",
  );
  const exited = new Promise((resolve) => first.child.once("exit", resolve));
  first.child.kill("SIGKILL");
  await exited;

  const second = await startServer(env);
  // The session outlives the restart: the same bearer token is still good.
  const after = await follow(second.url, accepted.body.channels.file, user.token);
  const messages = await after.untilEnded();
  expect(messages.at(-1)).toMatchObject({ type: "task", object: { status: "completed" } });
  const file = await fetch(`${second.url}/api/v1/file/${accepted.body.fileId}`, {
    headers: { authorization: `Bearer ${user.token}` },
  });
  expect(await file.json()).toMatchObject({ status: "completed", progress: 1 });
  const stored = (await readdir(join(dataDir, "files"))).filter((name) =>
    name.startsWith(accepted.body.fileId),
  );
  expect(stored).toEqual([`${accepted.body.fileId}.png`]);
  second.child.kill("SIGTERM");
});
