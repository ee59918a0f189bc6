/**
 * The message envelope and its types, PROTOCOL.md section 4. Every field a publisher sets is
 * kept (loose objects), so messages of the WebSocket era pass through unchanged; the hub adds
 * `channel` and `ts`. Types nobody knows yet pass through too: only their envelope is checked.
 */
import { z } from "zod";

export const TASK_STATUSES = ["pending", "in_progress", "completed", "error", "cancelled"] as const;
export const STREAM_RESET_REASONS = [
  "history_expired",
  "unknown_cursor",
  "server_restarted",
] as const;

export const taskObjectSchema = z.looseObject({
  id: z.string(),
  kind: z.enum(["image", "video"]),
  status: z.enum(TASK_STATUSES),
  projectId: z.string(),
  fileId: z.string(),
  error: z.string().optional(),
});

export const renderProgressObjectSchema = z.looseObject({
  taskId: z.string(),
  fileId: z.string(),
  progress: z.number().min(0).max(1),
  stage: z.string().optional(),
  message: z.string().optional(),
  etaMs: z.number().nonnegative().optional(),
});

export const renderResultObjectSchema = z.looseObject({
  taskId: z.string(),
  fileId: z.string(),
  url: z.string(),
  contentType: z.string(),
});

export const fileObjectSchema = z.looseObject({
  id: z.string(),
  type: z.enum(["image", "video"]),
  status: z.string(),
  url: z.string().optional(),
  contentType: z.string().optional(),
  width: z.number().optional(),
  height: z.number().optional(),
  durationMs: z.number().optional(),
  projectId: z.string(),
});

export const streamResetObjectSchema = z.looseObject({ reason: z.enum(STREAM_RESET_REASONS) });

/** What a publisher sends: the envelope without the fields the hub adds. */
export const publishedMessageSchema = z.looseObject({
  type: z.string().min(1).max(64),
  object: z.record(z.string(), z.unknown()).optional(),
  data: z.record(z.string(), z.unknown()).optional(),
  error: z.string().optional(),
  projectId: z.string().optional(),
  requestId: z.string().optional(),
});

/** What a subscriber receives. */
export const messageSchema = publishedMessageSchema.extend({ channel: z.string(), ts: z.number() });

/** The `object` schema of each known type; a known type's `object`, where present, must fit. */
export const objectSchemas = {
  task: taskObjectSchema,
  render_progress: renderProgressObjectSchema,
  render_result: renderResultObjectSchema,
  file: fileObjectSchema,
  stream_reset: streamResetObjectSchema,
} as const;

export type TaskStatus = (typeof TASK_STATUSES)[number];
export type StreamResetReason = (typeof STREAM_RESET_REASONS)[number];
export type TaskObject = z.infer<typeof taskObjectSchema>;
export type RenderProgressObject = z.infer<typeof renderProgressObjectSchema>;
export type RenderResultObject = z.infer<typeof renderResultObjectSchema>;
export type FileObject = z.infer<typeof fileObjectSchema>;
export type StreamResetObject = z.infer<typeof streamResetObjectSchema>;
export type PublishedMessage = z.infer<typeof publishedMessageSchema>;
export type Message = z.infer<typeof messageSchema>;
export type KnownType = keyof typeof objectSchemas;

/** A received message narrowed by its type, for handlers that switch on `type`. */
export type TypedMessage =
  | (Message & { type: "task"; object: TaskObject })
  | (Message & { type: "render_progress"; object: RenderProgressObject })
  | (Message & { type: "render_result"; object: RenderResultObject })
  | (Message & { type: "file"; object?: FileObject })
  | (Message & { type: "stream_reset"; object: StreamResetObject });

export type MessageCheck = { ok: true; message: PublishedMessage } | { ok: false; problem: string };

/** Checks a message a publisher sent: the envelope, and the `object` of a known type. */
export function checkPublishedMessage(value: unknown): MessageCheck {
  const envelope = publishedMessageSchema.safeParse(value);
  if (!envelope.success) return { ok: false, problem: describeIssues(envelope.error) };
  const message = envelope.data;
  const schema = objectSchemas[message.type as KnownType] as z.ZodType | undefined;
  if (schema && message.object !== undefined) {
    const object = schema.safeParse(message.object);
    if (!object.success) {
      return {
        ok: false,
        problem: describeIssues(object.error, `object of a "${message.type}" message`),
      };
    }
  }
  return { ok: true, message };
}

function describeIssues(error: z.ZodError, where = "message"): string {
  return error.issues
    .slice(0, 3)
    .map((issue) => {
      const path = issue.path.length ? `${where}.${issue.path.join(".")}` : where;
      return `${path}: ${issue.message}`;
    })
    .join("; ");
}
