/**
 * A 202 is a promise (GENERATION_API.md, "What a task promises"): a render interrupted by
 * killing the server process is taken up when it starts again, and ends with one file.
 */
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";
import { follow } from "./support/events.ts";
import { killAllServers, startServerProcess } from "./support/process.ts";
import { newUser } from "./support/studio.ts";

let dataDir: string | undefined;

afterAll(async () => {
  await killAllServers();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

it("takes up a render killed with SIGKILL after a restart and ends it with one file", async () => {
  dataDir = await mkdtemp(join(tmpdir(), "herald-recovery-"));
  // Half the realistic pace: long enough to be killed mid-render, short enough for a test.
  const env = { DATA_DIR: dataDir, RENDER_PACE: "0.5", WORKERS: "1" };
  const first = await startServerProcess(env);
  const user = await newUser(first.url);
  const accepted = await user.post<{ fileId: string; taskId: string; channels: { file: string } }>(
    "/api/v1/generation/image",
    { prompt: "a harbour at dawn", resolution: "1024x1024", seed: 5 },
  );
  expect(accepted.status).toBe(202);
  const before = await follow(first.url, accepted.body.channels.file, user.token);
  await before.until(
    (all) => all.some((m) => m.type === "render_progress"),
    "the render under way",
  );
  await first.kill("SIGKILL");

  const second = await startServerProcess(env);
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
  // Two server starts (each migrating its database) and a whole render: longer than the default.
}, 120_000);
