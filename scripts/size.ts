/**
 * What Herald weighs in a page: `export * from "@herald/client"` and `export * from
 * "@herald/react"` (react and react-dom external), bundled by esbuild for the browser, minified,
 * ESM, then gzip at level 9. The budgets are issue 11's; test/packed/packed.test.ts holds the
 * packed packages to them in `npm test`.
 *
 *   npx tsx scripts/size.ts            the sources, through the "@herald/source" condition
 */
import { gzipSync } from "node:zlib";
import { build } from "esbuild";

export interface BundleFigure {
  entry: string;
  minifiedBytes: number;
  gzipBytes: number;
  budgetBytes: number;
}

export const BUDGETS: Readonly<Record<string, number>> = {
  "@herald/client": 10_240,
  "@herald/react": 14_336,
};

/** Bundles each budgeted package as a page would import it, resolved from `resolveDir`. */
export async function measureBundles(
  resolveDir: string,
  conditions: string[] = [],
): Promise<BundleFigure[]> {
  const figures: BundleFigure[] = [];
  for (const [entry, budgetBytes] of Object.entries(BUDGETS)) {
    const result = await build({
      stdin: { contents: `export * from "${entry}";`, resolveDir, loader: "js" },
      bundle: true,
      platform: "browser",
      format: "esm",
      minify: true,
      write: false,
      conditions,
      external: ["react", "react-dom", "react/jsx-runtime"],
      logLevel: "silent",
    });
    const code = result.outputFiles[0]?.contents ?? new Uint8Array();
    figures.push({
      entry,
      minifiedBytes: code.byteLength,
      gzipBytes: gzipSync(code, { level: 9 }).byteLength,
      budgetBytes,
    });
  }
  return figures;
}

export function describeFigures(figures: readonly BundleFigure[]): string {
  return figures
    .map(
      (f) =>
        `${f.entry}: ${f.gzipBytes} bytes gzip -9 (${f.minifiedBytes} minified), budget ${f.budgetBytes}${f.gzipBytes > f.budgetBytes ? " OVER BUDGET" : ""}`,
    )
    .join("\n");
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const figures = await measureBundles(process.cwd(), ["@herald/source"]);
  process.stdout.write(`${describeFigures(figures)}\n`);
  if (figures.some((f) => f.gzipBytes > f.budgetBytes)) process.exitCode = 1;
}
