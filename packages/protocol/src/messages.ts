/**
 * The message envelope and its types, PROTOCOL.md section 4: types only, and no zod, so that
 * browsers carry none of it (the schemas and the hub's check are in `schemas.ts`, entry point
 * `@herald/protocol/schemas`). Every field a publisher sets is kept, so messages of the
 * WebSocket era pass through unchanged; the hub adds `channel` and `ts`. Types nobody knows yet
 * pass through too: only their envelope is checked.
 */

export const TASK_STATUSES = ["pending", "in_progress", "completed", "error", "cancelled"] as const;
export const STREAM_RESET_REASONS = [
  "history_expired",
  "unknown_cursor",
  "server_restarted",
] as const;

export type TaskStatus = (typeof TASK_STATUSES)[number];
export type StreamResetReason = (typeof STREAM_RESET_REASONS)[number];

/** A task. `kind` is the app's own word for what the task makes (Studio's: `image`, `video`). */
export interface TaskObject {
  id: string;
  kind: string;
  status: TaskStatus;
  projectId: string;
  fileId: string;
  error?: string;
  [field: string]: unknown;
}

export interface RenderProgressObject {
  taskId: string;
  fileId: string;
  /** From 0 to 1. */
  progress: number;
  stage?: string;
  message?: string;
  etaMs?: number;
  [field: string]: unknown;
}

export interface RenderResultObject {
  taskId: string;
  fileId: string;
  url: string;
  contentType: string;
  [field: string]: unknown;
}

/** A file. `type` is the app's own word for what it holds (Studio's: `image`, `video`). */
export interface FileObject {
  id: string;
  type: string;
  status: string;
  url?: string;
  contentType?: string;
  width?: number;
  height?: number;
  durationMs?: number;
  projectId: string;
  [field: string]: unknown;
}

export interface StreamResetObject {
  reason: StreamResetReason;
  [field: string]: unknown;
}

/** The `object` of each type the protocol knows; other types carry any object. */
export interface KnownObjects {
  task: TaskObject;
  render_progress: RenderProgressObject;
  render_result: RenderResultObject;
  file: FileObject;
  stream_reset: StreamResetObject;
}

export type KnownType = keyof KnownObjects;

/** The envelope's fields, whatever the type. */
export interface Envelope {
  /** 1 to 64 characters. */
  type: string;
  object?: Record<string, unknown>;
  data?: Record<string, unknown>;
  error?: string;
  projectId?: string;
  requestId?: string;
  [field: string]: unknown;
}

/**
 * A message of type `T` as a publisher sends it: a known type's `object` must be of its shape
 * (`hub.publish` infers `T` from the `type` given, so a wrong object fails to compile).
 */
export type PublishedMessageOf<T extends string> = Envelope & {
  type: T;
  object?: T extends KnownType ? KnownObjects[T] : Record<string, unknown>;
};

/** What a publisher sends: the envelope without the fields the hub adds. */
export type PublishedMessage = Envelope;

/** What a subscriber receives. */
export interface Message extends Envelope {
  channel: string;
  ts: number;
}

/** A received message narrowed by its type, for handlers that switch on `type`. */
export type TypedMessage =
  | (Message & { type: "task"; object: TaskObject })
  | (Message & { type: "render_progress"; object: RenderProgressObject })
  | (Message & { type: "render_result"; object: RenderResultObject })
  | (Message & { type: "file"; object?: FileObject })
  | (Message & { type: "stream_reset"; object: StreamResetObject });
