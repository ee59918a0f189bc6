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
  const waiting: string[] = [];
  const running = new Map<string, { controller: AbortController; done: Promise<void> }>();
  let closed = false;

  function pump(): void {
    while (!closed && running.size < Math.max(1, options.concurrency) && waiting.length > 0) {
      const taskId = waiting.shift() as string;
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
    async enqueue(taskId, _userId) {
      if (closed) throw new Error("the task queue is closed");
      if (!waiting.includes(taskId) && !running.has(taskId)) waiting.push(taskId);
      pump();
    },
    async cancel(taskId) {
      const index = waiting.indexOf(taskId);
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
