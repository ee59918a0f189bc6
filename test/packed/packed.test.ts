/**
 * The four packages as npm users get them (issue 11): `npm pack` (which builds through each
 * package's `prepack`), the tarballs installed together into an empty directory, then plain
 * Node with no loader importing every documented entry point; publint and arethetypeswrong on
 * each tarball; and the bundle budgets, measured on what was installed.
 */
import { execFile } from "node:child_process";
import { copyFile, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { describeFigures, measureBundles } from "../../scripts/size.ts";

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, "../..");
const BIN = (name: string) => join(ROOT, "node_modules/.bin", name);
const PACKAGES = ["@herald/protocol", "@herald/hub", "@herald/client", "@herald/react"] as const;

/** Every entry point the READMEs document, by package. */
const ENTRY_POINTS: Record<(typeof PACKAGES)[number], string[]> = {
  "@herald/protocol": [".", "./schemas"],
  "@herald/hub": [".", "./node", "./fastify", "./fetch", "./redis"],
  "@herald/client": [".", "./publisher"],
  "@herald/react": ["."],
};

interface Packed {
  name: string;
  tarball: string;
  files: string[];
}

let work = "";
let consumer = "";
const packed: Packed[] = [];

/** Without the repository's NODE_OPTIONS or source condition: a user's plain environment. */
function plainEnv(): NodeJS.ProcessEnv {
  const { NODE_OPTIONS: _options, ...env } = process.env;
  return env;
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "herald-packed-"));
  for (const name of PACKAGES) {
    const { stdout } = await run(
      "npm",
      ["pack", "--json", "--workspace", name, "--pack-destination", work],
      { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 },
    );
    // npm prints the prepack script's output before the JSON.
    const report = JSON.parse(stdout.slice(stdout.indexOf("["))) as {
      filename: string;
      files: { path: string }[];
    }[];
    const entry = report[0];
    if (!entry) throw new Error(`npm pack --workspace ${name} reported nothing`);
    packed.push({
      name,
      tarball: join(work, entry.filename),
      files: entry.files.map((file) => file.path),
    });
  }
  consumer = join(work, "app");
  await run("mkdir", [consumer]);
  await writeFile(
    join(consumer, "package.json"),
    JSON.stringify({ name: "consumer", private: true, type: "module" }),
  );
  await run(
    "npm",
    [
      "install",
      "--no-audit",
      "--no-fund",
      "--prefer-offline",
      ...packed.map((p) => p.tarball),
      "react@^19",
      "react-dom@^19",
      // The optional peer @herald/hub/redis needs.
      "ioredis@^6",
    ],
    { cwd: consumer, env: plainEnv(), maxBuffer: 16 * 1024 * 1024 },
  );
}, 300_000);

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe("npm pack", () => {
  it("ships compiled files only: JavaScript, declarations, source maps, the README", () => {
    for (const { name, files } of packed) {
      const strays = files.filter(
        (file) =>
          file !== "package.json" &&
          file !== "README.md" &&
          !/^dist\/[\w./-]+\.(js|d\.ts|js\.map)$/.test(file),
      );
      expect(strays, name).toEqual([]);
      expect(
        files.filter((file) => file.includes(".test.")),
        name,
      ).toEqual([]);
    }
  });

  it("ships every file the exports point at", () => {
    for (const { name, files } of packed) {
      for (const entry of ENTRY_POINTS[name as keyof typeof ENTRY_POINTS]) {
        const file = entry === "." ? "index" : entry.slice(2);
        expect(files, `${name} ${entry}`).toContain(`dist/${file}.js`);
        expect(files, `${name} ${entry}`).toContain(`dist/${file}.d.ts`);
      }
    }
  });

  it('marks @herald/react\'s entry "use client", for Next.js', async () => {
    const entry = await readFile(
      join(consumer, "node_modules/@herald/react/dist/index.js"),
      "utf8",
    );
    expect(entry.split("\n")[0]).toBe('"use client";');
  });
});

describe("the installed tarballs", () => {
  it("load in plain Node with no loader, and work: a hub, a token, a Node client, server rendering", async () => {
    await copyFile(
      join(import.meta.dirname, "consumer-check.mjs"),
      join(consumer, "consumer-check.mjs"),
    );
    const { stdout } = await run(process.execPath, ["consumer-check.mjs"], {
      cwd: consumer,
      env: plainEnv(),
      timeout: 60_000,
    });
    const seen = JSON.parse(stdout) as {
      exported: Record<string, Record<string, string>>;
      received: unknown;
      fetchStatus: number;
      publishedId: string;
      html: string;
    };
    // The public names apps already use keep working.
    expect(seen.exported["@herald/hub"]).toMatchObject({
      createHub: "function",
      createMemoryStore: "function",
      createJwtAuth: "function",
    });
    expect(seen.exported["@herald/hub/fetch"]).toMatchObject({ createFetchHandler: "function" });
    expect(seen.exported["@herald/hub/node"]).toMatchObject({
      createNodeHandler: "function",
      acceptEventStreams: "function",
    });
    expect(seen.exported["@herald/hub/fastify"]).toMatchObject({ heraldPlugin: "function" });
    expect(seen.exported["@herald/hub/redis"]).toMatchObject({ createRedisStore: "function" });
    expect(seen.exported["@herald/react"]).toMatchObject({
      HeraldProvider: "function",
      useChannel: "function",
      useConnectionState: "function",
      useImageSSE: "function",
    });
    expect(seen.exported["@herald/client"]).toMatchObject({ createEventsClient: "function" });
    expect(seen.exported["@herald/client/publisher"]).toMatchObject({
      createPublisher: "function",
    });
    expect(seen.exported["@herald/protocol"]).toMatchObject({
      HeraldError: "function",
      formatChannel: "function",
    });
    expect(seen.exported["@herald/protocol/schemas"]).toMatchObject({
      checkPublishedMessage: "function",
    });
    // zod stays off the browser's entry point.
    expect(seen.exported["@herald/protocol"]).not.toHaveProperty("messageSchema");
    expect(seen.received).toMatchObject({ type: "data", data: { n: 1 }, channel: "project.p1" });
    expect(seen.fetchStatus).toBe(401);
    expect(seen.publishedId).toMatch(/^\w+-\d+$/);
    expect(seen.html).toBe("<p>idle</p>");
  });
});

describe("package checks", () => {
  it("publint finds nothing, warnings included", async () => {
    for (const { tarball } of packed) {
      const { stdout } = await run(BIN("publint"), ["run", tarball, "--strict"], { cwd: ROOT });
      expect(stdout).toContain("All good!");
    }
  }, 120_000);

  it("arethetypeswrong finds nothing for ESM users (Node 16+ and bundlers)", async () => {
    for (const { tarball } of packed) {
      // Exits non-zero on a problem, which rejects with its report.
      await run(BIN("attw"), [tarball, "--profile", "esm-only", "--format", "ascii"], {
        cwd: ROOT,
      });
    }
  }, 180_000);
});

describe("bundle sizes", () => {
  it("keeps a page's Herald within budget: client 10,240 bytes, react 14,336, gzip -9", async () => {
    const figures = await measureBundles(consumer);
    process.stdout.write(`${describeFigures(figures)}\n`);
    for (const figure of figures) {
      expect(figure.gzipBytes, describeFigures([figure])).toBeLessThanOrEqual(figure.budgetBytes);
    }
    // No zod, no eventsource polyfill in a page.
    const { outputFiles } = await import("esbuild").then(({ build }) =>
      build({
        stdin: { contents: 'export * from "@herald/react";', resolveDir: consumer },
        bundle: true,
        platform: "browser",
        format: "esm",
        write: false,
        external: ["react", "react-dom", "react/jsx-runtime"],
        metafile: true,
        logLevel: "silent",
      }),
    );
    expect(outputFiles[0]?.text).not.toMatch(/node_modules\/(zod|eventsource)\//);
  });
});
