import { describe, expect, it } from "vitest";
import type { Database, FileRecord, TaskRecord, TaskStatus, Transition } from "../db/types.ts";
import type { GenerationEvents } from "../events.ts";
import { createTaskLifecycle } from "./lifecycle.ts";
import type { TaskQueue } from "./queue.ts";

/** A lifecycle over doubles that write what happens, in order, to one log. */
function harness(status: TaskStatus) {
  const log: string[] = [];
  let current = status;
  const at = new Date(0);
  const task = (): TaskRecord => ({
    id: "t",
    userId: "u",
    projectId: "p",
    fileId: "f",
    kind: "image",
    status: current,
    attempts: 0,
    createdAt: at,
    updatedAt: at,
  });
  const file = (): FileRecord => ({
    id: "f",
    userId: "u",
    projectId: "p",
    taskId: "t",
    type: "image",
    status: current,
    progress: 0,
    prompt: "x",
    settings: { width: 1, height: 1, seed: 1 },
    createdAt: at,
    updatedAt: at,
  });
  const db = {
    async transition(change: Transition) {
      if (!change.from.includes(current)) return undefined;
      current = change.to;
      log.push(`stored ${change.to}`);
      return { task: task(), file: file() };
    },
  } as unknown as Database;
  const events = {
    async task(t: TaskRecord) {
      log.push(`told task ${t.status}`);
    },
    async file(f: FileRecord) {
      log.push(`told file ${f.status}`);
    },
    async result() {
      log.push("told result");
    },
    async progress() {},
  } satisfies GenerationEvents;
  const queue: TaskQueue = {
    async enqueue(taskId) {
      log.push(`queued ${taskId}`);
    },
    async cancel(taskId) {
      log.push(`stopped ${taskId}`);
    },
    async close() {},
  };
  const limits = { maxTasksPerUser: 1, storageQuotaBytes: 1 };
  return { log, lifecycle: createTaskLifecycle({ db, events, queue: () => queue, limits }) };
}

describe("the task lifecycle", () => {
  it("stores a cancel, stops the task, then tells it: file, then task", async () => {
    const { log, lifecycle } = harness("in_progress");
    expect(await lifecycle.cancel("t")).toBeDefined();
    expect(log).toEqual([
      "stored cancelled",
      "stopped t",
      "told file cancelled",
      "told task cancelled",
    ]);
  });

  it("changes and tells nothing when cancelling a task that has ended", async () => {
    const { log, lifecycle } = harness("completed");
    expect(await lifecycle.cancel("t")).toBeUndefined();
    expect(log).toEqual([]);
  });

  it("stores a completion before telling its result, file and task", async () => {
    const { log, lifecycle } = harness("in_progress");
    await lifecycle.complete("t", { url: "/files/f.png", storageKey: "f.png" });
    expect(log).toEqual([
      "stored completed",
      "told result",
      "told file completed",
      "told task completed",
    ]);
  });

  it("does not start, fail or complete a task that was cancelled first", async () => {
    const { log, lifecycle } = harness("cancelled");
    expect(await lifecycle.start("t")).toBeUndefined();
    expect(await lifecycle.fail("t", "boom")).toBeUndefined();
    expect(await lifecycle.complete("t", {})).toBeUndefined();
    expect(log).toEqual([]);
  });
});
