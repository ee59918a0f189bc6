import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { type RenderProgress, type RenderRequest, render } from "../../src/render/index.ts";
import { decodePng } from "../../src/render/png.ts";
import { composeScene } from "../../src/render/scene.ts";
import { ImageAnimator } from "../../src/render/video.ts";
import { find, parseBoxes, videoFacts } from "../support/mp4-boxes.ts";

const digest = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

function video(overrides: Partial<RenderRequest> = {}): RenderRequest {
  return {
    kind: "video",
    prompt: "sunset over the ocean with mountains",
    seed: 9,
    width: 320,
    height: 180,
    durationS: 2,
    frameRate: 12,
    ...overrides,
  };
}

/** Every sample must sit inside mdat and hold length-prefixed H.264 NAL units. */
function expectSamplesInMdat(bytes: Uint8Array): void {
  const facts = videoFacts(bytes);
  const mdat = find(parseBoxes(bytes), "mdat");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let sample = 0;
  facts.chunkOffsets.forEach((offset, chunk) => {
    let at = offset;
    for (let k = 0; k < (facts.samplesPerChunk[chunk] ?? 0); k++) {
      const size = facts.sampleSizes[sample++] ?? 0;
      expect(at).toBeGreaterThanOrEqual(mdat.bodyStart);
      expect(at + size).toBeLessThanOrEqual(mdat.start + mdat.size);
      // The first NAL: a 4-byte length that fits the sample, then a header with forbidden bit 0.
      const nalLength = view.getUint32(at);
      expect(nalLength).toBeGreaterThan(0);
      expect(nalLength + 4).toBeLessThanOrEqual(size);
      expect((bytes[at + 4] ?? 0x80) & 0x80).toBe(0);
      at += size;
    }
  });
  expect(sample).toBe(facts.sampleCount);
}

describe("render: videos", () => {
  it("makes an H.264 MP4 of the asked size, duration and frame rate", async () => {
    const updates: RenderProgress[] = [];
    const out = await render(video(), { pace: 0, onProgress: (p) => updates.push({ ...p }) });
    expect(out.contentType).toBe("video/mp4");
    expect(out.extension).toBe("mp4");
    expect(out.frameCount).toBe(24);
    expect(out.durationMs).toBe(2000);
    expect([out.width, out.height]).toEqual([320, 180]);

    const facts = videoFacts(out.bytes);
    // Fast start: the index (moov) comes before the media data, so playback can begin early.
    expect(facts.topLevel).toEqual(["ftyp", "moov", "mdat"]);
    expect(facts.codec).toBe("avc1");
    expect([facts.width, facts.height]).toEqual([320, 180]);
    expect([facts.codedWidth, facts.codedHeight]).toEqual([320, 180]);
    expect(facts.sampleCount).toBe(24);
    expect(facts.frameDeltas).toHaveLength(24);
    expect(new Set(facts.frameDeltas).size).toBe(1);
    expect(facts.mediaTimescale / (facts.frameDeltas[0] ?? 1)).toBeCloseTo(12, 6);
    expect(facts.durationS).toBeCloseTo(2, 2);
    expect(facts.mediaDurationS).toBeCloseTo(2, 2);
    expectSamplesInMdat(out.bytes);

    expect(updates.at(-1)?.progress).toBe(1);
    for (let i = 1; i < updates.length; i++) {
      expect(updates[i]?.progress).toBeGreaterThanOrEqual(updates[i - 1]?.progress ?? 0);
    }
    const stages = [...new Set(updates.map((update) => update.stage))];
    expect(stages).toEqual(["composing", "rendering", "muxing", "done"]);
    const frames = new Set(
      updates.flatMap((update) => update.message?.match(/^Frame (\d+) of 24$/)?.[1] ?? []),
    );
    expect(frames.size).toBe(24);
  });

  it.each([
    [1, 8, 256, 144],
    [3, 30, 160, 96],
  ])("honours %is at %i fps (%ix%i)", async (durationS, frameRate, width, height) => {
    const out = await render(video({ durationS, frameRate, width, height }), { pace: 0 });
    const facts = videoFacts(out.bytes);
    expect(facts.sampleCount).toBe(durationS * frameRate);
    expect(facts.durationS).toBeCloseTo(durationS, 2);
    expect(facts.mediaTimescale / (facts.frameDeltas[0] ?? 1)).toBeCloseTo(frameRate, 6);
    expect([facts.width, facts.height]).toEqual([width, height]);
  });

  it("is deterministic: the same request gives the same bytes", async () => {
    const request = video({ width: 160, height: 96, durationS: 1, frameRate: 8 });
    const [a, b, other] = await Promise.all([
      render(request, { pace: 0 }),
      render(request, { pace: 0 }),
      render({ ...request, seed: 10 }, { pace: 0 }),
    ]);
    expect(digest(a.bytes)).toBe(digest(b.bytes));
    expect(digest(other.bytes)).not.toBe(digest(a.bytes));
  });

  it("animates a start image: frame 0 is the image, later frames move", async () => {
    const still = await render(
      { kind: "image", prompt: "a city skyline at night", seed: 5, width: 192, height: 108 },
      { pace: 0 },
    );
    const decoded = await decodePng(still.bytes);
    const scene = composeScene({
      prompt: "a city skyline at night",
      style: undefined,
      seed: 5,
      width: 192,
      height: 108,
    });
    const animator = new ImageAnimator(decoded, scene, 2);
    const first = new Uint8Array(192 * 108 * 4);
    const last = new Uint8Array(192 * 108 * 4);
    await animator.frame(0, first, async () => {});
    await animator.frame(1.9, last, async () => {});
    let firstDiff = 0;
    let lastDiff = 0;
    for (let i = 0; i < first.length; i++) {
      if (i % 4 === 3) continue;
      firstDiff += Math.abs((first[i] ?? 0) - (decoded.data[i] ?? 0));
      lastDiff += Math.abs((last[i] ?? 0) - (decoded.data[i] ?? 0));
    }
    const channels = 192 * 108 * 3;
    expect(firstDiff / channels).toBeLessThan(0.5);
    expect(lastDiff / channels).toBeGreaterThan(2);

    const out = await render(video({ width: 192, height: 108, startImage: still.bytes }), {
      pace: 0,
    });
    const facts = videoFacts(out.bytes);
    expect(facts.sampleCount).toBe(24);
    expect([facts.width, facts.height]).toEqual([192, 108]);
    expectSamplesInMdat(out.bytes);
  });

  it("animates a start image of another shape (cover, no borders)", async () => {
    const still = await render(
      { kind: "image", prompt: "forest", seed: 1, width: 96, height: 96 },
      { pace: 0 },
    );
    const out = await render(
      video({ width: 160, height: 90, durationS: 1, frameRate: 8, startImage: still.bytes }),
      {
        pace: 0,
      },
    );
    expect(videoFacts(out.bytes).sampleCount).toBe(8);
  });

  it("refuses a start image that is not a PNG, and odd video sizes", async () => {
    await expect(
      render(video({ startImage: new Uint8Array([1, 2, 3]) }), { pace: 0 }),
    ).rejects.toThrow(/PNG/);
    await expect(render(video({ width: 321 }), { pace: 0 })).rejects.toThrow(RangeError);
    await expect(render(video({ durationS: 11 }), { pace: 0 })).rejects.toThrow(RangeError);
    await expect(render(video({ frameRate: 60 }), { pace: 0 })).rejects.toThrow(RangeError);
  });

  it("stops promptly when aborted mid-clip", async () => {
    const controller = new AbortController();
    let abortedAt = 0;
    const rendering = render(video({ width: 640, height: 360, durationS: 5, frameRate: 24 }), {
      pace: 0,
      signal: controller.signal,
      onProgress: (p) => {
        if (p.message === "Frame 4 of 120" && !abortedAt) {
          abortedAt = performance.now();
          controller.abort();
        }
      },
    });
    await expect(rendering).rejects.toMatchObject({ name: "AbortError" });
    expect(abortedAt).toBeGreaterThan(0);
    expect(performance.now() - abortedAt).toBeLessThan(100);
  });

  it("at pace 1 reports progress at least once a second", async () => {
    const times: number[] = [];
    const started = performance.now();
    const out = await render(video({ width: 128, height: 72, durationS: 1, frameRate: 8 }), {
      pace: 1,
      onProgress: () => times.push(performance.now()),
    });
    expect(out.frameCount).toBe(8);
    expect(performance.now() - started).toBeGreaterThan(2_500);
    const gaps = times.map((t, i) => t - (times[i - 1] ?? started));
    expect(Math.max(...gaps)).toBeLessThan(1_000);
  });
});
