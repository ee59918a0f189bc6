/**
 * Herald Studio as a person runs it: the studio built with `npm run build --workspace
 * @herald/studio`, then the server started the way `npm start` starts it (`npm run start
 * --workspace @herald/server`), in its own process, with a throwaway DATA_DIR and quick renders.
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { type ServedProcess, startServedProcess } from "./served-process.ts";

const ROOT = resolve(import.meta.dirname, "../..");
const run = promisify(execFile);

export type StudioServer = ServedProcess;

/** Builds apps/studio into apps/studio/dist, which the server serves at `/`. */
export async function buildStudio(): Promise<void> {
  await run("npm", ["run", "build", "--workspace", "@herald/studio"], {
    cwd: ROOT,
    maxBuffer: 16 * 1024 * 1024,
  });
}

export async function startStudioServer(
  options: { renderPace?: number; workers?: number } = {},
): Promise<StudioServer> {
  const dataDir = await mkdtemp(join(tmpdir(), "herald-e2e-"));
  return startServedProcess({
    name: "the server",
    command: "npm",
    args: () => ["run", "start", "--workspace", "@herald/server"],
    cwd: ROOT,
    env: (port) => ({
      ...process.env,
      PORT: String(port),
      HOST: "127.0.0.1",
      DATA_DIR: dataDir,
      RENDER_PACE: String(options.renderPace ?? 0.3),
      WORKERS: String(options.workers ?? 2),
      // The events are kept in memory, as `npm start` keeps them by default.
      REDIS_URL: "",
      DATABASE_URL: "",
    }),
    readyPath: "/readyz",
    afterClose: () => rm(dataDir, { recursive: true, force: true }),
  });
}
