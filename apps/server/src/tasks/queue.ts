/**
 * The task queue: which task runs next and where. The embedded engine runs tasks in this
 * process with a worker pool; a distributed engine (a later issue) implements the same
 * interface across servers.
 */
import type { StopReason } from "./lifecycle.ts";

export interface TaskQueue {
  /** Queues a task of a user; it runs when a worker is free and it is the user's turn. */
  enqueue(taskId: string, userId: string): Promise<void>;
  /**
   * Stops a queued or running task, promptly (its render is aborted), and resolves once it has
   * stopped, so that what the caller publishes next comes after the task's last event.
   */
  cancel(taskId: string): Promise<void>;
  /** Stops taking tasks, aborts those running, waits until they have stopped. */
  close(): Promise<void>;
}

/** What the queue runs: one task, to its end, stopping when `signal` aborts (its reason a `StopReason`). */
export type TaskHandler = (taskId: string, signal: AbortSignal) => Promise<void>;

export function createInProcessQueue(options: {
  concurrency: number;
  handler: TaskHandler;
  onError: (taskId: string, error: unknown) => void;
}): TaskQueue {
  /** In the order they will run: by fair tag, then as they came (see `fairTag`). */
  const waiting: { taskId: string; tag: number }[] = [];
  const fair = createFairTags();
  const running = new Map<string, { controller: AbortController; done: Promise<void> }>();
  let closed = false;

  function pump(): void {
    while (!closed && running.size < Math.max(1, options.concurrency) && waiting.length > 0) {
      const { taskId, tag } = waiting.shift() as { taskId: string; tag: number };
      fair.started(tag);
      if (running.has(taskId)) continue;
      const controller = new AbortController();
      const done = options
        .handler(taskId, controller.signal)
        .catch((error: unknown) => options.onError(taskId, error))
        .finally(() => {
          running.delete(taskId);
          pump();
        });
      running.set(taskId, { controller, done });
    }
  }

  return {
    async enqueue(taskId, userId) {
      if (closed) throw new Error("the task queue is closed");
      if (!waiting.some((task) => task.taskId === taskId) && !running.has(taskId)) {
        if (waiting.length === 0 && running.size === 0) fair.reset();
        const tag = fair.next(userId);
        // After the tasks of its tag and lower, before those of higher tags (later turns).
        let at = waiting.length;
        while (at > 0 && (waiting[at - 1] as { tag: number }).tag > tag) at--;
        waiting.splice(at, 0, { taskId, tag });
      }
      pump();
    },
    async cancel(taskId) {
      const index = waiting.findIndex((task) => task.taskId === taskId);
      if (index >= 0) waiting.splice(index, 1);
      const task = running.get(taskId);
      if (!task) return;
      task.controller.abort("cancelled" satisfies StopReason);
      await task.done;
    },
    async close() {
      closed = true;
      waiting.length = 0;
      for (const { controller } of running.values())
        controller.abort("stopping" satisfies StopReason);
      await Promise.all([...running.values()].map(({ done }) => done));
    },
  };
}

/**
 * Fair order between users (start-time fair queueing, one task a turn): a user's next task is
 * tagged with the later of the tag of the task started last and the end of the user's previous
 * task (its tag plus one), and tasks run by tag, ties as they came. Users with backlogs then
 * take turns, and a newcomer's first task goes before every task of a backlog not yet started:
 * it waits for at most the renders already running. The BullMQ queue keeps the same tags in
 * Redis, as job priorities.
 */
export function fairTag(lastStartedTag: number, usersPreviousTag: number | undefined): number {
  return Math.max(lastStartedTag, usersPreviousTag === undefined ? 0 : usersPreviousTag + 1);
}

function createFairTags() {
  let lastStarted = 0;
  const previousOfUser = new Map<string, number>();
  return {
    next(userId: string): number {
      const tag = fairTag(lastStarted, previousOfUser.get(userId));
      previousOfUser.set(userId, tag);
      return tag;
    },
    started(tag: number): void {
      lastStarted = Math.max(lastStarted, tag);
    },
    /** With nothing waiting or running, old tags mean nothing: start again from 0 (keeps the map small). */
    reset(): void {
      lastStarted = 0;
      previousOfUser.clear();
    },
  };
}
