/**
 * The renderer: deterministic procedural pictures (PNG) and clips (H.264 MP4) driven by a
 * prompt, a style and a seed, rendered in stages with real progress, abortable, and paced to
 * take realistic time unless `pace` says otherwise.
 *
 * Same request, same bytes: nothing here reads the clock or Math.random for content.
 */
import { realisticImageMs, renderImage } from "./image.ts";
import { RenderJob } from "./job.ts";
import { STYLE_NAMES, type StyleName } from "./scene.ts";
import { realisticVideoMs, renderVideo } from "./video.ts";

export { RenderAbortError } from "./job.ts";

export interface RenderRequest {
  kind: "image" | "video";
  prompt: string;
  style?: string;
  width: number;
  height: number;
  seed: number;
  /** Video only: 1–10 s (default 5). */
  durationS?: number;
  /** Video only: 8–30 frames a second (default 24). */
  frameRate?: number;
  /** Video only: a PNG the clip starts from (image-to-video). */
  startImage?: Uint8Array;
}

export interface RenderProgress {
  /** 0..1, never going down within one render. */
  progress: number;
  stage: string;
  message?: string;
  etaMs?: number;
}

export interface RenderOutput {
  bytes: Uint8Array;
  contentType: "image/png" | "video/mp4" | "video/webm";
  extension: "png" | "mp4" | "webm";
  width: number;
  height: number;
  durationMs?: number;
  frameCount?: number;
}

export interface RenderOptions {
  signal?: AbortSignal;
  onProgress?: (p: RenderProgress) => void;
  /** 1 (default) = realistic duration, 0 = as fast as possible, 2 = twice as slow. */
  pace?: number;
}

const STYLE_LABELS: Record<StyleName, string> = {
  cinematic: "Cinematic",
  watercolor: "Watercolor",
  neon: "Neon",
  pastel: "Pastel",
  noir: "Noir",
  vivid: "Vivid",
};

export const STYLES: readonly { name: string; label: string }[] = STYLE_NAMES.map((name) => ({
  name,
  label: STYLE_LABELS[name],
}));

export const LIMITS = {
  minSide: 16,
  maxSide: 4096,
  maxPixels: 4096 * 2304,
  durationS: { min: 1, max: 10, default: 5 },
  frameRate: { min: 8, max: 30, default: 24 },
} as const;

export async function render(
  request: RenderRequest,
  options: RenderOptions = {},
): Promise<RenderOutput> {
  const checked = validate(request);
  const pace = options.pace ?? 1;
  if (!Number.isFinite(pace) || pace < 0)
    throw new RangeError(`pace must be a number >= 0, got ${pace}`);
  const { width, height } = checked;

  if (checked.kind === "image") {
    const job = new RenderJob({
      signal: options.signal,
      onProgress: options.onProgress,
      pace,
      realisticMs: realisticImageMs(width, height),
    });
    try {
      job.check();
      const bytes = await renderImage(checked, job);
      return { bytes, contentType: "image/png", extension: "png", width, height };
    } finally {
      job.dispose();
    }
  }

  const frameCount = Math.max(1, Math.round(checked.durationS * checked.frameRate));
  const job = new RenderJob({
    signal: options.signal,
    onProgress: options.onProgress,
    pace,
    realisticMs: realisticVideoMs(width, height, frameCount),
  });
  try {
    job.check();
    const bytes = await renderVideo({ ...checked, frameCount }, job);
    return {
      bytes,
      contentType: "video/mp4",
      extension: "mp4",
      width,
      height,
      durationMs: Math.round((frameCount * 1000) / checked.frameRate),
      frameCount,
    };
  } finally {
    job.dispose();
  }
}

interface CheckedRequest {
  kind: "image" | "video";
  prompt: string;
  style: StyleName | undefined;
  width: number;
  height: number;
  seed: number;
  durationS: number;
  frameRate: number;
  startImage: Uint8Array | undefined;
}

function validate(request: RenderRequest): CheckedRequest {
  const { kind, width, height } = request;
  if (kind !== "image" && kind !== "video")
    throw new RangeError(`unknown render kind ${String(kind)}`);
  if (typeof request.prompt !== "string") throw new TypeError("prompt must be a string");
  for (const [name, value] of [
    ["width", width],
    ["height", height],
  ] as const) {
    if (!Number.isInteger(value) || value < LIMITS.minSide || value > LIMITS.maxSide) {
      throw new RangeError(
        `${name} must be an integer from ${LIMITS.minSide} to ${LIMITS.maxSide}, got ${value}`,
      );
    }
  }
  if (width * height > LIMITS.maxPixels)
    throw new RangeError(`${width}x${height} has too many pixels`);
  // H.264 in 4:2:0 needs even sides; better to refuse than to return a size nobody asked for.
  if (kind === "video" && (width % 2 !== 0 || height % 2 !== 0)) {
    throw new RangeError(`video width and height must be even, got ${width}x${height}`);
  }
  if (!Number.isFinite(request.seed))
    throw new RangeError(`seed must be a finite number, got ${request.seed}`);
  let style: StyleName | undefined;
  if (request.style !== undefined && request.style !== "") {
    const found = STYLE_NAMES.find((name) => name === request.style);
    if (!found)
      throw new RangeError(`unknown style ${request.style}; known: ${STYLE_NAMES.join(", ")}`);
    style = found;
  }
  const durationS = request.durationS ?? LIMITS.durationS.default;
  const frameRate = request.frameRate ?? LIMITS.frameRate.default;
  if (kind === "video") {
    if (
      !Number.isFinite(durationS) ||
      durationS < LIMITS.durationS.min ||
      durationS > LIMITS.durationS.max
    ) {
      throw new RangeError(
        `durationS must be ${LIMITS.durationS.min} to ${LIMITS.durationS.max}, got ${durationS}`,
      );
    }
    if (
      !Number.isInteger(frameRate) ||
      frameRate < LIMITS.frameRate.min ||
      frameRate > LIMITS.frameRate.max
    ) {
      throw new RangeError(
        `frameRate must be an integer ${LIMITS.frameRate.min} to ${LIMITS.frameRate.max}, got ${frameRate}`,
      );
    }
  }
  return {
    kind,
    prompt: request.prompt,
    style,
    width,
    height,
    // Seeds are taken as unsigned 32-bit integers; fractions are dropped.
    seed: Math.trunc(request.seed) >>> 0,
    durationS,
    frameRate,
    startImage: kind === "video" ? request.startImage : undefined,
  };
}
