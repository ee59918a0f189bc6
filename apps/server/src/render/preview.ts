/**
 * Writes sample renders to a folder, to look at what the renderer makes:
 *
 *   npx tsx --conditions=@herald/source apps/server/src/render/preview.ts OUT_DIR [--video] [--size WxH] [--pace N]
 *
 * Images for a spread of prompts and every style; with --video also a text-to-video clip and an
 * image-to-video clip started from one of the images.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type RenderRequest, render, STYLES } from "./index.ts";

const PROMPTS = [
  "sunset over the ocean",
  "snowy mountain range at dawn",
  "a city skyline at night",
  "misty pine forest in the morning",
  "desert dunes under a golden evening sky",
  "abstract dream of floating shapes",
  "a lonely planet in deep space",
  "a quiet lake between mountains",
];

function parseArgs(argv: string[]) {
  const out = argv.find((arg, i) => !arg.startsWith("--") && !argv[i - 1]?.startsWith("--"));
  if (!out) throw new Error("usage: preview.ts OUT_DIR [--video] [--size WxH] [--pace N]");
  const sizeAt = argv.indexOf("--size");
  const [width, height] = (sizeAt >= 0 ? (argv[sizeAt + 1] ?? "") : "768x512")
    .split("x")
    .map(Number);
  const paceAt = argv.indexOf("--pace");
  const pace = paceAt >= 0 ? Number(argv[paceAt + 1]) : 0;
  if (!width || !height) throw new Error("--size must be WIDTHxHEIGHT");
  return { out, video: argv.includes("--video"), width, height, pace };
}

function slug(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-|-$/g, "");
}

async function main(): Promise<void> {
  const { out, video, width, height, pace } = parseArgs(process.argv.slice(2));
  await mkdir(out, { recursive: true });
  const write = (line: string) => process.stdout.write(`${line}\n`);

  for (const prompt of PROMPTS) {
    const started = performance.now();
    const result = await render({ kind: "image", prompt, seed: 7, width, height }, { pace });
    const file = join(out, `${slug(prompt)}.png`);
    await writeFile(file, result.bytes);
    write(`${file}  ${result.bytes.length} bytes  ${(performance.now() - started).toFixed(0)} ms`);
  }
  for (const style of STYLES) {
    const prompt = "sunset over the ocean with mountains";
    const result = await render(
      { kind: "image", prompt, style: style.name, seed: 3, width, height },
      { pace },
    );
    const file = join(out, `style-${style.name}.png`);
    await writeFile(file, result.bytes);
    write(`${file}  ${result.bytes.length} bytes`);
  }

  if (video) {
    const base: RenderRequest = {
      kind: "video",
      prompt: "sunset over the ocean with mountains",
      seed: 3,
      width: 1280,
      height: 720,
      durationS: 5,
      frameRate: 24,
    };
    let started = performance.now();
    const clip = await render(base, { pace });
    await writeFile(join(out, "text-to-video.mp4"), clip.bytes);
    write(
      `text-to-video.mp4  ${clip.bytes.length} bytes  ${(performance.now() - started).toFixed(0)} ms`,
    );

    const still = await render(
      { kind: "image", prompt: "a city skyline at night", seed: 5, width: 1024, height: 576 },
      { pace: 0 },
    );
    await writeFile(join(out, "start-image.png"), still.bytes);
    started = performance.now();
    const animated = await render(
      { ...base, prompt: "a city skyline at night", startImage: still.bytes },
      { pace },
    );
    await writeFile(join(out, "image-to-video.mp4"), animated.bytes);
    write(
      `image-to-video.mp4  ${animated.bytes.length} bytes  ${(performance.now() - started).toFixed(0)} ms`,
    );
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
