import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { type RenderProgress, type RenderRequest, render, STYLES } from "../../src/render/index.ts";
import { hasPngSignature, readPng } from "./png-reader.ts";

const digest = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

function image(overrides: Partial<RenderRequest> = {}): RenderRequest {
  return {
    kind: "image",
    prompt: "sunset over the ocean",
    seed: 42,
    width: 96,
    height: 64,
    ...overrides,
  };
}

describe("render: images", () => {
  it.each([
    [64, 48],
    [200, 120],
    [96, 160],
  ])("renders a PNG of exactly %ix%i", async (width, height) => {
    const out = await render(image({ width, height }), { pace: 0 });
    expect(out.contentType).toBe("image/png");
    expect(out.extension).toBe("png");
    expect([out.width, out.height]).toEqual([width, height]);
    expect(hasPngSignature(out.bytes)).toBe(true);
    const png = readPng(out.bytes);
    expect(png.chunks[0]).toBe("IHDR");
    expect(png.chunks.at(-1)).toBe("IEND");
    expect([png.width, png.height, png.bitDepth, png.colorType]).toEqual([width, height, 8, 2]);
  });

  it("is deterministic: the same request gives the same bytes, any change gives others", async () => {
    const base = image();
    const [a, b, seed, prompt, style, size] = await Promise.all([
      render(base, { pace: 0 }),
      render(base, { pace: 0 }),
      render({ ...base, seed: 43 }, { pace: 0 }),
      render({ ...base, prompt: "a city skyline at night" }, { pace: 0 }),
      render({ ...base, style: "noir" }, { pace: 0 }),
      render({ ...base, width: 98 }, { pace: 0 }),
    ]);
    expect(digest(a.bytes)).toBe(digest(b.bytes));
    const others = [seed, prompt, style, size].map((out) => digest(out.bytes));
    expect(new Set([digest(a.bytes), ...others]).size).toBe(5);
  });

  it("offers the styles, and each one changes the picture", async () => {
    expect(STYLES.map((style) => style.name)).toEqual([
      "cinematic",
      "watercolor",
      "neon",
      "pastel",
      "noir",
      "vivid",
    ]);
    for (const style of STYLES) expect(style.label.length).toBeGreaterThan(0);
    const outs = await Promise.all(
      STYLES.map((style) => render(image({ style: style.name }), { pace: 0 })),
    );
    const plain = await render(image(), { pace: 0 });
    expect(new Set([plain, ...outs].map((out) => digest(out.bytes))).size).toBe(STYLES.length + 1);
  });

  it("paints a picture, not noise: smooth neighbours, yet real variation", async () => {
    for (const prompt of [
      "snowy mountain range at dawn",
      "a city skyline at night",
      "abstract dream",
    ]) {
      const { rgb, width, height } = readPng(
        (await render(image({ prompt, width: 240, height: 160 }), { pace: 0 })).bytes,
      );
      let neighbour = 0;
      let sum = 0;
      let sumSq = 0;
      for (let y = 0; y < height; y++) {
        for (let x = 0; x < width; x++) {
          const i = (y * width + x) * 3;
          const luma = (rgb[i] ?? 0) * 0.3 + (rgb[i + 1] ?? 0) * 0.59 + (rgb[i + 2] ?? 0) * 0.11;
          sum += luma;
          sumSq += luma * luma;
          if (x > 0) {
            for (let c = 0; c < 3; c++)
              neighbour += Math.abs((rgb[i + c] ?? 0) - (rgb[i - 3 + c] ?? 0));
          }
        }
      }
      const n = width * height;
      const spread = Math.sqrt(sumSq / n - (sum / n) ** 2);
      // Uniform noise would differ by ~85 levels between neighbours; a painting by a few.
      expect(neighbour / ((width - 1) * height * 3), prompt).toBeLessThan(10);
      expect(spread, prompt).toBeGreaterThan(12);
    }
  });

  it("reports progress that only rises, through its stages, to 1", async () => {
    const updates: RenderProgress[] = [];
    await render(image({ width: 320, height: 200 }), {
      pace: 0,
      onProgress: (p) => updates.push({ ...p }),
    });
    expect(updates.length).toBeGreaterThan(3);
    for (let i = 1; i < updates.length; i++) {
      expect(updates[i]?.progress).toBeGreaterThanOrEqual(updates[i - 1]?.progress ?? 0);
    }
    for (const update of updates) {
      expect(update.progress).toBeGreaterThanOrEqual(0);
      expect(update.progress).toBeLessThanOrEqual(1);
    }
    expect(updates.at(-1)?.progress).toBe(1);
    const stages = [...new Set(updates.map((update) => update.stage))];
    expect(stages).toEqual(["composing", "painting", "lighting", "encoding", "done"]);
  });

  it("at pace 1 takes realistic time and reports at least once a second", async () => {
    const times: number[] = [];
    const started = performance.now();
    await render(image({ width: 128, height: 128 }), {
      pace: 1,
      onProgress: () => times.push(performance.now()),
    });
    const elapsed = performance.now() - started;
    expect(elapsed).toBeGreaterThan(2_000);
    const gaps = times.map((t, i) => t - (times[i - 1] ?? started));
    expect(Math.max(...gaps)).toBeLessThan(1_000);
    expect(performance.now() - (times.at(-1) ?? 0)).toBeLessThan(1_000);
  });

  it("stops promptly when aborted, rejecting with an AbortError", async () => {
    const controller = new AbortController();
    const rendering = render(image({ width: 512, height: 512 }), {
      pace: 1,
      signal: controller.signal,
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const abortedAt = performance.now();
    controller.abort();
    const error = await rendering.then(
      () => undefined,
      (reason: unknown) => reason,
    );
    expect(performance.now() - abortedAt).toBeLessThan(100);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).name).toBe("AbortError");
  });

  it("stops promptly when aborted at pace 0 in the middle of painting", async () => {
    const controller = new AbortController();
    let abortedAt = 0;
    const rendering = render(image({ width: 1024, height: 1024 }), {
      pace: 0,
      signal: controller.signal,
      onProgress: (p) => {
        if (p.stage === "painting" && p.progress > 0.2 && !abortedAt) {
          abortedAt = performance.now();
          controller.abort();
        }
      },
    });
    await expect(rendering).rejects.toMatchObject({ name: "AbortError" });
    expect(performance.now() - abortedAt).toBeLessThan(100);
  });

  it("rejects at once when the signal is already aborted", async () => {
    await expect(render(image(), { signal: AbortSignal.abort() })).rejects.toMatchObject({
      name: "AbortError",
    });
  });

  it("refuses bad requests", async () => {
    await expect(render(image({ style: "sepia" }))).rejects.toThrow(RangeError);
    await expect(render(image({ width: 0 }))).rejects.toThrow(RangeError);
    await expect(render(image({ height: 1.5 }))).rejects.toThrow(RangeError);
    await expect(render(image({ seed: Number.NaN }))).rejects.toThrow(RangeError);
    await expect(render(image(), { pace: -1 })).rejects.toThrow(RangeError);
  });

  it("keeps the event loop free: no stretch of work holds it for long", async () => {
    let worst = 0;
    let last = performance.now();
    const timer = setInterval(() => {
      const now = performance.now();
      worst = Math.max(worst, now - last);
      last = now;
    }, 2);
    try {
      await render(image({ width: 1024, height: 1024, prompt: "a quiet lake between mountains" }), {
        pace: 0,
      });
    } finally {
      clearInterval(timer);
    }
    // Slices are ~8 ms; the bound leaves room for a busy test machine and garbage collection.
    expect(worst).toBeLessThan(150);
  });
});
