/**
 * The task queue's contract, for the in-process queue and for BullMQ across two servers: a
 * cancel resolves only once the task has stopped, wherever it runs, so what the canceller
 * publishes next comes after the task's last event.
 */
import { once } from "node:events";
import { setTimeout as delay } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { createBullMqQueue } from "../../src/tasks/bullmq-queue.ts";
import { createInProcessQueue, type TaskHandler, type TaskQueue } from "../../src/tasks/queue.ts";
import { createTestServices, type TestServices } from "../support/services.ts";

/** What happened, in order, across every queue of one test. */
type Log = string[];

/**
 * Tasks that run until aborted and then take a while to stop, as a render flushing its last
 * progress does. `firstStart` resolves with the server that started one first.
 */
function slowToStop(log: Log) {
  let started = (_server: string) => {};
  const firstStart = new Promise<string>((resolve) => (started = resolve));
  const on =
    (server: string): TaskHandler =>
    async (taskId, signal) => {
      log.push(`${server} runs ${taskId}`);
      started(server);
      if (!signal.aborted) await once(signal, "abort");
      await delay(100);
      log.push(`${server} stopped ${taskId}`);
    };
  return { firstStart, on };
}

function failOnError(taskId: string, error: unknown): void {
  throw new Error(`task ${taskId} failed: ${String(error)}`);
}

describe("in-process queue", () => {
  function inProcess(log: Log) {
    const tasks = slowToStop(log);
    const queue = createInProcessQueue({
      concurrency: 1,
      handler: tasks.on("here"),
      onError: failOnError,
    });
    onTestFinished(() => queue.close());
    return { queue, firstStart: tasks.firstStart };
  }

  it("resolves a cancel only after the running task has stopped", async () => {
    const log: Log = [];
    const { queue, firstStart } = inProcess(log);
    await queue.enqueue("t1", "user");
    await firstStart;
    await queue.cancel("t1");
    log.push("cancel resolved");
    expect(log).toEqual(["here runs t1", "here stopped t1", "cancel resolved"]);
  });

  it("never runs a task cancelled while it waits", async () => {
    const log: Log = [];
    const { queue, firstStart } = inProcess(log);
    await queue.enqueue("first", "user");
    await queue.enqueue("second", "user");
    await firstStart;
    await queue.cancel("second");
    await queue.close();
    expect(log).toEqual(["here runs first", "here stopped first"]);
  });
});

describe("BullMQ queue on two servers", () => {
  let services: TestServices;
  beforeAll(async () => {
    services = await createTestServices();
  });
  afterAll(async () => {
    await services.remove();
  });

  let run = 0;
  /** Two queues sharing a Redis prefix of this test's own, so no test sees another's jobs. */
  async function twoServers(log: Log) {
    run++;
    const tasks = slowToStop(log);
    const queues = new Map<string, TaskQueue>();
    for (const server of ["a", "b"]) {
      queues.set(
        server,
        await createBullMqQueue({
          redisUrl: services.redisUrl,
          prefix: `${services.redisPrefix}bull-${run}`,
          concurrency: 1,
          handler: tasks.on(server),
          onError: failOnError,
        }),
      );
    }
    onTestFinished(async () => {
      await Promise.all([...queues.values()].map((q) => q.close()));
    });
    return { runner: tasks.firstStart, of: (server: string) => queues.get(server) as TaskQueue };
  }

  it("resolves a cancel sent from the other server only after the task has stopped there", async () => {
    const log: Log = [];
    const servers = await twoServers(log);
    await servers.of("a").enqueue("t1", "user");
    const runner = await servers.runner;
    const other = runner === "a" ? "b" : "a";
    await servers.of(other).cancel("t1");
    log.push(`cancel from ${other} resolved`);
    expect(log).toEqual([
      `${runner} runs t1`,
      `${runner} stopped t1`,
      `cancel from ${other} resolved`,
    ]);
  });

  it("resolves a cancel sent from the server running the task after it has stopped", async () => {
    const log: Log = [];
    const servers = await twoServers(log);
    await servers.of("a").enqueue("t2", "user");
    const runner = await servers.runner;
    await servers.of(runner).cancel("t2");
    log.push("cancel resolved");
    expect(log).toEqual([`${runner} runs t2`, `${runner} stopped t2`, "cancel resolved"]);
  });
});
