/**
 * A task's life in one place (PROTOCOL.md section 4, GENERATION_API.md "What a task promises"):
 * pending → in_progress → completed / error / cancelled. Each transition is stored, then the
 * queue is told where it must be, then the events are published, in that order, so a client
 * that hears an event finds the same state over the API and a cancel's events come after the
 * task's last. The API routes, the runner and the queues go through here and nowhere else.
 */
import { randomUUID } from "node:crypto";
import { HeraldError } from "@herald/protocol";
import type { Database, FileRecord, MediaKind, TaskRecord, Transition } from "../db/types.ts";
import type { GenerationEvents } from "../events.ts";
import type { TaskQueue } from "./queue.ts";

/** Why a queue aborts a running task: the one type both queues pass as the signal's reason. */
export type StopReason = "cancelled" | "stopping";

export type Stored = { task: TaskRecord; file: FileRecord };

export interface NewTask {
  userId: string;
  kind: MediaKind;
  prompt: string;
  settings: FileRecord["settings"];
  /** An existing project of the user; a new one where absent. */
  projectId?: string | undefined;
}

export interface TaskLifecycle {
  /** Stores a new task (and its file, and project if new), tells it, queues it. */
  create(task: NewTask): Promise<TaskRecord>;
  /** A worker takes the task up; `undefined` if it was cancelled or ended meanwhile. */
  start(taskId: string): Promise<Stored | undefined>;
  /** The render's output is stored: completed, with its result told first. */
  complete(taskId: string, output: NonNullable<Transition["file"]>): Promise<Stored | undefined>;
  fail(taskId: string, message: string): Promise<Stored | undefined>;
  /** Stops a pending or running task; `undefined` if it had already ended. */
  cancel(taskId: string): Promise<Stored | undefined>;
}

export function createTaskLifecycle(deps: {
  db: Database;
  events: GenerationEvents;
  /** The queue is made with a runner that calls this lifecycle, so it is handed over late. */
  queue: () => TaskQueue;
  limits: { maxTasksPerUser: number; storageQuotaBytes: number };
}): TaskLifecycle {
  const { db, events } = deps;

  async function tellEnd(moved: Stored): Promise<void> {
    await events.file(moved.file);
    await events.task(moved.task);
  }

  /** The storage quota; the task cap is checked where the task is stored, atomically. */
  async function checkQuotas(userId: string): Promise<void> {
    const { storageQuotaBytes } = deps.limits;
    const used = await db.storedBytes(userId);
    if (used >= storageQuotaBytes) {
      throw new HeraldError(
        "storage_quota_exceeded",
        `your files take ${megabytes(used)} of the ${megabytes(storageQuotaBytes)} each user may keep: delete some (DELETE /api/v1/file/{id}) to generate more`,
      );
    }
  }

  return {
    async create(input) {
      await checkQuotas(input.userId);
      if (input.projectId !== undefined) {
        const project = await db.getProject(input.projectId);
        if (!project || project.userId !== input.userId) {
          throw new HeraldError(
            "not_found",
            "projectId: no project with that id is yours; leave it out to start a new one",
            { field: "projectId" },
          );
        }
      }
      const { task } = await db.createGeneration({
        userId: input.userId,
        projectId: input.projectId ?? randomUUID(),
        createProject: input.projectId === undefined,
        file: {
          id: randomUUID(),
          type: input.kind,
          prompt: input.prompt,
          settings: input.settings,
        },
        taskId: randomUUID(),
        maxUnfinishedTasks: deps.limits.maxTasksPerUser,
      });
      await events.task(task);
      await deps.queue().enqueue(task.id, task.userId);
      return task;
    },

    async start(taskId) {
      const started = await db.transition({
        taskId,
        from: ["pending", "in_progress"],
        to: "in_progress",
        countAttempt: true,
      });
      if (started) await events.task(started.task);
      return started;
    },

    async complete(taskId, output) {
      const completed = await db.transition({
        taskId,
        from: ["in_progress"],
        to: "completed",
        file: { ...output, progress: 1 },
      });
      if (!completed) return undefined;
      await events.result(completed.task, completed.file);
      await tellEnd(completed);
      return completed;
    },

    async fail(taskId, message) {
      const failed = await db.transition({
        taskId,
        from: ["in_progress"],
        to: "error",
        error: message,
      });
      if (failed) await tellEnd(failed);
      return failed;
    },

    async cancel(taskId) {
      const cancelled = await db.transition({
        taskId,
        from: ["pending", "in_progress"],
        to: "cancelled",
      });
      if (!cancelled) return undefined;
      // Stopped before it is told, so that nothing of the render comes after the cancel.
      await deps.queue().cancel(taskId);
      await tellEnd(cancelled);
      return cancelled;
    },
  };
}

function megabytes(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}
