export * from "./channels.ts";
export * from "./cursor.ts";
export * from "./errors.ts";
export * from "./frames.ts";
export * from "./messages.ts";
