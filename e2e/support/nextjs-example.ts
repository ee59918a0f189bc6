/**
 * examples/nextjs as a user's app: installed with Herald's packed tarballs
 * (`scripts/install-local.sh`), built with `next build`, and served by `next start` in its own
 * process group on a free port.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { resolve } from "node:path";
import { promisify } from "node:util";
import { freePort, stopGroup } from "./studio-server.ts";

export const EXAMPLE = resolve(import.meta.dirname, "../../examples/nextjs");
const NEXT = resolve(EXAMPLE, "node_modules/.bin/next");
const run = promisify(execFile);

/**
 * Next.js would otherwise call home with telemetry; the secret is one for both the build and
 * the server, as a deployment sets it.
 */
const ENV = {
  ...process.env,
  NEXT_TELEMETRY_DISABLED: "1",
  HERALD_JWT_SECRET: randomBytes(32).toString("hex"),
};

export interface ExampleServer {
  url: string;
  /** What the server printed, for a failing test to show. */
  output(): string;
  close(): Promise<void>;
}

/** Packs the four packages, installs the example and them, then `next build`; returns its output. */
export async function installAndBuildExample(): Promise<string> {
  const options = { cwd: EXAMPLE, env: ENV, maxBuffer: 64 * 1024 * 1024 };
  await run("bash", ["scripts/install-local.sh"], options);
  const { stdout, stderr } = await run(NEXT, ["build"], options);
  return stdout + stderr;
}

export async function startExample(): Promise<ExampleServer> {
  const port = await freePort();
  let output = "";
  const child: ChildProcess = spawn(
    NEXT,
    ["start", "--port", String(port), "--hostname", "127.0.0.1"],
    {
      cwd: EXAMPLE,
      env: ENV,
      // Its own process group, so closing ends next and its server process together.
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
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
  };
  try {
    await waitUntilServing(url, exited, () => output);
  } catch (error) {
    await close();
    throw error;
  }
  return { url, output: () => output, close };
}

async function waitUntilServing(
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
    if (stopped !== undefined) {
      throw new Error(`next start exited (${stopped}) before it served:\n${output()}`);
    }
    const serving = await fetch(url).then(
      (response) => response.ok,
      () => false, // not listening yet
    );
    if (serving) return;
    // Polling a process we do not control: there is nothing to await but its port.
    await new Promise((done) => setTimeout(done, 100));
  }
  throw new Error(`next start did not serve / within 60 s:\n${output()}`);
}
