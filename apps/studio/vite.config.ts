/**
 * The studio's build and dev server. `vite build` writes dist/, which the server serves at `/`
 * (apps/server/src/app.ts); `vite` serves with hot reload and sends the API, the event streams
 * and the generated files on to the server, so the page stays same-origin and its cookies work.
 */
import react from "@vitejs/plugin-react";
import { defaultClientConditions, defineConfig } from "vite";

const server = process.env.HERALD_SERVER ?? "http://127.0.0.1:3000";

export default defineConfig({
  plugins: [react()],
  // The packages from their TypeScript sources (their `exports` under "@herald/source"): no
  // build of them needed first.
  resolve: { conditions: ["@herald/source", ...defaultClientConditions] },
  server: {
    host: "127.0.0.1",
    port: 5173,
    proxy: {
      "/api": { target: server, changeOrigin: false },
      "/files": { target: server, changeOrigin: false },
    },
  },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    sourcemap: false,
  },
});
