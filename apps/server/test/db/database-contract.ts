/**
 * What every `Database` promises, run against each implementation (PGlite and PostgreSQL) by
 * database.test.ts. `open` must answer a database over the SAME storage each time it is called
 * (the close-and-reopen case depends on it); the suite migrates it itself. Every case makes
 * its own users with random ids, so cases share one store without seeing each other.
 */
import { randomUUID } from "node:crypto";
import { HeraldError } from "@herald/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type {
  Database,
  FileRecord,
  GenerationSettings,
  MediaKind,
  TaskRecord,
} from "../../src/db/types.ts";

const IMAGE_SETTINGS: GenerationSettings = { style: "ink", width: 1024, height: 1024, seed: 7 };
const VIDEO_SETTINGS: GenerationSettings = {
  width: 1280,
  height: 720,
  seed: 2_147_483_647,
  durationS: 5,
  frameRate: 24,
  imageFileId: "file-start",
};

function uniqueId(prefix: string): string {
  return `${prefix}-${randomUUID()}`;
}

export function describeDatabaseContract(name: string, open: () => Promise<Database>): void {
  describe(name, () => {
    let db: Database;

    beforeAll(async () => {
      db = await open();
      await db.migrate();
    });

    afterAll(async () => {
      await db?.close();
    });

    async function newUser(): Promise<string> {
      const user = await db.createUser(uniqueId("user"));
      return user.id;
    }

    interface GenerationOptions {
      projectId?: string;
      createProject?: boolean;
      type?: MediaKind;
      fileId?: string;
      taskId?: string;
      prompt?: string;
    }

    async function generate(userId: string, options: GenerationOptions = {}) {
      const type = options.type ?? "image";
      return db.createGeneration({
        userId,
        projectId: options.projectId ?? uniqueId("project"),
        createProject: options.createProject ?? true,
        file: {
          id: options.fileId ?? uniqueId("file"),
          type,
          prompt: options.prompt ?? "a lighthouse at dusk",
          settings: type === "image" ? IMAGE_SETTINGS : VIDEO_SETTINGS,
        },
        taskId: options.taskId ?? uniqueId("task"),
      });
    }

    /** A generation whose task a worker has started. */
    async function started(userId: string): Promise<{ task: TaskRecord; file: FileRecord }> {
      const { task } = await generate(userId);
      const moved = await db.transition({
        taskId: task.id,
        from: ["pending"],
        to: "in_progress",
        countAttempt: true,
      });
      if (!moved) throw new Error("test setup: the task did not start");
      return moved;
    }

    describe("users", () => {
      it("creates a user and reads it back with a Date", async () => {
        const id = uniqueId("user");
        const created = await db.createUser(id);
        expect(created.id).toBe(id);
        expect(created.createdAt).toBeInstanceOf(Date);
        expect(await db.getUser(id)).toEqual(created);
      });

      it("answers the existing user when it is created twice", async () => {
        const id = uniqueId("user");
        const first = await db.createUser(id);
        const second = await db.createUser(id);
        expect(second).toEqual(first);
      });

      it("answers undefined for an unknown user", async () => {
        expect(await db.getUser(uniqueId("nobody"))).toBeUndefined();
      });
    });

    describe("createGeneration", () => {
      it("creates a project, a pending file and a pending task", async () => {
        const userId = await newUser();
        const projectId = uniqueId("project");
        const fileId = uniqueId("file");
        const taskId = uniqueId("task");
        const result = await generate(userId, { projectId, fileId, taskId, type: "video" });

        expect(result.project).toEqual({ id: projectId, userId, createdAt: expect.any(Date) });
        expect(result.file).toEqual({
          id: fileId,
          userId,
          projectId,
          taskId,
          type: "video",
          status: "pending",
          progress: 0,
          prompt: "a lighthouse at dusk",
          settings: VIDEO_SETTINGS,
          createdAt: expect.any(Date),
          updatedAt: expect.any(Date),
        });
        // Unset optional fields are absent, not null.
        expect(Object.keys(result.file)).not.toContain("url");
        expect(result.task).toEqual({
          id: taskId,
          userId,
          projectId,
          fileId,
          kind: "video",
          status: "pending",
          attempts: 0,
          createdAt: expect.any(Date),
          updatedAt: expect.any(Date),
        });
        expect(Object.keys(result.task)).not.toContain("error");

        expect(await db.getProject(projectId)).toEqual(result.project);
        expect(await db.getFile(fileId)).toEqual(result.file);
        expect(await db.getTask(taskId)).toEqual(result.task);
      });

      it("adds to an existing project of the user", async () => {
        const userId = await newUser();
        const first = await generate(userId);
        const second = await generate(userId, {
          projectId: first.project.id,
          createProject: false,
        });

        expect(second.project).toEqual(first.project);
        const files = await db.listProjectFiles(first.project.id);
        expect(files.map((file) => file.id)).toEqual([first.file.id, second.file.id]);
        const tasks = await db.listProjectTasks(first.project.id);
        expect(tasks.map((task) => task.id)).toEqual([first.task.id, second.task.id]);
      });

      it("refuses another user's project with not_found and stores nothing", async () => {
        const owner = await newUser();
        const stranger = await newUser();
        const { project } = await generate(owner);
        const fileId = uniqueId("file");
        const taskId = uniqueId("task");

        const attempt = generate(stranger, {
          projectId: project.id,
          createProject: false,
          fileId,
          taskId,
        });
        await expect(attempt).rejects.toBeInstanceOf(HeraldError);
        await expect(attempt).rejects.toMatchObject({ code: "not_found" });
        expect(await db.getFile(fileId)).toBeUndefined();
        expect(await db.getTask(taskId)).toBeUndefined();
      });

      it("stores nothing when one part fails (a project id already taken)", async () => {
        const userId = await newUser();
        const { project } = await generate(userId);
        const fileId = uniqueId("file");
        const taskId = uniqueId("task");

        await expect(generate(userId, { projectId: project.id, fileId, taskId })).rejects.toThrow();
        expect(await db.getFile(fileId)).toBeUndefined();
        expect(await db.getTask(taskId)).toBeUndefined();
      });

      it("answers undefined for unknown files, tasks and projects", async () => {
        expect(await db.getFile(uniqueId("file"))).toBeUndefined();
        expect(await db.getTask(uniqueId("task"))).toBeUndefined();
        expect(await db.getProject(uniqueId("project"))).toBeUndefined();
      });
    });

    describe("listFiles", () => {
      /** Files created one after the other, with ids in the same order as their times. */
      async function gallery(userId: string, types: readonly MediaKind[]): Promise<FileRecord[]> {
        const base = uniqueId("file");
        const made: FileRecord[] = [];
        for (const [index, type] of types.entries()) {
          const fileId = `${base}-${String(index).padStart(3, "0")}`;
          made.push((await generate(userId, { fileId, type })).file);
        }
        return made;
      }

      it("answers the user's files newest first, without other users' files", async () => {
        const userId = await newUser();
        const made = await gallery(userId, ["image", "video", "image"]);
        const other = await newUser();
        await gallery(other, ["image"]);

        const page = await db.listFiles(userId, { limit: 10 });
        expect(page.items.map((file) => file.id)).toEqual(made.map((file) => file.id).reverse());
        expect(page.nextCursor).toBeUndefined();
        expect(page.items[0]).toEqual(made[2]);
      });

      it("filters by type", async () => {
        const userId = await newUser();
        const made = await gallery(userId, ["image", "video", "image", "video"]);

        const videos = await db.listFiles(userId, { type: "video", limit: 10 });
        expect(videos.items.map((file) => file.id)).toEqual([made[3]?.id, made[1]?.id]);
        const images = await db.listFiles(userId, { type: "image", limit: 10 });
        expect(images.items.map((file) => file.id)).toEqual([made[2]?.id, made[0]?.id]);
      });

      it("pages with the cursor over every file exactly once", async () => {
        const userId = await newUser();
        const made = await gallery(userId, [
          "image",
          "image",
          "video",
          "image",
          "video",
          "image",
          "image",
        ]);

        const seen: string[] = [];
        const sizes: number[] = [];
        let cursor: string | undefined;
        do {
          const page = await db.listFiles(userId, { limit: 3, cursor });
          sizes.push(page.items.length);
          seen.push(...page.items.map((file) => file.id));
          cursor = page.nextCursor;
        } while (cursor !== undefined && sizes.length < 10);

        expect(sizes).toEqual([3, 3, 1]);
        expect(seen).toEqual(made.map((file) => file.id).reverse());
      });

      it("gives no cursor when the last page is exactly full", async () => {
        const userId = await newUser();
        await gallery(userId, ["image", "image", "image", "image"]);

        const first = await db.listFiles(userId, { limit: 2 });
        expect(first.nextCursor).toBeDefined();
        const second = await db.listFiles(userId, { limit: 2, cursor: first.nextCursor });
        expect(second.items).toHaveLength(2);
        expect(second.nextCursor).toBeUndefined();
      });

      it("pages a type filter with its cursor", async () => {
        const userId = await newUser();
        const made = await gallery(userId, ["video", "image", "video", "image", "video"]);

        const first = await db.listFiles(userId, { type: "video", limit: 2 });
        const second = await db.listFiles(userId, {
          type: "video",
          limit: 2,
          cursor: first.nextCursor,
        });
        expect([...first.items, ...second.items].map((file) => file.id)).toEqual([
          made[4]?.id,
          made[2]?.id,
          made[0]?.id,
        ]);
        expect(second.nextCursor).toBeUndefined();
      });

      it("keeps the limit within 1 to 100", async () => {
        const userId = await newUser();
        await gallery(userId, ["image", "image"]);
        expect((await db.listFiles(userId, { limit: 0 })).items).toHaveLength(1);
        expect((await db.listFiles(userId, { limit: 1000 })).items).toHaveLength(2);
      });

      it("refuses a cursor it did not make with invalid_cursor", async () => {
        const userId = await newUser();
        await expect(
          db.listFiles(userId, { limit: 10, cursor: "not-a-cursor" }),
        ).rejects.toMatchObject({
          code: "invalid_cursor",
        });
      });

      it("answers an empty page for a user with no files", async () => {
        expect(await db.listFiles(await newUser(), { limit: 10 })).toEqual({ items: [] });
      });
    });

    describe("transition", () => {
      it("starts a pending task, counting the attempt, and moves the file with it", async () => {
        const userId = await newUser();
        const { task } = await generate(userId);

        const moved = await db.transition({
          taskId: task.id,
          from: ["pending"],
          to: "in_progress",
          countAttempt: true,
        });
        expect(moved?.task).toMatchObject({ id: task.id, status: "in_progress", attempts: 1 });
        expect(moved?.file).toMatchObject({ id: task.fileId, status: "in_progress" });
        expect(await db.getTask(task.id)).toEqual(moved?.task);
        expect(await db.getFile(task.fileId)).toEqual(moved?.file);

        // Taken up again after a crash: a second attempt.
        const again = await db.transition({
          taskId: task.id,
          from: ["pending", "in_progress"],
          to: "in_progress",
          countAttempt: true,
        });
        expect(again?.task.attempts).toBe(2);
      });

      it("completes a task with the file's output fields", async () => {
        const userId = await newUser();
        const { task, file } = await started(userId);

        const done = await db.transition({
          taskId: task.id,
          from: ["in_progress"],
          to: "completed",
          file: {
            progress: 1,
            url: `/files/${file.id}.mp4`,
            contentType: "video/mp4",
            storageKey: `${file.id}.mp4`,
            sizeBytes: 5_000_000_000,
            durationMs: 5000,
          },
        });
        const expected = {
          ...file,
          status: "completed",
          progress: 1,
          url: `/files/${file.id}.mp4`,
          contentType: "video/mp4",
          storageKey: `${file.id}.mp4`,
          sizeBytes: 5_000_000_000,
          durationMs: 5000,
          updatedAt: expect.any(Date),
        };
        expect(done?.file).toEqual(expected);
        expect(done?.task).toMatchObject({ status: "completed", attempts: 1 });
        expect(await db.getFile(file.id)).toEqual(expected);
        expect(done?.file.updatedAt.getTime()).toBeGreaterThanOrEqual(file.createdAt.getTime());
      });

      it("stores an error on the task and its file", async () => {
        const userId = await newUser();
        const { task } = await started(userId);

        const failed = await db.transition({
          taskId: task.id,
          from: ["in_progress"],
          to: "error",
          error: "Render failed: out of ink",
        });
        expect(failed?.task).toMatchObject({ status: "error", error: "Render failed: out of ink" });
        expect(failed?.file).toMatchObject({ status: "error", error: "Render failed: out of ink" });
      });

      it("answers undefined and changes nothing from the wrong state", async () => {
        const userId = await newUser();
        const { task, file } = await generate(userId);

        const refused = await db.transition({
          taskId: task.id,
          from: ["in_progress"],
          to: "completed",
          file: { progress: 1, url: "/files/x.png" },
          countAttempt: true,
        });
        expect(refused).toBeUndefined();
        expect(await db.getTask(task.id)).toEqual(task);
        expect(await db.getFile(file.id)).toEqual(file);
      });

      it("answers undefined for an unknown task", async () => {
        const moved = await db.transition({
          taskId: uniqueId("task"),
          from: ["pending"],
          to: "cancelled",
        });
        expect(moved).toBeUndefined();
      });

      it("lets exactly one of two concurrent transitions win", async () => {
        const userId = await newUser();
        const { task } = await started(userId);

        const [completed, cancelled] = await Promise.all([
          db.transition({
            taskId: task.id,
            from: ["in_progress"],
            to: "completed",
            file: { progress: 1 },
          }),
          db.transition({ taskId: task.id, from: ["in_progress"], to: "cancelled" }),
        ]);
        const winners = [completed, cancelled].filter((result) => result !== undefined);
        expect(winners).toHaveLength(1);
        const winner = winners[0];
        expect(await db.getTask(task.id)).toEqual(winner?.task);
        expect(await db.getFile(task.fileId)).toEqual(winner?.file);
      });

      it("counts every one of many concurrent attempts", async () => {
        const userId = await newUser();
        const { task } = await generate(userId);

        const results = await Promise.all(
          Array.from({ length: 8 }, () =>
            db.transition({
              taskId: task.id,
              from: ["pending", "in_progress"],
              to: "in_progress",
              countAttempt: true,
            }),
          ),
        );
        expect(results.every((result) => result !== undefined)).toBe(true);
        expect((await db.getTask(task.id))?.attempts).toBe(8);
      });
    });

    describe("setProgress", () => {
      it("never lowers the stored progress", async () => {
        const userId = await newUser();
        const { file } = await started(userId);

        await db.setProgress(file.id, 0.3);
        expect((await db.getFile(file.id))?.progress).toBe(0.3);
        await db.setProgress(file.id, 0.2);
        expect((await db.getFile(file.id))?.progress).toBe(0.3);
        await db.setProgress(file.id, 0.65);
        expect((await db.getFile(file.id))?.progress).toBe(0.65);

        // Neither through a transition that carries a lower value (a restarted render).
        const again = await db.transition({
          taskId: file.taskId,
          from: ["in_progress"],
          to: "in_progress",
          file: { progress: 0 },
        });
        expect(again?.file.progress).toBe(0.65);
      });

      it("keeps the highest of many concurrent updates", async () => {
        const userId = await newUser();
        const { file } = await started(userId);
        const values = [0.1, 0.9, 0.4, 0.7, 0.2, 0.5];
        await Promise.all(values.map((value) => db.setProgress(file.id, value)));
        expect((await db.getFile(file.id))?.progress).toBe(0.9);
      });

      it("leaves an ended file alone", async () => {
        const userId = await newUser();
        const { task, file } = await started(userId);
        await db.setProgress(file.id, 0.4);
        await db.transition({ taskId: task.id, from: ["in_progress"], to: "cancelled" });
        const before = await db.getFile(file.id);

        await db.setProgress(file.id, 0.9);
        expect(await db.getFile(file.id)).toEqual(before);
        expect(before?.progress).toBe(0.4);
      });

      it("clamps fractions to 0..1", async () => {
        const userId = await newUser();
        const { file } = await started(userId);
        await db.setProgress(file.id, 1.0000001);
        expect((await db.getFile(file.id))?.progress).toBe(1);
      });

      it("ignores an unknown file", async () => {
        await expect(db.setProgress(uniqueId("file"), 0.5)).resolves.toBeUndefined();
      });
    });

    describe("listUnfinishedTasks", () => {
      it("answers pending and running tasks, oldest first, and no ended one", async () => {
        const userId = await newUser();
        const pending = (await generate(userId)).task;
        const running = (await started(userId)).task;
        const done = (await started(userId)).task;
        await db.transition({ taskId: done.id, from: ["in_progress"], to: "completed" });
        const cancelled = (await generate(userId)).task;
        await db.transition({ taskId: cancelled.id, from: ["pending"], to: "cancelled" });

        const mine = (await db.listUnfinishedTasks()).filter((task) => task.userId === userId);
        expect(mine.map((task) => [task.id, task.status])).toEqual([
          [pending.id, "pending"],
          [running.id, "in_progress"],
        ]);
      });
    });

    describe("quotas", () => {
      it("refuses a generation past maxUnfinishedTasks, even when they all arrive at once", async () => {
        const userId = await newUser();
        const ended = await started(userId);
        await db.transition({ taskId: ended.task.id, from: ["in_progress"], to: "error" });
        const attempts = await Promise.allSettled(
          Array.from({ length: 6 }, () =>
            db.createGeneration({
              userId,
              projectId: uniqueId("project"),
              createProject: true,
              file: { id: uniqueId("file"), type: "image", prompt: "x", settings: IMAGE_SETTINGS },
              taskId: uniqueId("task"),
              maxUnfinishedTasks: 2,
            }),
          ),
        );
        expect(attempts.filter((a) => a.status === "fulfilled")).toHaveLength(2);
        for (const attempt of attempts.filter((a) => a.status === "rejected")) {
          expect(attempt.reason).toMatchObject({ code: "too_many_tasks" });
        }
      });

      it("counts the bytes of a user's stored files, deleted ones not", async () => {
        const userId = await newUser();
        await generate(userId);
        const running = await started(userId);
        const done = await started(userId);
        await db.transition({
          taskId: done.task.id,
          from: ["in_progress"],
          to: "completed",
          file: { sizeBytes: 5_000_000_000, storageKey: "a.png" },
        });
        const deleted = await started(userId);
        await db.transition({
          taskId: deleted.task.id,
          from: ["in_progress"],
          to: "completed",
          file: { sizeBytes: 7 },
        });
        await db.deleteFile(deleted.file.id);
        expect(await db.storedBytes(userId)).toBe(5_000_000_000);
        expect(await db.storedBytes(await newUser())).toBe(0);
        expect(running.task.status).toBe("in_progress");
      });

      it("removes users older than the cutoff that own no project, and only those", async () => {
        const idle = await newUser();
        const working = await newUser();
        await generate(working);
        const removed = await db.deleteIdleUsers(new Date(Date.now() + 60_000));
        expect(removed).toBeGreaterThanOrEqual(1);
        expect(await db.getUser(idle)).toBeUndefined();
        expect(await db.getUser(working)).toBeDefined();
        const fresh = await newUser();
        await db.deleteIdleUsers(new Date(Date.now() - 60_000));
        expect(await db.getUser(fresh)).toBeDefined();
      });
    });

    describe("deleteFile", () => {
      it("removes the file from reads and lists, and keeps its task", async () => {
        const userId = await newUser();
        const kept = await generate(userId);
        const gone = await generate(userId, { projectId: kept.project.id, createProject: false });

        await db.deleteFile(gone.file.id);
        expect(await db.getFile(gone.file.id)).toBeUndefined();
        expect((await db.listFiles(userId, { limit: 10 })).items.map((file) => file.id)).toEqual([
          kept.file.id,
        ]);
        expect((await db.listProjectFiles(kept.project.id)).map((file) => file.id)).toEqual([
          kept.file.id,
        ]);
        expect(await db.getTask(gone.task.id)).toEqual(gone.task);
        expect(await db.listProjectTasks(kept.project.id)).toHaveLength(2);
      });

      it("is harmless twice and for an unknown id", async () => {
        const userId = await newUser();
        const { file } = await generate(userId);
        await db.deleteFile(file.id);
        await expect(db.deleteFile(file.id)).resolves.toBeUndefined();
        await expect(db.deleteFile(uniqueId("file"))).resolves.toBeUndefined();
      });
    });

    describe("lifecycle", () => {
      it("answers check() while open", async () => {
        await expect(db.check()).resolves.toBeUndefined();
      });

      it("takes migrate() again without harm", async () => {
        const userId = await newUser();
        const { file } = await generate(userId);
        await db.migrate();
        await db.migrate();
        expect(await db.getFile(file.id)).toEqual(file);
      });

      it("keeps the data across close and reopen", async () => {
        const userId = await newUser();
        const { project, file, task } = await generate(userId);
        await db.close();
        await expect(db.close()).resolves.toBeUndefined();

        db = await open();
        await db.migrate();
        expect(await db.getUser(userId)).toMatchObject({ id: userId });
        expect(await db.getProject(project.id)).toEqual(project);
        expect(await db.getFile(file.id)).toEqual(file);
        expect(await db.getTask(task.id)).toEqual(task);
      });
    });
  });
}
