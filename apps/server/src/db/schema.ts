/**
 * The studio's tables as Drizzle sees them. PGlite and PostgreSQL share this one schema (both
 * speak the PostgreSQL dialect); the SQL that creates it lives in `migrations.ts`, and
 * test/db/database.test.ts checks the two agree column by column.
 */
import {
  bigint,
  doublePrecision,
  integer,
  jsonb,
  pgTable,
  text,
  timestamp,
} from "drizzle-orm/pg-core";
import type { GenerationSettings, MediaKind, TaskStatus } from "./types.ts";

/**
 * Millisecond precision, so a stored time round-trips exactly through a JavaScript Date and
 * through the `listFiles` cursor (microseconds would make a row compare after its own cursor).
 */
function time(name: string) {
  return timestamp(name, { withTimezone: true, precision: 3, mode: "date" });
}

export const users = pgTable("users", {
  id: text("id").primaryKey(),
  createdAt: time("created_at").notNull().defaultNow(),
});

export const projects = pgTable("projects", {
  id: text("id").primaryKey(),
  userId: text("user_id")
    .notNull()
    .references(() => users.id),
  createdAt: time("created_at").notNull().defaultNow(),
});

export const files = pgTable("files", {
  id: text("id").primaryKey(),
  userId: text("user_id")
    .notNull()
    .references(() => users.id),
  projectId: text("project_id")
    .notNull()
    .references(() => projects.id),
  // No foreign key: tasks.file_id points here, and a cycle would need deferred constraints.
  taskId: text("task_id").notNull(),
  type: text("type").$type<MediaKind>().notNull(),
  status: text("status").$type<TaskStatus>().notNull(),
  progress: doublePrecision("progress").notNull().default(0),
  prompt: text("prompt").notNull(),
  settings: jsonb("settings").$type<GenerationSettings>().notNull(),
  url: text("url"),
  contentType: text("content_type"),
  storageKey: text("storage_key"),
  sizeBytes: bigint("size_bytes", { mode: "number" }),
  durationMs: integer("duration_ms"),
  error: text("error"),
  createdAt: time("created_at").notNull().defaultNow(),
  updatedAt: time("updated_at").notNull().defaultNow(),
  // Soft delete: the file's task stays in the project's history and still points here.
  deletedAt: time("deleted_at"),
});

export const tasks = pgTable("tasks", {
  id: text("id").primaryKey(),
  userId: text("user_id")
    .notNull()
    .references(() => users.id),
  projectId: text("project_id")
    .notNull()
    .references(() => projects.id),
  fileId: text("file_id")
    .notNull()
    .references(() => files.id),
  kind: text("kind").$type<MediaKind>().notNull(),
  status: text("status").$type<TaskStatus>().notNull(),
  error: text("error"),
  attempts: integer("attempts").notNull().default(0),
  createdAt: time("created_at").notNull().defaultNow(),
  updatedAt: time("updated_at").notNull().defaultNow(),
});

/** Which migrations of `migrations.ts` a database has had. */
export const schemaMigrations = pgTable("schema_migrations", {
  id: integer("id").primaryKey(),
  name: text("name").notNull(),
  appliedAt: time("applied_at").notNull().defaultNow(),
});
