/**
 * Vitest's global set-up: builds the packages' and the server's dist/ once, before any test
 * file runs. The packed-package tests (npm pack builds through prepack) and the browser tests
 * (the server started as `npm start` starts it, which builds) then find it up to date, instead
 * of two builds writing the same files at the same time.
 */
import { execFile } from "node:child_process";
import { resolve } from "node:path";
import { promisify } from "node:util";

const ROOT = resolve(import.meta.dirname, "..");

export default async function setup(): Promise<void> {
  await promisify(execFile)(
    resolve(ROOT, "node_modules/.bin/tsc"),
    [
      "-b",
      "packages/react/tsconfig.build.json",
      "packages/hub/tsconfig.build.json",
      "apps/server/tsconfig.build.json",
    ],
    { cwd: ROOT },
  );
}
