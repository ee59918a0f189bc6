/**
 * The schemas of the message envelope and of the known types' objects (PROTOCOL.md section 4),
 * and the check the hub runs on every published message. On their own entry point,
 * `@herald/protocol/schemas`, because they need zod: the hub and servers use them, while
 * browsers get the zod-free types and helpers of `@herald/protocol`.
 */
import { z } from "zod";
import {
  type KnownType,
  type PublishedMessage,
  STREAM_RESET_REASONS,
  TASK_STATUSES,
} from "./messages.ts";

export const taskObjectSchema = z.looseObject({
  id: z.string(),
  kind: z.string(),
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
  type: z.string(),
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
} as const satisfies Record<KnownType, z.ZodType>;

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

/** The schemas above, as plain checks of the fields they name (see `fitsAtFirstSight`). */
const FIRST_SIGHT: Record<KnownType, Record<string, FieldCheck>> = {
  task: {
    id: "string",
    kind: "string",
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
    type: "string",
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

/** A field of the tables above, its name and `?` read once rather than on every message. */
interface FieldRule {
  readonly name: string;
  readonly optional: boolean;
  readonly check: FieldCheck;
}

function rulesOf(fields: Record<string, FieldCheck>): readonly FieldRule[] {
  return Object.entries(fields).map(([key, check]) =>
    key.endsWith("?")
      ? { name: key.slice(0, -1), optional: true, check }
      : { name: key, optional: false, check },
  );
}

const ENVELOPE_RULES = rulesOf(ENVELOPE);
const FIRST_SIGHT_RULES = new Map(
  Object.entries(FIRST_SIGHT).map(([type, fields]) => [type, rulesOf(fields)]),
);

/**
 * Whether a message surely passes the schemas, told without them. Zod builds a copy of every
 * message it checks, and the hub checks every message it publishes: that copy was nearly half
 * of what publishing allocated (docs/BENCHMARKS.md, generation). So the messages publishers
 * send every day (plain objects whose fields are plainly right) are let through here, and only
 * the rest go to zod, for its verdict and its words. `true` only where zod would say ok (a
 * property test holds it to that); `false` decides nothing.
 */
function fitsAtFirstSight(value: unknown): value is PublishedMessage {
  if (!isPlainRecord(value) || !fitsFields(value, ENVELOPE_RULES)) return false;
  const { type, object, data } = value;
  if (typeof type !== "string" || type.length < 1 || type.length > 64) return false;
  if (data !== undefined && !isPlainRecord(data)) return false;
  if (object === undefined) return true;
  if (!isPlainRecord(object)) return false;
  const rules = FIRST_SIGHT_RULES.get(type);
  return rules === undefined || fitsFields(object, rules);
}

function isPlainRecord(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null) return false;
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

function fitsFields(record: Record<string, unknown>, rules: readonly FieldRule[]): boolean {
  for (const { name, optional, check } of rules) {
    const field = record[name];
    if (field === undefined && optional) continue;
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
