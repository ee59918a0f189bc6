export * from "./auth.ts";
export * from "./http.ts";
export * from "./hub.ts";
export * from "./memory-store.ts";
export * from "./metrics.ts";
export * from "./store.ts";
export * from "./stream-caps.ts";
