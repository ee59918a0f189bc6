import { defaultClientConditions, defaultServerConditions } from "vite";
import { defineConfig } from "vitest/config";

// Inside the repository the packages are used from their TypeScript sources: their `exports`
// name them under the "@herald/source" condition (their `dist/` is what npm users get).
const SOURCE = "@herald/source";

export default defineConfig({
  resolve: { conditions: [SOURCE, ...defaultClientConditions] },
  ssr: { resolve: { conditions: [SOURCE, ...defaultServerConditions] } },
  test: {
    globalSetup: ["test/build-once.ts"],
    include: [
      "packages/*/src/**/*.test.ts",
      "packages/*/src/**/*.test.tsx",
      "packages/*/test/**/*.test.ts",
      "packages/*/test/**/*.test.tsx",
      "apps/*/test/**/*.test.ts",
      "apps/*/src/**/*.test.ts",
      "e2e/**/*.test.ts",
      "test/**/*.test.ts",
      "bench/**/*.test.ts",
    ],
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
