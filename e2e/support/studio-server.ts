/**
 * Herald Studio as a person runs it: the studio built with `npm run build --workspace
 * @herald/studio`, then the server started the way `npm start` starts it (`npm run start
 * --workspace @herald/server`), in its own process, with a throwaway DATA_DIR and quick renders.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";

const ROOT = resolve(import.meta.dirname, "../..");
const run = promisify(execFile);

export interface StudioServer {
  url: string;
  port: number;
  /** What the server printed, for a failing test to show. */
  output(): string;
  close(): Promise<void>;
}

/** Builds apps/studio into apps/studio/dist, which the server serves at `/`. */
export async function buildStudio(): Promise<void> {
  await run("npm", ["run", "build", "--workspace", "@herald/studio"], {
    cwd: ROOT,
    maxBuffer: 16 * 1024 * 1024,
  });
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  const address = server.address();
  await new Promise<void>((done) => server.close(() => done()));
  if (typeof address !== "object" || address === null) throw new Error("no port was given");
  return address.port;
}

export async function startStudioServer(
  options: { renderPace?: number; workers?: number } = {},
): Promise<StudioServer> {
  const dataDir = await mkdtemp(join(tmpdir(), "herald-e2e-"));
  const port = await freePort();
  let output = "";
  const child: ChildProcess = spawn("npm", ["run", "start", "--workspace", "@herald/server"], {
    cwd: ROOT,
    env: {
      ...process.env,
      PORT: String(port),
      HOST: "127.0.0.1",
      DATA_DIR: dataDir,
      RENDER_PACE: String(options.renderPace ?? 0.3),
      WORKERS: String(options.workers ?? 2),
      // The events are kept in memory, as `npm start` keeps them by default.
      REDIS_URL: "",
      DATABASE_URL: "",
    },
    // Its own process group, so closing ends npm, the build and the server together.
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<number | null>((done) => child.once("exit", (code) => done(code)));
  const url = `http://127.0.0.1:${port}`;

  const close = async () => {
    if (child.pid !== undefined) await stopGroup(child.pid);
    await exited;
    await rm(dataDir, { recursive: true, force: true });
  };

  try {
    await waitUntilReady(url, exited, () => output);
  } catch (error) {
    await close();
    throw error;
  }
  return { url, port, output: () => output, close };
}

async function waitUntilReady(
  url: string,
  exited: Promise<number | null>,
  output: () => string,
): Promise<void> {
  let stopped: number | null | undefined;
  void exited.then((code) => {
    stopped = code;
  });
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (stopped !== undefined)
      throw new Error(`the server exited (${stopped}) before it was ready:\n${output()}`);
    const ready = await fetch(`${url}/readyz`).then(
      (response) => response.ok,
      () => false, // not listening yet
    );
    if (ready) return;
    // Polling a process we do not control: there is nothing to await but its port.
    await new Promise((done) => setTimeout(done, 100));
  }
  throw new Error(`the server did not become ready within 60 s:\n${output()}`);
}

/**
 * Stops npm and what it started (sh, the build, the server): npm exits at once on SIGTERM, the
 * server only once it has closed its streams, so the group is watched until it is empty.
 */
export async function stopGroup(pid: number): Promise<void> {
  if (!signalGroup(pid, "SIGTERM")) return;
  const deadline = Date.now() + 15_000;
  while (signalGroup(pid, 0)) {
    if (Date.now() > deadline) {
      signalGroup(pid, "SIGKILL");
      return;
    }
    await new Promise((done) => setTimeout(done, 50));
  }
}

/** Signals the process group; false once it has no process left. */
function signalGroup(pid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pid, signal);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ESRCH") return false;
    throw error;
  }
}
