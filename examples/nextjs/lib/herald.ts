// lib/herald.ts: one hub per server process
import { createHub, createJwtAuth, createMemoryStore, type Hub } from "@herald/hub";
import { createFetchHandler } from "@herald/hub/fetch";

const globalForHerald = globalThis as typeof globalThis & { heraldHub?: Hub };
// Dev servers re-evaluate modules on every edit; keep the one hub across reloads.
globalForHerald.heraldHub ??= createHub({ store: createMemoryStore() });
export const hub = globalForHerald.heraldHub;
// HERALD_JWT_SECRET (32+ characters); required with NODE_ENV=production. Unset elsewhere, one
// random secret per process, shared by every route bundle that evaluates this module.
export const auth = createJwtAuth();
export const handleEvents = createFetchHandler(hub, { auth, operations: false });
