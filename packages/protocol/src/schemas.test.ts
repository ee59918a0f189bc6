import { readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { KnownType } from "./messages.ts";
import {
  checkPublishedMessage,
  type MessageCheck,
  messageSchema,
  objectSchemas,
  publishedMessageSchema,
} from "./schemas.ts";

const FIXTURE = new URL("../../../../shared/fixtures/legacy-ws-messages.jsonl", import.meta.url);
const legacyMessages: unknown[] = readFileSync(FIXTURE, "utf8")
  .split("\n")
  .filter((line) => line.trim() !== "")
  .map((line) => JSON.parse(line) as unknown);

function problemOf(check: MessageCheck): string {
  if (check.ok) throw new Error(`expected a refusal, got ${JSON.stringify(check.message)}`);
  return check.problem;
}

const task = { id: "t_1", kind: "image", status: "pending", projectId: "p_1", fileId: "f_1" };
const progress = { taskId: "t_1", fileId: "f_1", progress: 0.5 };

describe("checkPublishedMessage", () => {
  it("reads the whole legacy fixture", () => {
    expect(legacyMessages).toHaveLength(20);
  });

  it.each(legacyMessages.map((message, i) => [i + 1, message] as const))(
    "passes legacy WebSocket message %i through unchanged",
    (_line, message) => {
      const check = checkPublishedMessage(structuredClone(message));
      expect(check).toEqual({ ok: true, message: expect.anything() });
      if (check.ok) {
        expect(check.message).toStrictEqual(message);
      }
    },
  );

  it("keeps fields it does not know, at the top and inside object", () => {
    const message = {
      type: "task",
      object: { ...task, attempt: 2, meta: { gpu: "a100" } },
      status: "legacy",
      progress: 0.3,
    };
    const check = checkPublishedMessage(message);
    expect(check.ok && check.message).toStrictEqual(message);
  });

  it("passes a type nobody knows yet, whatever its object holds", () => {
    const message = { type: "future_type", object: { progress: 7, status: "whatever" } };
    const check = checkPublishedMessage(message);
    expect(check.ok && check.message).toStrictEqual(message);
  });

  it("passes a known type without an object", () => {
    expect(checkPublishedMessage({ type: "task", projectId: "p_1" }).ok).toBe(true);
  });

  it.each([["a string"], [42], [null], [undefined], [true], [[{ type: "task" }]]])(
    "refuses a message that is not an object (%j)",
    (value) => {
      expect(problemOf(checkPublishedMessage(value))).toMatch(/^message: .*expected object/);
    },
  );

  it("refuses a message without a type, naming the field", () => {
    expect(problemOf(checkPublishedMessage({ object: task }))).toMatch(/^message\.type: /);
  });

  it.each([[1], [null], [{ name: "task" }], [""], ["x".repeat(65)]])(
    "refuses a type that is not a short non-empty string (%j)",
    (type) => {
      expect(problemOf(checkPublishedMessage({ type }))).toMatch(/^message\.type: /);
    },
  );

  it.each([["a string"], [42], [null], [[1, 2]]])(
    "refuses an object field that is not an object (%j)",
    (object) => {
      expect(problemOf(checkPublishedMessage({ type: "data", object }))).toMatch(
        /^message\.object: /,
      );
    },
  );

  it.each([
    ["data", "text"],
    ["error", 500],
    ["projectId", 12],
    ["requestId", { id: 1 }],
  ])("refuses an envelope field %s of the wrong type", (field, value) => {
    expect(problemOf(checkPublishedMessage({ type: "data", [field]: value }))).toMatch(
      new RegExp(`^message\\.${field}: `),
    );
  });

  it("refuses a task whose status is not one of the five", () => {
    const problem = problemOf(
      checkPublishedMessage({ type: "task", object: { ...task, status: "done" } }),
    );
    expect(problem).toMatch(/"task" message\.status: /);
    expect(problem).toMatch(/in_progress/);
  });

  it("refuses a task missing its fileId", () => {
    const { fileId: _fileId, ...withoutFile } = task;
    expect(problemOf(checkPublishedMessage({ type: "task", object: withoutFile }))).toMatch(
      /"task" message\.fileId: /,
    );
  });

  it.each([[1.5], [-0.1]])("refuses render progress outside 0 to 1 (%s)", (value) => {
    expect(
      problemOf(
        checkPublishedMessage({
          type: "render_progress",
          object: { ...progress, progress: value },
        }),
      ),
    ).toMatch(/"render_progress" message\.progress: /);
  });

  it("accepts render progress at both ends of 0 to 1", () => {
    for (const value of [0, 1]) {
      const check = checkPublishedMessage({
        type: "render_progress",
        object: { ...progress, progress: value },
      });
      expect(check.ok).toBe(true);
    }
  });

  it("refuses a stream_reset with an unknown reason", () => {
    expect(
      problemOf(checkPublishedMessage({ type: "stream_reset", object: { reason: "bored" } })),
    ).toMatch(/"stream_reset" message\.reason: /);
  });
});

describe("messageSchema", () => {
  it("accepts a published message plus channel and ts, keeping every field", () => {
    for (const published of legacyMessages) {
      const received = { ...(published as object), channel: "project.p_01", ts: 1_732_400_000_000 };
      expect(messageSchema.parse(received)).toStrictEqual(received);
    }
  });

  it("requires channel and ts", () => {
    expect(messageSchema.safeParse({ type: "task", ts: 1 }).success).toBe(false);
    expect(messageSchema.safeParse({ type: "task", channel: "project.p1" }).success).toBe(false);
    expect(messageSchema.safeParse({ type: "task", channel: "project.p1", ts: "1" }).success).toBe(
      false,
    );
  });
});

describe("checkPublishedMessage's check without zod", () => {
  /** The verdict of the schemas alone. */
  function schemasSay(value: unknown): boolean {
    const envelope = publishedMessageSchema.safeParse(value);
    if (!envelope.success) return false;
    const { type, object } = envelope.data;
    const schema = Object.hasOwn(objectSchemas, type)
      ? objectSchemas[type as KnownType]
      : undefined;
    return schema === undefined || object === undefined || schema.safeParse(object).success;
  }

  // Values that are right for some field and wrong for others, so messages land on both sides.
  const value = fc.oneof(
    fc.constantFrom("image", "video", "pending", "in_progress", "error", "history_expired"),
    fc.constantFrom(0, 0.5, 1, -1, 2, -0, Number.NaN, Number.POSITIVE_INFINITY, 1e9),
    fc.string({ maxLength: 3 }),
    fc.constantFrom(undefined, null, true, [], {}, new Date(0), Object.create(null)),
  );
  const fieldNames = [
    ...new Set(Object.values(objectSchemas).flatMap((schema) => Object.keys(schema.shape))),
  ];
  const object = fc.oneof(
    fc.dictionary(fc.constantFrom(...fieldNames), value, { maxKeys: fieldNames.length }),
    value,
  );
  const message = fc.record(
    {
      type: fc.oneof(
        fc.constantFrom(...Object.keys(objectSchemas), "data", "scene", ""),
        fc.string({ maxLength: 70 }),
        value,
      ),
      object,
      data: object,
      error: value,
      projectId: value,
      requestId: value,
    },
    { requiredKeys: [] },
  );

  it("agrees with the schemas on every message", () => {
    fc.assert(
      fc.property(message, (sent) => {
        expect(checkPublishedMessage(sent).ok).toBe(schemasSay(sent));
      }),
      { numRuns: 5000 },
    );
  });

  it("agrees with the schemas on messages made to pass them, field by field", () => {
    const good = {
      task,
      render_progress: { ...progress, stage: "denoise", etaMs: 0 },
      render_result: { taskId: "t", fileId: "f", url: "/files/x", contentType: "image/png" },
      file: { id: "f", type: "video", status: "ready", projectId: "p", width: 1, durationMs: 2 },
      stream_reset: { reason: "unknown_cursor" },
    } as const;
    fc.assert(
      fc.property(
        fc.constantFrom(...(Object.keys(good) as KnownType[])),
        fc.array(fc.tuple(fc.constantFrom(...fieldNames, "other"), value), { maxLength: 2 }),
        (type, changes) => {
          const object: Record<string, unknown> = { ...good[type] };
          for (const [field, changed] of changes) object[field] = changed;
          const sent = { type, object, projectId: "p" };
          expect(checkPublishedMessage(sent).ok).toBe(schemasSay(sent));
        },
      ),
      { numRuns: 3000 },
    );
  });
});
