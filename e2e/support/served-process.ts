/**
 * A server the tests run as its users do, in a process group of its own on a free port: started,
 * waited for until it answers, and stopped with everything it started (npm, next, the server).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createServer } from "node:net";

export interface ServedProcess {
  url: string;
  port: number;
  /** What the process printed, for a failing test to show. */
  output(): string;
  close(): Promise<void>;
}

export interface ServedProcessOptions {
  /** How errors name it: "the server", "next start". */
  name: string;
  command: string;
  /** Its arguments, given the port it is to listen on. */
  args: (port: number) => string[];
  cwd: string;
  /** Its environment, given the port it is to listen on. */
  env: (port: number) => NodeJS.ProcessEnv;
  /** The path that answers 2xx once it is ready. */
  readyPath: string;
  /** Done after the process group has stopped (a throwaway folder removed, say). */
  afterClose?: () => Promise<void>;
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  const address = server.address();
  await new Promise<void>((done) => server.close(() => done()));
  if (typeof address !== "object" || address === null) throw new Error("no port was given");
  return address.port;
}

export async function startServedProcess(options: ServedProcessOptions): Promise<ServedProcess> {
  const port = await freePort();
  let output = "";
  const child: ChildProcess = spawn(options.command, options.args(port), {
    cwd: options.cwd,
    env: options.env(port),
    // Its own process group, so closing ends it and every process it started together.
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
    await options.afterClose?.();
  };
  try {
    await waitUntilReady(options.name, `${url}${options.readyPath}`, exited, () => output);
  } catch (error) {
    await close();
    throw error;
  }
  return { url, port, output: () => output, close };
}

async function waitUntilReady(
  name: string,
  readyUrl: string,
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
      throw new Error(`${name} exited (${stopped}) before it was ready:\n${output()}`);
    }
    const ready = await fetch(readyUrl).then(
      (response) => response.ok,
      () => false, // not listening yet
    );
    if (ready) return;
    // Polling a process we do not control: there is nothing to await but its port.
    await new Promise((done) => setTimeout(done, 100));
  }
  throw new Error(`${name} did not answer ${readyUrl} within 60 s:\n${output()}`);
}

/**
 * Stops a process group: npm exits at once on SIGTERM, a server only once it has closed its
 * streams, so the group is watched until it is empty.
 */
async function stopGroup(pid: number): Promise<void> {
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
