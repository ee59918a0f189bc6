/**
 * `@herald/hub/redis`: the Redis event store, on its own entry point so that only the apps that
 * use it load ioredis.
 */
export * from "./redis-store.ts";
