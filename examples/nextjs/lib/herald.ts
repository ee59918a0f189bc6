// lib/herald.ts: one hub per server process
import { createHub, createJwtAuth, createMemoryStore, type Hub } from "@herald/hub";
import { createFetchHandler } from "@herald/hub/fetch";

const globalForHerald = globalThis as typeof globalThis & { heraldHub?: Hub };
// Dev servers re-evaluate modules on every edit; keep the one hub across reloads.
globalForHerald.heraldHub ??= createHub({ store: createMemoryStore() });
export const hub = globalForHerald.heraldHub;
export const auth = createJwtAuth(); // reads HERALD_JWT_SECRET
export const handleEvents = createFetchHandler(hub, { auth, operations: false });
