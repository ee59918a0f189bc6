/**
 * The H.264 encoder's worker thread (see encoder.ts for why it runs in one). Plain JavaScript, so
 * the same file runs from the sources (tests, `npm run dev`) and from dist/ (`npm start`: tsc
 * copies it there), with no TypeScript loader in the worker.
 *
 * Messages in: `{type: "frame", buffer}` (an RGBA frame, handed back once encoded) and
 * `{type: "finish"}`. Out: `ready`, `encoded`, `done` (the MP4 bytes) and `failed`.
 */
import { parentPort, workerData } from "node:worker_threads";
import h264 from "h264-mp4-encoder";

const port = /** @type {import("node:worker_threads").MessagePort} */ (parentPort);
const options = workerData.options;
let encoder;
let failed = false;

function fail(error) {
  failed = true;
  port.postMessage({ type: "failed", message: String(error?.stack || error) });
}

h264.createH264MP4Encoder().then((created) => {
  try {
    encoder = created;
    encoder.outputFilename = "clip.mp4";
    encoder.width = options.width;
    encoder.height = options.height;
    encoder.frameRate = options.frameRate;
    encoder.quantizationParameter = options.quantizationParameter;
    encoder.speed = options.speed;
    encoder.groupOfPictures = options.groupOfPictures;
    encoder.initialize();
    port.postMessage({ type: "ready" });
  } catch (error) {
    fail(error);
  }
}, fail);

port.on("message", (message) => {
  if (failed) return;
  try {
    if (message.type === "frame") {
      encoder.addFrameRgba(new Uint8Array(message.buffer));
      port.postMessage({ type: "encoded", buffer: message.buffer }, [message.buffer]);
    } else if (message.type === "finish") {
      encoder.finalize();
      const bytes = encoder.FS.readFile(encoder.outputFilename);
      encoder.FS.unlink(encoder.outputFilename);
      encoder.delete();
      encoder = undefined;
      port.postMessage({ type: "done", bytes }, [bytes.buffer]);
    }
  } catch (error) {
    fail(error);
  }
});
