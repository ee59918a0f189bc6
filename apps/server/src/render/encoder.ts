/**
 * H.264 in MP4 with `h264-mp4-encoder` (minih264 + minimp4 compiled to WebAssembly), run in a
 * worker thread:
 * - the encoder spends ~20–50 ms on each 1280x720 frame in one synchronous call, too long to
 *   hold the event loop that serves the event streams; in a worker it runs beside it, on the
 *   other core, while the main thread paints the next frame;
 * - its Emscripten glue installs process-wide `uncaughtException` / `unhandledRejection`
 *   handlers that rethrow or abort; inside a worker they only touch the worker.
 *
 * The worker is `encoder-worker.js`, plain JavaScript, so it runs the same under tsx, Vitest or
 * the compiled server without a TypeScript loader in the worker.
 */
import { Worker } from "node:worker_threads";

export interface H264Options {
  width: number;
  height: number;
  frameRate: number;
  /** 10 (best) .. 51 (smallest). */
  quantizationParameter: number;
  /** 0 (best compression) .. 10 (fastest). */
  speed: number;
  /** Frames between key frames. */
  groupOfPictures: number;
}

/** Frames handed to the worker but not yet encoded: enough to keep both threads busy. */
const MAX_IN_FLIGHT = 2;

/** A real module file beside this one, in src/ as in dist/ (tsc copies it). */
const WORKER_FILE = new URL("./encoder-worker.js", import.meta.url);

type FromWorker =
  | { type: "ready" }
  | { type: "encoded"; buffer: ArrayBuffer }
  | { type: "done"; bytes: Uint8Array }
  | { type: "failed"; message: string };

export class H264Encoder {
  readonly frameBytes: number;
  private readonly worker: Worker;
  private readonly free: ArrayBuffer[] = [];
  private inFlight = 0;
  private failure: Error | undefined;
  private closed = false;
  private waiters: { resolve: () => void; reject: (error: Error) => void }[] = [];
  private ready: { resolve: () => void; reject: (error: Error) => void } | undefined;
  private done:
    | { resolve: (bytes: Uint8Array) => void; reject: (error: Error) => void }
    | undefined;

  private constructor(options: H264Options) {
    this.frameBytes = options.width * options.height * 4;
    this.worker = new Worker(WORKER_FILE, { workerData: { options } });
    this.worker.on("message", (message: FromWorker) => this.onMessage(message));
    this.worker.on("error", (error) => this.fail(error));
    this.worker.on("exit", (code) => {
      if (!this.closed) this.fail(new Error(`the H.264 encoder worker exited (code ${code})`));
    });
  }

  /** Starts a worker and waits until its encoder is ready for frames. */
  static async open(options: H264Options): Promise<H264Encoder> {
    const encoder = new H264Encoder(options);
    try {
      await new Promise<void>((resolve, reject) => {
        encoder.ready = { resolve, reject };
      });
    } catch (error) {
      encoder.close();
      throw error;
    }
    return encoder;
  }

  /** An RGBA buffer of one frame to paint into (recycled from encoded frames). */
  acquireFrame(): Uint8Array {
    const buffer = this.free.pop() ?? new ArrayBuffer(this.frameBytes);
    return new Uint8Array(buffer);
  }

  /** Hands a frame to the worker (the buffer moves there); waits while too many are queued. */
  async addFrame(frame: Uint8Array): Promise<void> {
    this.throwIfFailed();
    while (this.inFlight >= MAX_IN_FLIGHT) {
      await new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
      this.throwIfFailed();
    }
    if (frame.byteOffset !== 0 || frame.byteLength !== frame.buffer.byteLength) {
      throw new RangeError("frames must be whole buffers from acquireFrame()");
    }
    if (frame.byteLength !== this.frameBytes) throw new RangeError("frame has the wrong size");
    this.inFlight++;
    const buffer = frame.buffer as ArrayBuffer;
    this.worker.postMessage({ type: "frame", buffer }, [buffer]);
  }

  /** Flushes the encoder and returns the MP4 bytes as the muxer wrote them. */
  async finish(): Promise<Uint8Array> {
    this.throwIfFailed();
    const result = new Promise<Uint8Array>((resolve, reject) => {
      this.done = { resolve, reject };
    });
    this.worker.postMessage({ type: "finish" });
    const bytes = await result;
    this.close();
    return bytes;
  }

  /** Stops the worker at once (abort, or after finish). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    const error = new Error("the H.264 encoder was closed");
    for (const waiter of this.waiters.splice(0)) waiter.reject(error);
    this.ready?.reject(error);
    this.done?.reject(error);
    // Termination is asynchronous; nothing waits for it and its result carries no information.
    this.worker.terminate().then(
      () => undefined,
      (reason: unknown) => this.fail(reason instanceof Error ? reason : new Error(String(reason))),
    );
  }

  private onMessage(message: FromWorker): void {
    switch (message.type) {
      case "ready":
        this.ready?.resolve();
        this.ready = undefined;
        break;
      case "encoded": {
        this.inFlight--;
        this.free.push(message.buffer);
        this.waiters.shift()?.resolve();
        break;
      }
      case "done":
        this.done?.resolve(message.bytes);
        this.done = undefined;
        break;
      case "failed":
        this.fail(new Error(`H.264 encoder failed: ${message.message}`));
        break;
    }
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const waiter of this.waiters.splice(0)) waiter.reject(error);
    this.ready?.reject(error);
    this.ready = undefined;
    this.done?.reject(error);
    this.done = undefined;
  }

  private throwIfFailed(): void {
    if (this.failure) throw this.failure;
    if (this.closed) throw new Error("the H.264 encoder was closed");
  }
}
