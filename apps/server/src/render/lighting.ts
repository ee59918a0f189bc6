/**
 * The lighting pass: bloom around bright light, the style's colour grade, tone mapping of the
 * painter's over-bright values, vignette, paper or film grain, and dithering to 8 bits (so smooth
 * skies stay smooth instead of banding). Works on row ranges so callers can yield between them.
 */
import { hash2, noise2 } from "./rng.ts";
import type { Scene } from "./scene.ts";

/** Bloom is gathered on a grid this many times coarser than the picture, then blurred. */
const BLOOM_STEP = 8;

export interface LightingOptions {
  /** Seed for grain; a video keeps it fixed so grain does not crawl and cost bitrate. */
  grainSeed: number;
  /** Scales the style's grain (videos use less: the encoder would smear it anyway). */
  grainScale: number;
  /** Adds sub-LSB noise before rounding to 8 bits (off for video, where it only costs bits). */
  dither: boolean;
}

export class Lighting {
  private readonly scene: Scene;
  private readonly width: number;
  private readonly height: number;
  private readonly options: LightingOptions;
  private readonly bloomW: number;
  private readonly bloomH: number;
  private readonly bloom: Float32Array;
  private readonly vignetteX: Float32Array;
  private readonly vignetteY: Float32Array;
  /** Per column: the bloom cell to the left and how far toward the next one (bilinear). */
  private readonly bloomX0: Int32Array;
  private readonly bloomTx: Float32Array;
  /** The bloom grid interpolated to the current row: 3 floats per grid column. */
  private readonly bloomRow: Float32Array;

  constructor(scene: Scene, options: LightingOptions) {
    this.scene = scene;
    this.width = scene.width;
    this.height = scene.height;
    this.options = options;
    this.bloomW = Math.ceil(this.width / BLOOM_STEP);
    this.bloomH = Math.ceil(this.height / BLOOM_STEP);
    this.bloom = new Float32Array(this.bloomW * this.bloomH * 3);
    this.vignetteX = new Float32Array(this.width);
    this.vignetteY = new Float32Array(this.height);
    for (let x = 0; x < this.width; x++) this.vignetteX[x] = ((x + 0.5) / this.width) * 2 - 1;
    this.bloomX0 = new Int32Array(this.width);
    this.bloomTx = new Float32Array(this.width);
    for (let x = 0; x < this.width; x++) {
      const fx = Math.min(this.bloomW - 1, Math.max(0, (x + 0.5) / BLOOM_STEP - 0.5));
      const x0 = Math.min(this.bloomW - 2, Math.floor(fx));
      this.bloomX0[x] = Math.max(0, x0);
      this.bloomTx[x] = this.bloomW > 1 ? fx - Math.max(0, x0) : 0;
    }
    this.bloomRow = new Float32Array((this.bloomW + 1) * 3);
    for (let y = 0; y < this.height; y++) this.vignetteY[y] = ((y + 0.5) / this.height) * 2 - 1;
  }

  /** Gathers the bright part of rows [y0, y1) of `src` into the bloom grid. */
  gatherRows(src: Float32Array, y0: number, y1: number): void {
    if (this.scene.grade.bloom <= 0) return;
    const threshold = this.scene.grade.bloomThreshold;
    const { width } = this;
    const bloom = this.bloom;
    for (let y = y0; y < y1; y++) {
      const row = Math.floor(y / BLOOM_STEP) * this.bloomW;
      let i = y * width * 3;
      for (let x = 0; x < width; x++) {
        const r = src[i] ?? 0;
        const g = src[i + 1] ?? 0;
        const b = src[i + 2] ?? 0;
        i += 3;
        const l = r * 0.2126 + g * 0.7152 + b * 0.0722;
        if (l <= threshold) continue;
        const k = (l - threshold) / l;
        const o = (row + Math.floor(x / BLOOM_STEP)) * 3;
        bloom[o] = (bloom[o] ?? 0) + r * k;
        bloom[o + 1] = (bloom[o + 1] ?? 0) + g * k;
        bloom[o + 2] = (bloom[o + 2] ?? 0) + b * k;
      }
    }
  }

  /** Averages and blurs the bloom grid; call once after every row was gathered. */
  finishBloom(): void {
    if (this.scene.grade.bloom <= 0) return;
    const area = BLOOM_STEP * BLOOM_STEP;
    for (let i = 0; i < this.bloom.length; i++) this.bloom[i] = (this.bloom[i] ?? 0) / area;
    const radius = Math.max(1, Math.round(Math.max(this.bloomW, this.bloomH) / 36));
    const scratch = new Float32Array(this.bloom.length);
    // Three box blurs approach a Gaussian.
    for (let pass = 0; pass < 3; pass++) {
      boxBlur(this.bloom, scratch, this.bloomW, this.bloomH, radius, true);
      boxBlur(scratch, this.bloom, this.bloomW, this.bloomH, radius, false);
    }
  }

  /** Interpolates the bloom grid vertically to row y, into bloomRow. */
  private prepareBloomRow(y: number): void {
    const h = this.bloomH;
    const fy = Math.min(h - 1, Math.max(0, (y + 0.5) / BLOOM_STEP - 0.5));
    const y0 = Math.floor(fy);
    const y1 = Math.min(h - 1, y0 + 1);
    const ty = fy - y0;
    const top = y0 * this.bloomW * 3;
    const bottom = y1 * this.bloomW * 3;
    const n = this.bloomW * 3;
    for (let i = 0; i < n; i++) {
      const a = this.bloom[top + i] ?? 0;
      this.bloomRow[i] = a + ((this.bloom[bottom + i] ?? 0) - a) * ty;
    }
    // One spare cell so x0 + 1 is always readable.
    for (let c = 0; c < 3; c++) this.bloomRow[n + c] = this.bloomRow[n - 3 + c] ?? 0;
  }

  /** Grades rows [y0, y1) of `src` into 8-bit `out` with `channels` (3 = RGB, 4 = RGBA). */
  gradeRows(src: Float32Array, y0: number, y1: number, out: Uint8Array, channels: 3 | 4): void {
    const { width, scene, options } = this;
    const grade = scene.grade;
    const bloomStrength = grade.bloom;
    const sat = grade.saturation;
    const contrast = grade.contrast;
    const lift = grade.lift;
    const exposure = grade.exposure;
    const [str, stg, stb] = grade.shadowTint;
    const [htr, htg, htb] = grade.highlightTint;
    const vignette = grade.vignette;
    const [vcr, vcg, vcb] = grade.vignetteColor;
    // Grain below half a level would vanish in rounding; skip its cost.
    const grain =
      grade.grain * options.grainScale >= 0.5 / 255 ? grade.grain * options.grainScale : 0;
    const paper = grade.paper;
    const mono = grade.mono;
    const seed = options.grainSeed;
    const ditherSeed = scene.seed ^ 0x68e31da4;
    const dither = options.dither;
    const bloomRow = this.bloomRow;
    const bloomX0 = this.bloomX0;
    const bloomTx = this.bloomTx;
    const vignetteX = this.vignetteX;
    for (let y = y0; y < y1; y++) {
      let i = y * width * 3;
      let o = y * width * channels;
      const vy = this.vignetteY[y] ?? 0;
      const vy2 = vy * vy;
      if (bloomStrength > 0) this.prepareBloomRow(y);
      for (let x = 0; x < width; x++) {
        let r = (src[i] ?? 0) * exposure;
        let g = (src[i + 1] ?? 0) * exposure;
        let b = (src[i + 2] ?? 0) * exposure;
        i += 3;
        if (bloomStrength > 0) {
          const j = (bloomX0[x] ?? 0) * 3;
          const tx = (bloomTx[x] ?? 0) * bloomStrength;
          const k = bloomStrength - tx;
          r += (bloomRow[j] ?? 0) * k + (bloomRow[j + 3] ?? 0) * tx;
          g += (bloomRow[j + 1] ?? 0) * k + (bloomRow[j + 4] ?? 0) * tx;
          b += (bloomRow[j + 2] ?? 0) * k + (bloomRow[j + 5] ?? 0) * tx;
        }
        r = r <= 0.8 ? r : tone(r);
        g = g <= 0.8 ? g : tone(g);
        b = b <= 0.8 ? b : tone(b);
        let l = r * 0.2126 + g * 0.7152 + b * 0.0722;
        if (mono) {
          r = l;
          g = l;
          b = l;
        } else if (sat !== 1) {
          r = l + (r - l) * sat;
          g = l + (g - l) * sat;
          b = l + (b - l) * sat;
        }
        if (contrast !== 1) {
          // An S-curve around mid-grey, blended by the contrast amount.
          r = sCurve(r, contrast);
          g = sCurve(g, contrast);
          b = sCurve(b, contrast);
          l = r * 0.2126 + g * 0.7152 + b * 0.0722;
        }
        const shadow = (1 - l) * (1 - l);
        const highlight = l * l;
        r += str * shadow + htr * highlight;
        g += stg * shadow + htg * highlight;
        b += stb * shadow + htb * highlight;
        if (lift !== 0) {
          r = lift + r * (1 - lift);
          g = lift + g * (1 - lift);
          b = lift + b * (1 - lift);
        }
        if (vignette > 0) {
          const vx = vignetteX[x] ?? 0;
          const d2 = (vx * vx + vy2) * 0.5;
          if (d2 > 0.1764) {
            const k = smooth((Math.sqrt(d2) - 0.42) / 0.66) * vignette;
            r += (vcr - r) * k;
            g += (vcg - g) * k;
            b += (vcb - b) * k;
          }
        }
        if (paper > 0) {
          // Paper: fine fibres and broad uneven absorption.
          const fibre = noise2(x * 0.55, y * 0.55, ditherSeed) - 0.5;
          const blotch = noise2(x * 0.012, y * 0.012, ditherSeed + 9) - 0.5;
          const k = 1 + paper * (fibre * 0.07 + blotch * 0.08);
          r *= k;
          g *= k;
          b *= k;
        }
        let n = 0.5;
        if (grain > 0) n += (hash2(x, y, seed) - 0.5) * grain * 255;
        if (dither) n += hash2(x, y, ditherSeed) - 0.5;
        out[o] = to8(r, n);
        out[o + 1] = to8(g, n);
        out[o + 2] = to8(b, n);
        if (channels === 4) out[o + 3] = 255;
        o += channels;
      }
    }
  }
}

function smooth(t: number): number {
  const x = Math.min(1, Math.max(0, t));
  return x * x * (3 - 2 * x);
}

/** Identity up to 0.8, then a soft shoulder toward 1: the sun glows instead of clipping flat. */
function tone(x: number): number {
  if (x <= 0.8) return x;
  return 0.8 + 0.2 * (1 - 1 / (1 + (x - 0.8) * 5));
}

function sCurve(x: number, contrast: number): number {
  const c = Math.min(1, Math.max(0, x));
  const curved = c * c * (3 - 2 * c);
  return x + (curved - c) * (contrast - 1) * 2.2;
}

/** To 0..255, adding `offset` (0.5 rounds; grain and dither move it) before truncating. */
function to8(value: number, offset: number): number {
  const v = Math.floor(value * 255 + offset);
  return Math.min(255, Math.max(0, v));
}

function boxBlur(
  src: Float32Array,
  dst: Float32Array,
  width: number,
  height: number,
  radius: number,
  horizontal: boolean,
): void {
  const span = radius * 2 + 1;
  const lines = horizontal ? height : width;
  const length = horizontal ? width : height;
  const stride = horizontal ? 3 : width * 3;
  for (let line = 0; line < lines; line++) {
    const start = horizontal ? line * width * 3 : line * 3;
    for (let c = 0; c < 3; c++) {
      let sum = 0;
      // Edges repeat the border value so the frame's sides do not darken.
      for (let k = -radius; k <= radius; k++) {
        const p = Math.min(length - 1, Math.max(0, k));
        sum += src[start + p * stride + c] ?? 0;
      }
      for (let p = 0; p < length; p++) {
        dst[start + p * stride + c] = sum / span;
        const out = Math.max(0, p - radius);
        const into = Math.min(length - 1, p + radius + 1);
        sum += (src[start + into * stride + c] ?? 0) - (src[start + out * stride + c] ?? 0);
      }
    }
  }
}
