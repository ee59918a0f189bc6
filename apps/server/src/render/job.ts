/**
 * One render's bookkeeping: progress that never goes down and is reported at least every
 * HEARTBEAT_MS, pacing to a realistic duration, time slicing so the event loop stays free,
 * and prompt abort.
 */
import { setImmediate as nextTurn } from "node:timers/promises";

/** How long a stretch of rendering may hold the event loop before yielding. */
export const SLICE_MS = 8;
/** If nothing was reported for this long, the last progress is reported again. */
const HEARTBEAT_MS = 400;
/** Reports inside a stage are spaced at least this much (stage changes always go out). */
const REPORT_SPACING_MS = 50;

export interface ProgressUpdate {
  progress: number;
  stage: string;
  message?: string;
  etaMs?: number;
}

/** Rejection of an aborted render: an Error whose name is "AbortError", like fetch's. */
export class RenderAbortError extends Error {
  override readonly name = "AbortError";

  constructor(reason?: unknown) {
    super("The render was aborted", reason === undefined ? undefined : { cause: reason });
  }
}

export interface JobOptions {
  signal?: AbortSignal | undefined;
  onProgress?: ((update: ProgressUpdate) => void) | undefined;
  /** 1 = realistic, 0 = as fast as possible. */
  pace: number;
  /** How long the whole render should take at pace 1. */
  realisticMs: number;
}

export class RenderJob {
  private readonly signal: AbortSignal | undefined;
  private readonly onProgress: ((update: ProgressUpdate) => void) | undefined;
  private readonly targetMs: number;
  private readonly started = performance.now();
  private sliceStart = performance.now();
  private progress = 0;
  private stage = "queued";
  private message: string | undefined;
  private lastReportAt = 0;
  private creepCeiling = 0;
  private heartbeat: ReturnType<typeof setInterval> | undefined;
  /** An error thrown by onProgress from the heartbeat, rethrown at the next check. */
  private callbackFailure: { error: unknown } | undefined;

  constructor(options: JobOptions) {
    this.signal = options.signal;
    this.onProgress = options.onProgress;
    this.targetMs = Math.max(0, options.pace) * options.realisticMs;
    if (this.onProgress) {
      this.heartbeat = setInterval(() => this.beat(), HEARTBEAT_MS / 2);
      // A render in progress should not on its own keep a process alive that wants to exit.
      this.heartbeat.unref();
    }
  }

  /** Throws if the render was aborted (or a progress callback failed). */
  check(): void {
    if (this.callbackFailure) throw this.callbackFailure.error;
    if (this.signal?.aborted) throw new RenderAbortError(this.signal.reason);
  }

  /** True when the current slice has held the event loop long enough. */
  due(): boolean {
    return performance.now() - this.sliceStart >= SLICE_MS;
  }

  /** Hands the event loop back, then waits if the render is ahead of its realistic pace. */
  async yield(): Promise<void> {
    this.check();
    await nextTurn();
    this.check();
    const ahead = this.progress * this.targetMs - (performance.now() - this.started);
    if (ahead > 1) await this.sleep(ahead);
    this.sliceStart = performance.now();
  }

  /**
   * Reports progress (clamped so it never goes down) and, when a slice is due, yields.
   * A milestone (a new video frame, say) is always reported; other steps are spaced out.
   */
  async step(progress: number, stage: string, message?: string, milestone = false): Promise<void> {
    this.report(progress, stage, message, milestone);
    if (this.due()) await this.yield();
  }

  report(progress: number, stage: string, message?: string, milestone = false): void {
    this.check();
    const value = Math.min(1, Math.max(this.progress, progress));
    const stageChanged = stage !== this.stage;
    this.progress = value;
    this.stage = stage;
    this.message = message;
    const now = performance.now();
    if (milestone || stageChanged || value >= 1 || now - this.lastReportAt >= REPORT_SPACING_MS)
      this.emit(now);
  }

  /**
   * While a long, indivisible step runs (compression, muxing), heartbeats move progress a
   * little toward `ceiling` so the bar keeps moving; it never reaches it on its own.
   */
  creepToward(ceiling: number): void {
    this.creepCeiling = Math.min(1, ceiling);
  }

  /** Waits for `promise`, but rejects with RenderAbortError as soon as the signal fires. */
  async race<T>(promise: Promise<T>): Promise<T> {
    this.check();
    const signal = this.signal;
    if (!signal) return promise;
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => reject(new RenderAbortError(signal.reason));
      signal.addEventListener("abort", onAbort, { once: true });
    });
    try {
      return await Promise.race([promise, aborted]);
    } finally {
      if (onAbort) signal.removeEventListener("abort", onAbort);
    }
  }

  /** Sleeps, waking at once (with RenderAbortError) if the signal fires. */
  sleep(ms: number): Promise<void> {
    this.check();
    const signal = this.signal;
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        clearTimeout(timer);
        reject(new RenderAbortError(signal?.reason));
      };
      const timer = setTimeout(() => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      }, ms);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  /** Waits out whatever pacing remains, then reports completion. */
  async finish(stage = "done"): Promise<void> {
    const remaining = this.targetMs - (performance.now() - this.started);
    if (remaining > 1) await this.sleep(remaining);
    this.report(1, stage);
    this.dispose();
  }

  dispose(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = undefined;
  }

  elapsedMs(): number {
    return performance.now() - this.started;
  }

  private beat(): void {
    const now = performance.now();
    if (now - this.lastReportAt < HEARTBEAT_MS || this.progress >= 1) return;
    if (this.creepCeiling > this.progress) {
      this.progress += (this.creepCeiling - this.progress) * 0.08;
    }
    try {
      this.emit(now);
    } catch (error) {
      // Thrown out of a timer it would crash the process; the render rejects with it instead.
      this.callbackFailure = { error };
    }
  }

  private emit(now: number): void {
    this.lastReportAt = now;
    if (!this.onProgress) return;
    const update: ProgressUpdate = { progress: this.progress, stage: this.stage };
    if (this.message !== undefined) update.message = this.message;
    const eta = this.etaMs(now);
    if (eta !== undefined) update.etaMs = eta;
    this.onProgress(update);
  }

  private etaMs(now: number): number | undefined {
    const elapsed = now - this.started;
    if (this.progress >= 1) return 0;
    const paced = this.targetMs - elapsed;
    const measured =
      this.progress > 0.03 ? (elapsed * (1 - this.progress)) / this.progress : undefined;
    if (measured === undefined) return paced > 0 ? Math.round(paced) : undefined;
    return Math.round(Math.max(measured, paced));
  }
}
