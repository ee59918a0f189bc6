/**
 * The one implementation of `Database`, over any PostgreSQL-dialect Drizzle instance: PGlite
 * (embedded) and node-postgres (a PostgreSQL server) differ only in how `index.ts` opens them.
 */
import { HeraldError } from "@herald/protocol";
import {
  and,
  asc,
  desc,
  eq,
  inArray,
  isNull,
  lt,
  notInArray,
  or,
  type SQL,
  sql,
} from "drizzle-orm";
import type { PgDatabase, PgQueryResultHKT } from "drizzle-orm/pg-core";
import { decodeFileCursor, encodeFileCursor } from "./cursor.ts";
import { runMigrations } from "./migrations.ts";
import { files, projects, tasks, users } from "./schema.ts";
import {
  type Database,
  ENDED_STATUSES,
  type FilePage,
  type FileRecord,
  type NewGeneration,
  type Project,
  type TaskRecord,
  type TaskStatus,
  type Transition,
  type User,
} from "./types.ts";

const MAX_PAGE = 100;
const UNFINISHED: readonly TaskStatus[] = ["pending", "in_progress"];

type FileRow = typeof files.$inferSelect;
type TaskRow = typeof tasks.$inferSelect;

/**
 * Wraps an open Drizzle instance; `close` releases what it runs on (the PGlite instance, the
 * pool). The schema must be migrated (`migrate()`) before anything else is asked.
 */
export function createDrizzleDatabase<H extends PgQueryResultHKT>(
  db: PgDatabase<H>,
  close: () => Promise<void>,
): Database {
  let closing: Promise<void> | undefined;

  // Database time, so servers with skewed clocks still order rows the way they were written.
  const now = sql`now()`;

  return {
    async migrate() {
      await runMigrations(db);
    },

    async createUser(id) {
      // Creating an existing user answers it as it is: a session may be set up twice at once.
      await db.insert(users).values({ id }).onConflictDoNothing();
      const [row] = await db.select().from(users).where(eq(users.id, id));
      if (!row) throw new HeraldError("internal", `User ${id} vanished right after it was stored.`);
      return toUser(row);
    },

    async getUser(id) {
      const [row] = await db.select().from(users).where(eq(users.id, id));
      return row && toUser(row);
    },

    async getProject(id) {
      const [row] = await db.select().from(projects).where(eq(projects.id, id));
      return row && toProject(row);
    },

    async createGeneration(generation: NewGeneration) {
      const { userId, projectId, file, taskId } = generation;
      return db.transaction(async (tx) => {
        const cap = generation.maxUnfinishedTasks;
        if (cap !== undefined) {
          // The user's row locked: a concurrent generation of the same user waits here, then
          // counts this one's task.
          await tx.select({ id: users.id }).from(users).where(eq(users.id, userId)).for("update");
          const [row] = await tx
            .select({ count: sql<number>`count(*)::int` })
            .from(tasks)
            .where(and(eq(tasks.userId, userId), inArray(tasks.status, [...UNFINISHED])));
          if ((row?.count ?? 0) >= cap) {
            throw new HeraldError(
              "too_many_tasks",
              `at most ${cap} tasks may be queued or running per user: wait for one to end, or cancel one`,
            );
          }
        }
        let project: Project | undefined;
        if (generation.createProject) {
          const [row] = await tx.insert(projects).values({ id: projectId, userId }).returning();
          project = row && toProject(row);
        } else {
          const [row] = await tx
            .select()
            .from(projects)
            .where(and(eq(projects.id, projectId), eq(projects.userId, userId)));
          project = row && toProject(row);
          if (!project) {
            throw new HeraldError(
              "not_found",
              `Project ${projectId} does not exist for this user.`,
            );
          }
        }
        const [fileRow] = await tx
          .insert(files)
          .values({
            id: file.id,
            userId,
            projectId,
            taskId,
            type: file.type,
            status: "pending",
            prompt: file.prompt,
            settings: file.settings,
          })
          .returning();
        const [taskRow] = await tx
          .insert(tasks)
          .values({
            id: taskId,
            userId,
            projectId,
            fileId: file.id,
            kind: file.type,
            status: "pending",
          })
          .returning();
        if (!project || !fileRow || !taskRow) {
          throw new HeraldError(
            "internal",
            "An insert answered no row; the generation was not stored.",
          );
        }
        return { project, file: toFile(fileRow), task: toTask(taskRow) };
      });
    },

    async getFile(id) {
      const [row] = await db
        .select()
        .from(files)
        .where(and(eq(files.id, id), isNull(files.deletedAt)));
      return row && toFile(row);
    },

    async getTask(id) {
      const [row] = await db.select().from(tasks).where(eq(tasks.id, id));
      return row && toTask(row);
    },

    async listFiles(userId, options) {
      const limit = pageSize(options.limit);
      const conditions: SQL[] = [eq(files.userId, userId), isNull(files.deletedAt)];
      if (options.type !== undefined) conditions.push(eq(files.type, options.type));
      if (options.cursor !== undefined) {
        const after = decodeFileCursor(options.cursor);
        const older = or(
          lt(files.createdAt, after.createdAt),
          and(eq(files.createdAt, after.createdAt), lt(files.id, after.id)),
        );
        if (older) conditions.push(older);
      }
      // One row more than asked says whether a next page exists without counting.
      const rows = await db
        .select()
        .from(files)
        .where(and(...conditions))
        .orderBy(desc(files.createdAt), desc(files.id))
        .limit(limit + 1);
      const items = rows.slice(0, limit).map(toFile);
      const last = items.at(-1);
      const page: FilePage = { items };
      if (rows.length > limit && last) page.nextCursor = encodeFileCursor(last);
      return page;
    },

    async listProjectFiles(projectId) {
      const rows = await db
        .select()
        .from(files)
        .where(and(eq(files.projectId, projectId), isNull(files.deletedAt)))
        .orderBy(asc(files.createdAt), asc(files.id));
      return rows.map(toFile);
    },

    async listProjectTasks(projectId) {
      const rows = await db
        .select()
        .from(tasks)
        .where(eq(tasks.projectId, projectId))
        .orderBy(asc(tasks.createdAt), asc(tasks.id));
      return rows.map(toTask);
    },

    async transition(change: Transition) {
      if (change.from.length === 0) return undefined;
      return db.transaction(async (tx) => {
        // The WHERE on status is the whole concurrency story: under READ COMMITTED a second
        // UPDATE of the same row waits for the first, re-reads the row and no longer matches.
        const [taskRow] = await tx
          .update(tasks)
          .set({
            status: change.to,
            updatedAt: now,
            ...(change.error === undefined ? {} : { error: change.error }),
            ...(change.countAttempt ? { attempts: sql`${tasks.attempts} + 1` } : {}),
          })
          .where(and(eq(tasks.id, change.taskId), inArray(tasks.status, [...change.from])))
          .returning();
        if (!taskRow) return undefined;

        const fields = change.file ?? {};
        const [fileRow] = await tx
          .update(files)
          .set({
            status: change.to,
            updatedAt: now,
            ...(change.error === undefined ? {} : { error: change.error }),
            // Progress never goes down, not even through a transition (GENERATION_API.md).
            ...(fields.progress === undefined
              ? {}
              : {
                  progress: sql`GREATEST(${files.progress}, ${checkedProgress(fields.progress)})`,
                }),
            ...(fields.url === undefined ? {} : { url: fields.url }),
            ...(fields.contentType === undefined ? {} : { contentType: fields.contentType }),
            ...(fields.storageKey === undefined ? {} : { storageKey: fields.storageKey }),
            ...(fields.sizeBytes === undefined ? {} : { sizeBytes: fields.sizeBytes }),
            ...(fields.durationMs === undefined ? {} : { durationMs: fields.durationMs }),
          })
          .where(eq(files.id, taskRow.fileId))
          .returning();
        if (!fileRow) {
          // Throwing rolls the task's change back: a task never moves without its file.
          throw new HeraldError(
            "internal",
            `Task ${change.taskId} points at a file that does not exist.`,
          );
        }
        return { task: toTask(taskRow), file: toFile(fileRow) };
      });
    },

    async setProgress(fileId, progress) {
      const value = checkedProgress(progress);
      await db
        .update(files)
        .set({ progress: sql`GREATEST(${files.progress}, ${value})`, updatedAt: now })
        .where(
          and(
            eq(files.id, fileId),
            lt(files.progress, value),
            notInArray(files.status, [...ENDED_STATUSES]),
            isNull(files.deletedAt),
          ),
        );
    },

    async storedBytes(userId) {
      const [row] = await db
        .select({ bytes: sql<string>`coalesce(sum(${files.sizeBytes}), 0)::text` })
        .from(files)
        .where(and(eq(files.userId, userId), isNull(files.deletedAt)));
      return Number(row?.bytes ?? 0);
    },

    async deleteIdleUsers(createdBefore) {
      const gone = await db
        .delete(users)
        .where(
          and(
            lt(users.createdAt, createdBefore),
            sql`NOT EXISTS (SELECT 1 FROM ${projects} WHERE ${projects.userId} = ${users.id})`,
          ),
        )
        .returning({ id: users.id });
      return gone.length;
    },

    async listUnfinishedTasks() {
      const rows = await db
        .select()
        .from(tasks)
        .where(inArray(tasks.status, [...UNFINISHED]))
        .orderBy(asc(tasks.createdAt), asc(tasks.id));
      return rows.map(toTask);
    },

    async deleteFile(id) {
      await db
        .update(files)
        .set({ deletedAt: now, updatedAt: now })
        .where(and(eq(files.id, id), isNull(files.deletedAt)));
    },

    async check() {
      await db.execute(sql`SELECT 1`);
    },

    close() {
      closing ??= close();
      return closing;
    },
  };
}

function pageSize(limit: number): number {
  if (!Number.isFinite(limit))
    throw new RangeError(`listFiles limit must be a number, not ${limit}.`);
  return Math.min(MAX_PAGE, Math.max(1, Math.trunc(limit)));
}

/** Fractions outside 0..1 are clamped (a renderer's rounding); NaN is a bug and refused. */
function checkedProgress(progress: number): number {
  if (Number.isNaN(progress))
    throw new RangeError("progress must be a number from 0 to 1, not NaN.");
  return Math.min(1, Math.max(0, progress));
}

function toUser(row: typeof users.$inferSelect): User {
  return { id: row.id, createdAt: row.createdAt };
}

function toProject(row: typeof projects.$inferSelect): Project {
  return { id: row.id, userId: row.userId, createdAt: row.createdAt };
}

function toFile(row: FileRow): FileRecord {
  const record: FileRecord = {
    id: row.id,
    userId: row.userId,
    projectId: row.projectId,
    taskId: row.taskId,
    type: row.type,
    status: row.status,
    progress: row.progress,
    prompt: row.prompt,
    settings: row.settings,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
  // Absent, not null, so the API can spread a record into JSON without `"url": null`.
  if (row.url !== null) record.url = row.url;
  if (row.contentType !== null) record.contentType = row.contentType;
  if (row.storageKey !== null) record.storageKey = row.storageKey;
  if (row.sizeBytes !== null) record.sizeBytes = row.sizeBytes;
  if (row.durationMs !== null) record.durationMs = row.durationMs;
  if (row.error !== null) record.error = row.error;
  return record;
}

function toTask(row: TaskRow): TaskRecord {
  const record: TaskRecord = {
    id: row.id,
    userId: row.userId,
    projectId: row.projectId,
    fileId: row.fileId,
    kind: row.kind,
    status: row.status,
    attempts: row.attempts,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
  if (row.error !== null) record.error = row.error;
  return record;
}
