/**
 * The distributed task queue: BullMQ on the same Redis as the events. Chosen over pg-boss
 * because Herald already needs Redis to scale out and BullMQ's locks give what a 202 promises:
 * a task accepted by any server runs on one worker at a time, and when the server running it
 * dies its lock lapses and another server takes it up (within LOCK_MS + STALLED_CHECK_MS).
 * Cancels reach whichever server runs the task over a Redis pub/sub channel, and that server
 * answers on another once the task has stopped, so the canceller's events come after its last.
 */
import { Queue, Worker } from "bullmq";
import { Redis } from "ioredis";
import type { StopReason } from "./lifecycle.ts";
import type { TaskHandler, TaskQueue } from "./queue.ts";

const QUEUE_NAME = "herald-tasks";
/** A worker that stops renewing its lock for this long is taken for dead. */
const LOCK_MS = 10_000;
const STALLED_CHECK_MS = 5_000;
/**
 * How long a cancel waits for the server running the task to say it has stopped. A live server
 * stops a render within a second; one that does not answer is dead and publishes nothing more.
 */
const STOP_ANSWER_MS = 5_000;

/** BullMQ's highest priority number (the lowest priority); 0 would mean "before all of them". */
const MAX_PRIORITY = 2 ** 21;

/**
 * `fairTag` (queue.ts) over Redis, atomic across servers. KEYS: the tag started last, the
 * previous tag of each user, BullMQ's prioritized and active sets; ARGV: the user. With
 * nothing waiting or running, the tags start again from 0.
 */
const NEXT_TAG = `
if redis.call('ZCARD', KEYS[3]) == 0 and redis.call('LLEN', KEYS[4]) == 0 then
  redis.call('DEL', KEYS[1], KEYS[2])
end
local started = tonumber(redis.call('GET', KEYS[1]) or '0')
local previous = redis.call('HGET', KEYS[2], ARGV[1])
local tag = started
if previous then tag = math.max(started, tonumber(previous) + 1) end
redis.call('HSET', KEYS[2], ARGV[1], tag)
return tag
`;
/** KEYS: the tag started last; ARGV: the tag of the task starting. */
const STARTED_TAG = `
if tonumber(ARGV[1]) > tonumber(redis.call('GET', KEYS[1]) or '0') then
  redis.call('SET', KEYS[1], ARGV[1])
end
`;

/** Thrown by the processor when this server stops mid-task, so BullMQ hands the job on. */
class HandedOver extends Error {
  override readonly name = "HandedOver";
}

export async function createBullMqQueue(options: {
  redisUrl: string;
  concurrency: number;
  handler: TaskHandler;
  onError: (taskId: string, error: unknown) => void;
  /** Key prefix, so tests and deployments can share a Redis. */
  prefix?: string;
}): Promise<TaskQueue> {
  const prefix = options.prefix ?? "herald-bull";
  // BullMQ's blocking commands need connections that never give up on a request.
  const connect = () => new Redis(options.redisUrl, { maxRetriesPerRequest: null });
  const queueConnection = connect();
  const workerConnection = connect();
  const cancelPublisher = connect();
  const cancelSubscriber = connect();
  const cancelChannel = `${prefix}:cancel`;
  const fairKeys = [`${prefix}:fair:started`, `${prefix}:fair:previous`];
  const queueKey = `${prefix}:${QUEUE_NAME}`;
  const stoppedChannel = `${prefix}:stopped`;
  const running = new Map<string, { controller: AbortController; done: Promise<void> }>();
  /** Cancels waiting for the server running their task to answer that it has stopped. */
  const awaitingStop = new Map<string, Set<() => void>>();
  let stopping = false;

  const queue = new Queue(QUEUE_NAME, { connection: queueConnection, prefix });
  const worker = new Worker(
    QUEUE_NAME,
    async (job) => {
      const taskId = String((job.data as { taskId: string }).taskId);
      const tag = (job.opts.priority ?? 1) - 1;
      await queueConnection.eval(STARTED_TAG, 1, fairKeys[0] as string, tag);
      const controller = new AbortController();
      const done = options.handler(taskId, controller.signal);
      running.set(taskId, {
        controller,
        done: done.then(
          () => undefined,
          () => undefined,
        ),
      });
      try {
        await done;
      } finally {
        running.delete(taskId);
      }
      if (stopping && controller.signal.reason === ("stopping" satisfies StopReason)) {
        throw new HandedOver(`task ${taskId} is handed to another server: this one is stopping`);
      }
    },
    {
      connection: workerConnection,
      prefix,
      concurrency: Math.max(1, options.concurrency),
      lockDuration: LOCK_MS,
      stalledInterval: STALLED_CHECK_MS,
      // A crash mid-render is what stalls a job here; each one deserves another try.
      maxStalledCount: 100,
    },
  );
  worker.on("failed", (job, error) => {
    if (!(error instanceof HandedOver) && job) options.onError(String(job.id), error);
  });
  worker.on("error", (error) => options.onError("(worker)", error));

  await cancelSubscriber.subscribe(cancelChannel, stoppedChannel);
  cancelSubscriber.on("message", (channel: string, taskId: string) => {
    if (channel === stoppedChannel) {
      for (const answer of awaitingStop.get(taskId) ?? []) answer();
      return;
    }
    const task = running.get(taskId);
    if (!task) return;
    task.controller.abort("cancelled" satisfies StopReason);
    task.done
      .then(() => cancelPublisher.publish(stoppedChannel, taskId))
      .catch((error: unknown) => options.onError(taskId, error));
  });

  /** Resolves when a server says `taskId` has stopped, or after STOP_ANSWER_MS. */
  function stopAnswer(taskId: string): { promise: Promise<void>; forget(): void } {
    let answer = () => {};
    let timer: NodeJS.Timeout | undefined;
    const promise = new Promise<void>((resolve) => {
      answer = resolve;
      timer = setTimeout(resolve, STOP_ANSWER_MS);
    });
    const waiting = awaitingStop.get(taskId) ?? new Set();
    waiting.add(answer);
    awaitingStop.set(taskId, waiting);
    return {
      promise,
      forget() {
        clearTimeout(timer);
        waiting.delete(answer);
        if (waiting.size === 0) awaitingStop.delete(taskId);
      },
    };
  }

  return {
    async enqueue(taskId, userId) {
      const tag = Number(
        await queueConnection.eval(
          NEXT_TAG,
          4,
          ...fairKeys,
          `${queueKey}:prioritized`,
          `${queueKey}:active`,
          userId,
        ),
      );
      // The job id is the task id: a task queued twice (a restart, two servers) is one job.
      await queue.add(
        "render",
        { taskId },
        {
          jobId: taskId,
          // Runs by priority, lowest first; ties in the order they came (fairTag, queue.ts).
          priority: Math.min(tag + 1, MAX_PRIORITY),
          attempts: 100,
          backoff: { type: "fixed", delay: 0 },
          removeOnComplete: true,
          removeOnFail: true,
        },
      );
    },
    async cancel(taskId) {
      const job = await queue.getJob(taskId);
      if (job && (await job.isWaiting()))
        await job.remove().catch((error: unknown) => options.onError(taskId, error));
      // Wait for it to stop, here or on another server, so the caller's events come after its
      // last. Listening starts before the cancel is sent, so the answer cannot be missed.
      const local = running.get(taskId);
      const stopped = !local && job && (await job.isActive()) ? stopAnswer(taskId) : undefined;
      try {
        await cancelPublisher.publish(cancelChannel, taskId);
        if (local) {
          local.controller.abort("cancelled" satisfies StopReason);
          await local.done;
        }
        await stopped?.promise;
      } finally {
        stopped?.forget();
      }
    },
    async close() {
      stopping = true;
      for (const { controller } of running.values())
        controller.abort("stopping" satisfies StopReason);
      await worker.close();
      await queue.close();
      await Promise.all(
        [queueConnection, workerConnection, cancelPublisher, cancelSubscriber].map((c) => c.quit()),
      );
    },
  };
}
