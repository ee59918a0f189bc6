/**
 * The READMEs' Next.js code is examples/nextjs, word for word: every code block that starts
 * with `// <file>` is that file of the example, and the sections show the files they promise
 * (the top-level README's "Use Herald in your app", all of the app's code). e2e/nextjs.test.ts
 * builds and runs those files, so what the READMEs show is what is tested.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = resolve(import.meta.dirname, "..");
const EXAMPLE = join(ROOT, "examples/nextjs");

/** The code blocks of one `## ` section of a Markdown file, keyed by the file they name. */
function filesShown(markdown: string, heading: string): Map<string, string> {
  const text = readFileSync(join(ROOT, markdown), "utf8");
  const start = text.indexOf(`\n## ${heading}\n`);
  if (start === -1) throw new Error(`${markdown} has no "## ${heading}" section`);
  const end = text.indexOf("\n## ", start + 1);
  const section = text.slice(start, end === -1 ? undefined : end);
  const shown = new Map<string, string>();
  for (const [, code = ""] of section.matchAll(/```tsx?\n([\s\S]*?)```/g)) {
    const file = /^\/\/ ([\w./[\]-]+\.tsx?)/.exec(code)?.[1];
    if (file) shown.set(file, code);
  }
  return shown;
}

/** The example's own code: what `next build` compiles, not its config or dependencies. */
function exampleCode(): string[] {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (/\.tsx?$/.test(entry.name)) files.push(relative(EXAMPLE, path));
    }
  };
  walk(join(EXAMPLE, "app"));
  walk(join(EXAMPLE, "lib"));
  return files.sort();
}

function expectExampleFiles(shown: Map<string, string>): void {
  for (const [file, code] of shown) {
    expect(code, `${file} as the README shows it`).toBe(readFileSync(join(EXAMPLE, file), "utf8"));
  }
}

describe("the READMEs' Next.js code", () => {
  it("in the hub README: lib/herald.ts, the events route and the token route, as the example has them", () => {
    const shown = filesShown("packages/hub/README.md", "A Next.js-style route handler");
    expect([...shown.keys()]).toEqual([
      "lib/herald.ts",
      "app/api/v1/events/[[...path]]/route.ts",
      "app/api/token/route.ts",
    ]);
    expectExampleFiles(shown);
  });

  it("in the top-level README's \"Use Herald in your app\": every file of the example's code", () => {
    const shown = filesShown("README.md", "Use Herald in your app");
    expect([...shown.keys()].sort()).toEqual(exampleCode());
    expectExampleFiles(shown);
  });
});
