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
  if (fitsAtFirstSight(value)) return { ok: true, message: value };
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

/**
 * What a field of the fast check takes: a kind of string or number, or one of some strings.
 * `?` after the name in FIRST_SIGHT makes the field optional.
 */
type FieldCheck = "string" | "number" | "unit" | "nonnegative" | readonly string[];

const KINDS = ["image", "video"] as const;

/** The schemas above, as plain checks of the fields they name (see `fitsAtFirstSight`). */
const FIRST_SIGHT: Record<KnownType, Record<string, FieldCheck>> = {
  task: {
    id: "string",
    kind: KINDS,
    status: TASK_STATUSES,
    projectId: "string",
    fileId: "string",
    "error?": "string",
  },
  render_progress: {
    taskId: "string",
    fileId: "string",
    progress: "unit",
    "stage?": "string",
    "message?": "string",
    "etaMs?": "nonnegative",
  },
  render_result: { taskId: "string", fileId: "string", url: "string", contentType: "string" },
  file: {
    id: "string",
    type: KINDS,
    status: "string",
    "url?": "string",
    "contentType?": "string",
    "width?": "number",
    "height?": "number",
    "durationMs?": "number",
    projectId: "string",
  },
  stream_reset: { reason: STREAM_RESET_REASONS },
};

const ENVELOPE: Record<string, FieldCheck> = {
  "error?": "string",
  "projectId?": "string",
  "requestId?": "string",
};

/**
 * Whether a message surely passes the schemas, told without them. Zod builds a copy of every
 * message it checks, and the hub checks every message it publishes: that copy was nearly half
 * of what publishing allocated (docs/BENCHMARKS.md, generation). So the messages publishers
 * send every day (plain objects whose fields are plainly right) are let through here, and only
 * the rest go to zod, for its verdict and its words. `true` only where zod would say ok (a
 * property test holds it to that); `false` decides nothing.
 */
function fitsAtFirstSight(value: unknown): value is PublishedMessage {
  if (!isPlainRecord(value) || !fitsFields(value, ENVELOPE)) return false;
  const { type, object, data } = value;
  if (typeof type !== "string" || type.length < 1 || type.length > 64) return false;
  if (data !== undefined && !isPlainRecord(data)) return false;
  if (object === undefined) return true;
  if (!isPlainRecord(object)) return false;
  const fields = Object.hasOwn(FIRST_SIGHT, type) ? FIRST_SIGHT[type as KnownType] : undefined;
  return fields === undefined || fitsFields(object, fields);
}

function isPlainRecord(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null) return false;
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

function fitsFields(record: Record<string, unknown>, fields: Record<string, FieldCheck>): boolean {
  for (const key in fields) {
    const optional = key.endsWith("?");
    const field = record[optional ? key.slice(0, -1) : key];
    if (field === undefined && optional) continue;
    const check = fields[key] as FieldCheck;
    if (typeof check !== "string") {
      if (!check.includes(field as string)) return false;
    } else if (check === "string") {
      if (typeof field !== "string") return false;
    } else if (typeof field !== "number" || !Number.isFinite(field)) return false;
    else if (check === "unit" && (field < 0 || field > 1)) return false;
    else if (check === "nonnegative" && field < 0) return false;
  }
  return true;
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
