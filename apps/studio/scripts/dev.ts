/**
 * `npm run dev` at the root: Studio's server and the studio's Vite dev server side by side, so
 * one command gives hot reload against a live backend. Vite (http://127.0.0.1:5173) proxies
 * /api and /files to the server (http://127.0.0.1:3000, or PORT); Ctrl-C stops both.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { resolve } from "node:path";

const root = resolve(import.meta.dirname, "../../..");
const port = process.env.PORT ?? "3000";

function start(name: string, args: string[], env: NodeJS.ProcessEnv): ChildProcess {
  // Each in its own process group, so a stop reaches npm and everything it started.
  const child = spawn("npm", args, { cwd: root, env, stdio: "inherit", detached: true });
  child.once("exit", (code, signal) => {
    process.stdout.write(`[dev] ${name} stopped (${signal ?? code}); stopping the rest\n`);
    stopAll(code ?? 1);
  });
  return child;
}

const children = [
  start("server", ["run", "start", "--workspace", "@herald/server"], {
    ...process.env,
    PORT: port,
  }),
  start("studio", ["run", "dev", "--workspace", "@herald/studio"], {
    ...process.env,
    HERALD_SERVER: `http://127.0.0.1:${port}`,
  }),
];

let stopping = false;
function stopAll(code: number): void {
  if (stopping) return;
  stopping = true;
  for (const child of children) {
    if (child.exitCode !== null || child.pid === undefined) continue;
    try {
      process.kill(-child.pid, "SIGTERM");
    } catch (error) {
      // ESRCH: that group ended between the check and the kill; anything else is worth telling.
      if ((error as NodeJS.ErrnoException).code !== "ESRCH") throw error;
    }
  }
  process.exitCode = code;
}

for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => stopAll(0));
