/**
 * The legacy hooks' test page (`e2e/legacy-page/`), bundled in memory with Vite in development
 * mode (React's StrictMode then mounts every effect twice, as in a Next.js dev server), and
 * served by the test under a path the server does not use.
 */
import { resolve } from "node:path";
import react from "@vitejs/plugin-react";
import { build, type Rollup } from "vite";

export const PAGE_PATH = "/__legacy-hooks/";

export interface LegacyPage {
  /** The HTML shell; `?path=` in the page's URL sets the provider's stream path. */
  html: string;
  script: string;
}

export async function bundleLegacyPage(): Promise<LegacyPage> {
  const root = resolve(import.meta.dirname, "../legacy-page");
  const output = (await build({
    configFile: false,
    root,
    mode: "development",
    logLevel: "warn",
    plugins: [react()],
    define: { "process.env.NODE_ENV": JSON.stringify("development") },
    build: {
      write: false,
      minify: false,
      rollupOptions: {
        input: resolve(root, "main.tsx"),
        output: { format: "es", entryFileNames: "page.js", codeSplitting: false },
      },
    },
  })) as Rollup.RollupOutput | Rollup.RollupOutput[];
  const outputs = Array.isArray(output) ? output : [output];
  const chunk = outputs
    .flatMap((o) => o.output)
    .find((item): item is Rollup.OutputChunk => item.type === "chunk" && item.isEntry);
  if (!chunk) throw new Error("the legacy page's bundle has no entry chunk");
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>legacy hooks</title></head><body><div id="root"></div><script type="module" src="${PAGE_PATH}page.js"></script></body></html>`;
  return { html, script: chunk.code };
}
