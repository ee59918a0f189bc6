/**
 * examples/nextjs as a user's app: installed with Herald's packed tarballs
 * (`scripts/install-local.sh`), built with `next build`, and served by `next start` in its own
 * process group on a free port.
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { resolve } from "node:path";
import { promisify } from "node:util";
import { type ServedProcess, startServedProcess } from "./served-process.ts";

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

export type ExampleServer = ServedProcess;

/** Packs the four packages, installs the example and them, then `next build`; returns its output. */
export async function installAndBuildExample(): Promise<string> {
  const options = { cwd: EXAMPLE, env: ENV, maxBuffer: 64 * 1024 * 1024 };
  await run("bash", ["scripts/install-local.sh"], options);
  const { stdout, stderr } = await run(NEXT, ["build"], options);
  return stdout + stderr;
}

export function startExample(): Promise<ExampleServer> {
  return startServedProcess({
    name: "next start",
    command: NEXT,
    args: (port) => ["start", "--port", String(port), "--hostname", "127.0.0.1"],
    cwd: EXAMPLE,
    env: () => ENV,
    readyPath: "/",
  });
}
