/**
 * Clips: each frame is painted (the scene at time t: the camera pans with parallax and slowly
 * zooms, the sun drifts, clouds and waves move) or, from a start image, animated (a slow
 * Ken Burns zoom and pan over the picture with drifting motes of light), then handed to the
 * H.264 worker. Progress: preparing 0–3 %, frames 3–97 %, muxing 97–100 %.
 */
import { H264Encoder } from "./encoder.ts";
import { slicerFor } from "./image.ts";
import type { RenderJob } from "./job.ts";
import { Lighting } from "./lighting.ts";
import { finalizeMp4 } from "./mp4.ts";
import { Painter } from "./paint.ts";
import { type DecodedImage, decodePng } from "./png.ts";
import { hash1 } from "./rng.ts";
import { composeScene, type Scene, type StyleName } from "./scene.ts";

export interface VideoInput {
  prompt: string;
  style: StyleName | undefined;
  seed: number;
  width: number;
  height: number;
  frameRate: number;
  frameCount: number;
  startImage: Uint8Array | undefined;
}

/**
 * Quantization 10–51. Measured on 5 s of 1280x720 (sunset ocean / lit night city): 23 gave
 * 2.3 / 9.8 MB, 26 gave 1.7 / 3.6 MB (with sparser windows) and gradients still clean.
 */
const QUANTIZATION = 26;
/**
 * minih264 speed 0–10. Measured here on 120 distinct 1280x720 frames at quantization 23:
 * speed 10 took 3.0 s of CPU for 2.4 MB, speed 8 took 5.0 s for 2.3 MB; the saving is worth it.
 */
const ENCODER_SPEED = 10;

/** How long a clip takes at pace 1: tens of seconds for 5 s of 720p. */
export function realisticVideoMs(width: number, height: number, frameCount: number): number {
  return 3000 + (frameCount * 200 * width * height) / 1_000_000;
}

const FRAMES_START = 0.03;
const FRAMES_END = 0.97;

export async function renderVideo(input: VideoInput, job: RenderJob): Promise<Uint8Array> {
  const { width, height, frameRate, frameCount } = input;
  job.report(0, "composing", "Laying out the scene");
  const scene = composeScene(input);
  let animator: ImageAnimator | undefined;
  if (input.startImage) {
    await job.step(0.005, "composing", "Reading the start image");
    const image = await decodePng(input.startImage, {
      slicer: slicerFor(job),
      wrap: (work) => job.race(work),
    });
    animator = new ImageAnimator(image, scene, input.frameCount / frameRate);
  }

  await job.step(0.01, "composing", "Starting the H.264 encoder");
  const opening = H264Encoder.open({
    width,
    height,
    frameRate,
    quantizationParameter: QUANTIZATION,
    speed: ENCODER_SPEED,
    groupOfPictures: Math.max(1, frameRate * 2),
  });
  let encoder: H264Encoder;
  try {
    encoder = await job.race(opening);
  } catch (error) {
    // Aborted while the worker started: close it once it is up, so it does not linger. If the
    // start failed instead, `error` is that failure and is rethrown below; nothing is lost.
    opening.then(
      (late) => late.close(),
      () => undefined,
    );
    throw error;
  }

  try {
    const linear = animator ? undefined : new Float32Array(width * height * 3);
    const span = (FRAMES_END - FRAMES_START) / frameCount;
    for (let f = 0; f < frameCount; f++) {
      const base = FRAMES_START + f * span;
      const message = `Frame ${f + 1} of ${frameCount}`;
      await job.step(base, "rendering", message, true);
      const rgba = encoder.acquireFrame();
      const time = f / frameRate;
      const onRows = async (done: number) => {
        if (job.due()) await job.step(base + span * done, "rendering", message);
      };
      if (animator) await animator.frame(time, rgba, onRows);
      else if (linear) await paintFrame(scene, time, linear, rgba, onRows);
      await job.race(encoder.addFrame(rgba));
    }
    await job.step(FRAMES_END, "muxing", "Finishing the MP4");
    job.creepToward(0.995);
    const raw = await job.race(encoder.finish());
    const mp4 = finalizeMp4(raw);
    await job.finish();
    return mp4;
  } finally {
    encoder.close();
  }
}

/** Paints, lights and grades one frame of the scene into RGBA; `onRows` gets 0..1 along the way. */
export async function paintFrame(
  scene: Scene,
  time: number,
  linear: Float32Array,
  rgba: Uint8Array,
  onRows: (done: number) => Promise<void>,
): Promise<void> {
  const { height } = scene;
  const painter = new Painter(scene, { time });
  painter.prepareNow();
  await onRows(0.02);
  for (let y = 0; y < height; y++) {
    painter.paintRows(y, y + 1, linear);
    await onRows(0.02 + (0.78 * (y + 1)) / height);
  }
  // Grain stays put from frame to frame: crawling grain would cost the encoder most of its bits.
  const lighting = new Lighting(scene, { grainSeed: scene.seed, grainScale: 0.3, dither: false });
  for (let y = 0; y < height; y += 8) {
    lighting.gatherRows(linear, y, Math.min(height, y + 8));
    await onRows(0.8 + (0.05 * (y + 8)) / height);
  }
  lighting.finishBloom();
  for (let y = 0; y < height; y++) {
    lighting.gradeRows(linear, y, y + 1, rgba, 4);
    await onRows(0.85 + (0.15 * (y + 1)) / height);
  }
}

interface Mote {
  x: number;
  y: number;
  radius: number;
  speed: number;
  sway: number;
  phase: number;
  brightness: number;
}

/**
 * Image-to-video: the start image, scaled to cover the frame, with a slow zoom and a pan that
 * never leaves the picture, and motes of light fading in. Frame 0 is the image itself.
 */
export class ImageAnimator {
  private readonly image: DecodedImage;
  private readonly scene: Scene;
  private readonly duration: number;
  private readonly cover: number;
  private readonly panX: number;
  private readonly panY: number;
  private readonly motes: Mote[] = [];

  constructor(image: DecodedImage, scene: Scene, durationS: number) {
    this.image = image;
    this.scene = scene;
    this.duration = Math.max(durationS, 0.001);
    this.cover = Math.max(scene.width / image.width, scene.height / image.height);
    const seed = scene.seed;
    this.panX = hash1(1, seed) < 0.5 ? -1 : 1;
    this.panY = hash1(2, seed) < 0.5 ? -0.5 : 0.5;
    const count = 36;
    for (let i = 0; i < count; i++) {
      this.motes.push({
        x: hash1(10 + i, seed),
        y: hash1(100 + i, seed),
        radius: 0.0025 + 0.006 * hash1(200 + i, seed) ** 2,
        speed: 0.012 + 0.025 * hash1(300 + i, seed),
        sway: 0.004 + 0.01 * hash1(400 + i, seed),
        phase: hash1(500 + i, seed) * Math.PI * 2,
        brightness: 0.25 + 0.5 * hash1(600 + i, seed),
      });
    }
  }

  /** Writes the frame at `time` seconds into `rgba` (width * height * 4). */
  async frame(
    time: number,
    rgba: Uint8Array,
    onRows: (done: number) => Promise<void>,
  ): Promise<void> {
    const { width, height } = this.scene;
    const { image } = this;
    const progress = Math.min(1, time / this.duration);
    const ease = progress * progress * (3 - 2 * progress);
    // Zoom 1 → ~1.12 over the clip, a little faster for short clips so motion is visible.
    const zoom = 1 + (0.06 + 0.06 * Math.min(1, this.duration / 5)) * ease;
    const scale = this.cover * zoom;
    const viewW = width / scale;
    const viewH = height / scale;
    const slackX = Math.max(0, image.width - viewW) / 2;
    const slackY = Math.max(0, image.height - viewH) / 2;
    const centerX = image.width / 2 + this.panX * slackX * 0.8 * ease;
    const centerY = image.height / 2 + this.panY * slackY * 0.8 * ease;
    const data = image.data;
    const iw = image.width;
    const ih = image.height;
    for (let py = 0; py < height; py++) {
      const sy = (py + 0.5 - height / 2) / scale + centerY - 0.5;
      const y0 = Math.min(ih - 1, Math.max(0, Math.floor(sy)));
      const y1 = Math.min(ih - 1, y0 + 1);
      const ty = Math.min(1, Math.max(0, sy - y0));
      let o = py * width * 4;
      for (let px = 0; px < width; px++) {
        const sx = (px + 0.5 - width / 2) / scale + centerX - 0.5;
        const x0 = Math.min(iw - 1, Math.max(0, Math.floor(sx)));
        const x1 = Math.min(iw - 1, x0 + 1);
        const tx = Math.min(1, Math.max(0, sx - x0));
        const a = (y0 * iw + x0) * 4;
        const b = (y0 * iw + x1) * 4;
        const c = (y1 * iw + x0) * 4;
        const d = (y1 * iw + x1) * 4;
        for (let ch = 0; ch < 3; ch++) {
          const top = (data[a + ch] ?? 0) + ((data[b + ch] ?? 0) - (data[a + ch] ?? 0)) * tx;
          const bottom = (data[c + ch] ?? 0) + ((data[d + ch] ?? 0) - (data[c + ch] ?? 0)) * tx;
          rgba[o + ch] = Math.round(top + (bottom - top) * ty);
        }
        rgba[o + 3] = 255;
        o += 4;
      }
      await onRows((0.9 * (py + 1)) / height);
    }
    this.drawMotes(time, rgba);
    await onRows(1);
  }

  private drawMotes(time: number, rgba: Uint8Array): void {
    const { width, height, light } = this.scene;
    // Motes fade in over the first second, so the first frame is the start image untouched.
    const fadeIn = Math.min(1, time / 1);
    if (fadeIn <= 0) return;
    const [gr, gg, gb] = light.glow;
    for (const mote of this.motes) {
      const y = (((mote.y - mote.speed * time) % 1) + 1) % 1;
      const x = mote.x + Math.sin(time * 0.9 + mote.phase) * mote.sway;
      const cx = x * width;
      const cy = y * height;
      const r = Math.max(1.2, mote.radius * height);
      const twinkle = 0.7 + 0.3 * Math.sin(time * 2.3 + mote.phase * 3);
      const strength = mote.brightness * twinkle * fadeIn * 255;
      const xMin = Math.max(0, Math.floor(cx - r * 2));
      const xMax = Math.min(width - 1, Math.ceil(cx + r * 2));
      const yMin = Math.max(0, Math.floor(cy - r * 2));
      const yMax = Math.min(height - 1, Math.ceil(cy + r * 2));
      for (let py = yMin; py <= yMax; py++) {
        for (let px = xMin; px <= xMax; px++) {
          const dx = (px + 0.5 - cx) / r;
          const dy = (py + 0.5 - cy) / r;
          const q = 1 + dx * dx + dy * dy;
          const k = (strength / (q * q)) * (dx * dx + dy * dy < 4 ? 1 : 0);
          if (k < 0.5) continue;
          const o = (py * width + px) * 4;
          rgba[o] = Math.min(255, (rgba[o] ?? 0) + k * (0.5 + 0.5 * gr));
          rgba[o + 1] = Math.min(255, (rgba[o + 1] ?? 0) + k * (0.5 + 0.5 * gg));
          rgba[o + 2] = Math.min(255, (rgba[o + 2] ?? 0) + k * (0.5 + 0.5 * gb));
        }
      }
    }
  }
}
