/**
 * `npm test`'s own set-up (scripts/test-setup.sh, its pretest): where it may not install what the
 * tests need, it stops at once and says exactly what to install.
 */
import { execFile } from "node:child_process";
import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterEach, expect, it } from "vitest";

const SCRIPT = resolve(import.meta.dirname, "../scripts/test-setup.sh");
let folder: string | undefined;

afterEach(async () => {
  if (folder) await rm(folder, { recursive: true, force: true });
  folder = undefined;
});

it("stops, naming the Debian package to install, where it cannot install it", async () => {
  // A user who is not root: `id -u` answers 1000 whoever runs the test.
  const bin = await mkdtemp(join(tmpdir(), "herald-setup-"));
  folder = bin;
  await writeFile(join(bin, "id"), "#!/bin/sh\necho 1000\n");
  await chmod(join(bin, "id"), 0o755);
  const result = await new Promise<{ code: number | null; stderr: string }>((done) => {
    const child = execFile(
      "bash",
      [SCRIPT],
      {
        env: {
          ...process.env,
          PATH: `${bin}:${process.env.PATH ?? ""}`,
          HERALD_CHROMIUM: join(bin, "no-chromium-here"),
        },
      },
      (_error, _stdout, stderr) => done({ code: child.exitCode, stderr }),
    );
  });
  expect(result.code).toBe(1);
  expect(result.stderr).toContain("npm test needs Debian's chromium");
  expect(result.stderr).toContain("sudo apt-get install -y chromium");
});
