/**
 * Still images: compose the scene, paint it row by row, light and grade it, encode a PNG.
 * Progress: composing 0–6 %, painting 6–76 %, lighting 76–92 %, encoding 92–100 %.
 */
import type { RenderJob } from "./job.ts";
import { Lighting } from "./lighting.ts";
import { Painter, type Slicer } from "./paint.ts";
import { encodePng } from "./png.ts";
import { composeScene, type StyleName } from "./scene.ts";

export interface ImageInput {
  prompt: string;
  style: StyleName | undefined;
  seed: number;
  width: number;
  height: number;
}

/** How long an image takes at pace 1: a few seconds, more for more pixels. */
export function realisticImageMs(width: number, height: number): number {
  return 2500 + (2000 * width * height) / 1_000_000;
}

export async function renderImage(input: ImageInput, job: RenderJob): Promise<Uint8Array> {
  const { width, height } = input;
  job.report(0, "composing", "Reading the prompt and laying out the scene");
  const scene = composeScene(input);
  const painter = new Painter(scene, { time: 0 });
  await painter.prepare(slicerFor(job));
  await job.step(0.06, "painting", `Painting ${width}x${height}`);

  const linear = new Float32Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    painter.paintRows(y, y + 1, linear);
    if (job.due())
      await job.step(
        0.06 + (0.7 * (y + 1)) / height,
        "painting",
        `Painting row ${y + 1} of ${height}`,
      );
  }

  await job.step(0.76, "lighting", "Adding light, colour and grain");
  const lighting = new Lighting(scene, {
    grainSeed: scene.seed ^ 0x1b873593,
    grainScale: 1,
    dither: true,
  });
  for (let y = 0; y < height; y++) {
    lighting.gatherRows(linear, y, y + 1);
    if (job.due()) await job.step(0.76 + (0.05 * (y + 1)) / height, "lighting");
  }
  lighting.finishBloom();
  const rgb = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    lighting.gradeRows(linear, y, y + 1, rgb, 3);
    if (job.due()) await job.step(0.81 + (0.11 * (y + 1)) / height, "lighting");
  }

  await job.step(0.92, "encoding", "Encoding PNG");
  job.creepToward(0.995);
  const png = await encodePng(rgb, width, height, 3, {
    slicer: slicerFor(job),
    wrap: (work) => job.race(work),
  });
  await job.finish();
  return png;
}

export function slicerFor(job: RenderJob): Slicer {
  return { due: () => job.due(), yield: () => job.yield() };
}
