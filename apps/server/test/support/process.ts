/**
 * Herald Studio servers as separate processes, started as `npm start` starts them but from the
 * sources (tsx, and the packages' "@herald/source" condition), so no build is needed first;
 * e2e/ runs the compiled server exactly as `npm start` does.
 */
import { type ChildProcess, spawn } from "node:child_process";

const SERVER_MAIN = new URL("../../src/main.ts", import.meta.url).pathname;

export interface ServerProcess {
  url: string;
  port: number;
  child: ChildProcess;
  /** Everything it printed so far. */
  output(): string;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

const started = new Set<ServerProcess>();

/**
 * Resolves once the server listens; `PORT` 0 unless given. `wrapper` runs it through another
 * command (`["prlimit", "--nofile=256"]`).
 */
export function startServerProcess(
  env: Record<string, string>,
  wrapper: string[] = [],
): Promise<ServerProcess> {
  const command = [
    ...wrapper,
    process.execPath,
    "--import",
    "tsx",
    "--conditions=@herald/source",
    SERVER_MAIN,
  ];
  const child = spawn(command[0] as string, command.slice(1), {
    env: { ...process.env, PORT: "0", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return new Promise((resolve, reject) => {
    const onData = () => {
      const match = /Server listening at http:\/\/127\.0\.0\.1:(\d+)/.exec(output);
      if (!match) return;
      child.stdout?.off("data", onData);
      const port = Number(match[1]);
      const server: ServerProcess = {
        url: `http://127.0.0.1:${port}`,
        port,
        child,
        output: () => output,
        async kill(signal = "SIGKILL") {
          if (child.exitCode === null && child.signalCode === null) child.kill(signal);
          await exited;
          started.delete(server);
        },
      };
      started.add(server);
      resolve(server);
    };
    child.stdout?.on("data", onData);
    child.once("exit", (code) =>
      reject(new Error(`the server exited (${code}) before listening:\n${output}`)),
    );
  });
}

/** For afterAll: no server outlives its test file. */
export async function killAllServers(): Promise<void> {
  await Promise.all([...started].map((server) => server.kill()));
}
