/**
 * Runs one generation task to its end: in_progress, the render with its progress, the stored
 * output, completed (or error). Each state change is stored before its event is published.
 * A task started again after a crash runs from the start; its output overwrites the same key.
 */
import type { Database, FileRecord, TaskRecord } from "../db/types.ts";
import type { GenerationEvents } from "../events.ts";
import type { RenderOptions, RenderOutput, RenderRequest } from "../render/index.ts";
import type { FileStorage } from "../storage.ts";
import type { TaskLifecycle } from "./lifecycle.ts";
import type { TaskHandler } from "./queue.ts";

/** Progress is stored and published at most this often (and always at the end). */
const PROGRESS_INTERVAL_MS = 200;

export interface RunnerDependencies {
  db: Database;
  storage: FileStorage;
  events: GenerationEvents;
  lifecycle: TaskLifecycle;
  render: (request: RenderRequest, options: RenderOptions) => Promise<RenderOutput>;
  renderPace: number;
}

export function createTaskRunner(deps: RunnerDependencies): TaskHandler {
  const { db, storage, lifecycle } = deps;

  return async (taskId, signal) => {
    const started = await lifecycle.start(taskId);
    if (!started) return; // cancelled or ended before a worker got to it
    const { task, file } = started;

    let output: RenderOutput;
    const progress = progressReporter(task, file.progress, deps, signal);
    try {
      output = await deps.render(await renderRequestOf(file, db, storage), {
        signal,
        pace: deps.renderPace,
        onProgress: progress.report,
      });
      await progress.flush();
    } catch (error) {
      await progress.flush();
      if (signal.aborted) return; // cancelled (the lifecycle stored and told it) or shutting down (taken up at restart)
      const message = error instanceof Error ? error.message : String(error);
      await lifecycle.fail(taskId, `Render failed: ${message}`);
      return;
    }

    const key = `${file.id}.${output.extension}`;
    await storage.put(key, output.bytes);
    const completed = await lifecycle.complete(taskId, {
      url: `/files/${key}`,
      contentType: output.contentType,
      storageKey: key,
      sizeBytes: output.bytes.byteLength,
      durationMs: output.durationMs,
    });
    // Cancelled while the output was being stored: the bytes belong to no file.
    if (!completed) await storage.delete(key);
  };
}

/** Stores and publishes progress, at most every PROGRESS_INTERVAL_MS and never going down. */
function progressReporter(
  task: TaskRecord,
  startAt: number,
  deps: RunnerDependencies,
  signal: AbortSignal,
) {
  let highest = startAt;
  let lastSentAt = 0;
  let latest: Parameters<NonNullable<RenderOptions["onProgress"]>>[0] | undefined;
  let chain: Promise<void> = Promise.resolve();

  function send(): void {
    // Once stopped, the task's last word is its cancel (or, after a restart, its new run).
    if (!latest || signal.aborted) return;
    const value = { ...latest, progress: Math.max(highest, latest.progress) };
    highest = value.progress;
    latest = undefined;
    lastSentAt = Date.now();
    chain = chain.then(async () => {
      await deps.db.setProgress(task.fileId, value.progress);
      if (!signal.aborted) await deps.events.progress(task, value);
    });
  }

  return {
    report(update: NonNullable<typeof latest>) {
      // A render taken up again restarts below what was shown before the stop; it is still
      // reported (at the stored height) so watchers hear from it at least once a second.
      latest = update;
      if (Date.now() - lastSentAt >= PROGRESS_INTERVAL_MS || update.progress >= 1) send();
    },
    async flush() {
      send();
      await chain;
    },
  };
}

async function renderRequestOf(
  file: FileRecord,
  db: Database,
  storage: FileStorage,
): Promise<RenderRequest> {
  const { settings } = file;
  const request: RenderRequest = {
    kind: file.type,
    prompt: file.prompt,
    width: settings.width,
    height: settings.height,
    seed: settings.seed,
    ...(settings.style === undefined ? {} : { style: settings.style }),
    ...(settings.durationS === undefined ? {} : { durationS: settings.durationS }),
    ...(settings.frameRate === undefined ? {} : { frameRate: settings.frameRate }),
  };
  if (settings.imageFileId) {
    const image = await db.getFile(settings.imageFileId);
    const stored = image?.storageKey ? await storage.get(image.storageKey) : undefined;
    if (!stored)
      throw new Error("the start image is gone: it was deleted after the video was asked for");
    const chunks: Buffer[] = [];
    for await (const chunk of stored.open()) chunks.push(chunk as Buffer);
    request.startImage = Buffer.concat(chunks);
  }
  return request;
}
