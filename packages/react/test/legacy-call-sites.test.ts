/**
 * The migrating app's call sites compile against @herald/react's public types: `tsc -p` over
 * `types/call-sites.tsx`, which imports `@herald/react` by its package name, as the app would.
 * Its `@ts-expect-error` lines prove that wrong calls still fail.
 */
import { execFile } from "node:child_process";
import { resolve } from "node:path";
import { promisify } from "node:util";
import { expect, it } from "vitest";

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, "../../..");

it("compiles the app's call sites, unchanged apart from the import, with tsc", async () => {
  const result = await run("npx", ["tsc", "-p", "packages/react/test/types"], { cwd: ROOT }).then(
    ({ stdout }) => ({ code: 0, stdout }),
    (error: { code: number; stdout: string }) => ({ code: error.code, stdout: error.stdout }),
  );
  expect(result.stdout).toBe("");
  expect(result.code).toBe(0);
}, 60_000);
