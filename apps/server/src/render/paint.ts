/**
 * Paints one frame of a Scene into a linear float buffer (3 floats a pixel, values may exceed 1
 * where light is bright; the lighting pass blooms and tone-maps them).
 *
 * The per-frame work that does not depend on the row (ridge lines, their facing, the camera,
 * the cloud field at 1/CLOUD_STEP resolution) is prepared once; rows are then painted in any
 * order and any chunking, so callers can yield to the event loop between chunks.
 */
import { clamp01, smoothstep } from "./color.ts";
import { fbm1, fbm2, hash1, hash2, noise1, noise2, ridged1 } from "./rng.ts";
import type { Layer, Scene } from "./scene.ts";

/** The cloud field is computed every CLOUD_STEP pixels and interpolated: clouds are soft. */
const CLOUD_STEP = 8;
const SKY_LUT_SIZE = 1024;

export interface FrameSpec {
  /** Seconds since the start of the clip (0 for a still). */
  time: number;
}

interface Camera {
  zoom: number;
  focusX: number;
  focusV: number;
  pan: number;
  /** Pixels per scene unit. */
  pixelScale: number;
}

/** Something that lets long loops hand the event loop back now and then. */
export interface Slicer {
  due(): boolean;
  yield(): Promise<void>;
}

export class Painter {
  readonly width: number;
  readonly height: number;
  private readonly scene: Scene;
  private readonly time: number;
  private readonly camera: Camera;
  private readonly columnX: Float64Array;
  private readonly rowV: Float64Array;
  private readonly ridges: Float32Array[];
  private readonly facing: Float32Array[];
  private readonly layerX: Float64Array[];
  private readonly tints: Float32Array[];
  /** Ridge lines smoothed over a few percent of the frame: depth cues follow the broad shape. */
  private readonly smoothRidges: Float32Array[];
  private readonly ribbonY: Float32Array[];
  private readonly ribbonT: Float32Array[];
  private readonly cloudW: number;
  private readonly cloudH: number;
  private readonly cloudDensity: Float32Array;
  private readonly cloudLight: Float32Array;
  private readonly lightX: number;
  private readonly lightY: number;
  private readonly skyPan: number;
  private readonly blobX: Float64Array;
  private readonly blobY: Float64Array;
  private readonly rimPixels: number;
  /** The sky gradient sampled along t = v / horizon: 3 floats per entry. */
  private readonly skyLut: Float32Array;
  /** Per layer and column: how deep snow lies below the ridge (0 = none). */
  private readonly snowDepth: Float32Array[];
  // The colour being built for the current pixel: fields avoid allocating in the hot loop.
  private r = 0;
  private g = 0;
  private b = 0;

  constructor(scene: Scene, frame: FrameSpec) {
    this.scene = scene;
    this.width = scene.width;
    this.height = scene.height;
    this.time = frame.time;
    const { motion } = scene;
    const t = frame.time;
    const zoom = 1 + motion.zoom * t;
    this.camera = {
      zoom,
      focusX: scene.light.x * 0.3,
      focusV: Math.min(scene.horizon, 0.9) - 0.12,
      pan: motion.pan * t,
      pixelScale: this.height * zoom,
    };
    this.lightX = scene.light.x + motion.lightDx * t;
    this.lightY = scene.light.y + motion.lightDy * t;
    this.skyPan = this.camera.pan * 0.05;
    this.rimPixels = Math.max(1.2, this.height / 420) * zoom;

    const { width, height } = this;
    this.columnX = new Float64Array(width);
    for (let px = 0; px < width; px++) {
      const x0 = (px + 0.5 - width / 2) / height;
      this.columnX[px] = this.camera.focusX + (x0 - this.camera.focusX) / zoom;
    }
    this.rowV = new Float64Array(height);
    for (let py = 0; py < height; py++) {
      const v0 = (py + 0.5) / height;
      this.rowV[py] = this.camera.focusV + (v0 - this.camera.focusV) / zoom;
    }

    this.ridges = [];
    this.facing = [];
    this.layerX = [];
    this.tints = [];
    this.smoothRidges = [];
    this.snowDepth = [];
    this.skyLut = new Float32Array((SKY_LUT_SIZE + 1) * 3);
    for (let i = 0; i <= SKY_LUT_SIZE; i++) {
      this.skyGradientAt(i / SKY_LUT_SIZE);
      this.skyLut[i * 3] = this.r;
      this.skyLut[i * 3 + 1] = this.g;
      this.skyLut[i * 3 + 2] = this.b;
    }
    for (const layer of scene.layers) this.prepareLayer(layer);

    this.ribbonY = [];
    this.ribbonT = [];
    for (const ribbon of scene.ribbons) {
      const ys = new Float32Array(width);
      const ts = new Float32Array(width);
      for (let px = 0; px < width; px++) {
        const x = (this.columnX[px] ?? 0) + this.camera.pan * 0.3;
        const phase = ribbon.phase + t * ribbon.speed;
        ys[px] =
          ribbon.y +
          ribbon.amplitude * Math.sin(x * ribbon.frequency + phase) +
          ribbon.amplitude * 0.35 * Math.sin(x * ribbon.frequency * 2.3 - phase * 1.7);
        ts[px] =
          ribbon.thickness * (0.55 + 0.45 * Math.sin(x * ribbon.frequency * 0.7 + phase * 0.5 + 1));
      }
      this.ribbonY.push(ys);
      this.ribbonT.push(ts);
    }

    this.cloudW = Math.ceil(width / CLOUD_STEP) + 2;
    this.cloudH = Math.ceil(height / CLOUD_STEP) + 2;
    this.cloudDensity = new Float32Array(this.cloudW * this.cloudH);
    this.cloudLight = new Float32Array(this.cloudW * this.cloudH);

    this.blobX = new Float64Array(scene.blobs.length);
    this.blobY = new Float64Array(scene.blobs.length);
    scene.blobs.forEach((blob, i) => {
      this.blobX[i] = blob.x + Math.sin(t * blob.driftX * 12 + blob.phase) * 0.06;
      this.blobY[i] = blob.y + Math.cos(t * blob.driftY * 12 + blob.phase * 1.3) * 0.04;
    });
  }

  /** Computes the cloud field, yielding between its rows. */
  async prepare(slicer: Slicer): Promise<void> {
    for (let j = 0; j < this.cloudH; j++) {
      this.prepareCloudRow(j);
      if (slicer.due()) await slicer.yield();
    }
  }

  /** The same as `prepare`, for callers that have no event loop to spare (small sizes, tests). */
  prepareNow(): void {
    for (let j = 0; j < this.cloudH; j++) this.prepareCloudRow(j);
  }

  private prepareLayer(layer: Layer): void {
    const { width } = this;
    const ridge = new Float32Array(width + 2);
    const xs = new Float64Array(width + 2);
    const parallax = this.camera.pan * (0.25 + 0.75 * layer.depth);
    for (let i = 0; i < width + 2; i++) {
      const px = Math.min(width - 1, Math.max(0, i - 1));
      const x = (this.columnX[px] ?? 0) + parallax + (i - 1 - px) / this.camera.pixelScale;
      xs[i] = x;
      ridge[i] = ridgeAt(layer, x);
    }
    // Facing from the slope of the ridge smoothed over a few percent of the frame: broad lit
    // and shaded faces, not a streak under every small notch of the ridge.
    const facing = new Float32Array(width + 2);
    const span = Math.max(2, Math.round(this.height / 45));
    const prefix = new Float64Array(width + 3);
    for (let i = 0; i < width + 2; i++) prefix[i + 1] = (prefix[i] ?? 0) + (ridge[i] ?? 0);
    const smoothAt = (i: number): number => {
      const lo = Math.max(0, i - span);
      const hi = Math.min(width + 1, i + span);
      return ((prefix[hi + 1] ?? 0) - (prefix[lo] ?? 0)) / (hi - lo + 1);
    };
    const smooth = new Float32Array(width + 2);
    for (let i = 0; i < width + 2; i++) smooth[i] = smoothAt(i);
    this.smoothRidges.push(smooth);
    for (let i = 1; i <= width; i++) {
      const left = smoothAt(Math.max(0, i - span));
      const right = smoothAt(Math.min(width + 1, i + span));
      const slope = ((right - left) * this.camera.pixelScale) / (2 * span);
      const toLight = clamp01(((this.lightX - ((xs[i] ?? 0) - parallax)) / 0.25 + 1) / 2) * 2 - 1;
      facing[i] = clamp01(0.5 + slope * toLight * 1.6);
    }
    const snow = new Float32Array(width + 2);
    if (layer.snow > 0) {
      for (let i = 0; i < width + 2; i++) {
        const peak = (layer.base - (ridge[i] ?? 0)) / layer.amplitude;
        snow[i] =
          layer.amplitude *
          0.3 *
          smoothstep(0.4, 0.85, peak) *
          (0.5 + fbm1((xs[i] ?? 0) * 5, layer.seed + 3, 2));
      }
    }
    this.snowDepth.push(snow);
    const tint = new Float32Array(width + 2);
    if (layer.kind === "city")
      for (let i = 0; i < width + 2; i++) tint[i] = buildingAt(layer, xs[i] ?? 0);
    this.tints.push(tint);
    this.ridges.push(ridge);
    this.facing.push(facing);
    this.layerX.push(xs);
  }

  private prepareCloudRow(j: number): void {
    const { scene, camera } = this;
    const { clouds } = scene;
    const py = j * CLOUD_STEP;
    const v = camera.focusV + ((py + 0.5) / this.height - camera.focusV) / camera.zoom;
    const horizon = Math.min(scene.horizon, 1.05);
    const mask = clouds.additive
      ? 1
      : smoothstep(-0.05, 0.12, v) * (1 - smoothstep(horizon - 0.22, horizon - 0.02, v));
    const drift = camera.pan * 0.15 + scene.motion.cloudDrift * this.time;
    const threshold = 0.64 - clouds.cover * 0.32;
    // Offset toward the light for the directional shading of each puff.
    const lx = this.lightX - camera.focusX;
    const ly = this.lightY - v;
    const len = Math.hypot(lx, ly) || 1;
    const ox = (lx / len) * 0.035;
    const oy = (ly / len) * 0.035;
    for (let i = 0; i < this.cloudW; i++) {
      const index = j * this.cloudW + i;
      if (mask <= 0.001) {
        this.cloudDensity[index] = 0;
        this.cloudLight[index] = 1;
        continue;
      }
      const px = i * CLOUD_STEP;
      const x =
        camera.focusX + ((px + 0.5 - this.width / 2) / this.height - camera.focusX) / camera.zoom;
      const cx = (x + drift) * clouds.scale;
      const cy = v * clouds.scale * 2.4;
      const n = fbm2(cx, cy, scene.seed ^ 0x5bd1e995, 5);
      const density = smoothstep(threshold, threshold + 0.24, n) * mask;
      const toward = fbm2(
        cx + ox * clouds.scale,
        cy + oy * clouds.scale * 2.4,
        scene.seed ^ 0x5bd1e995,
        3,
      );
      const shadeBase = fbm2(cx, cy, scene.seed ^ 0x5bd1e995, 3);
      this.cloudDensity[index] = density;
      this.cloudLight[index] = clamp01(0.55 + (shadeBase - toward) * 6);
    }
  }

  /** Paints rows [y0, y1) into `out` (width * height * 3 floats). */
  paintRows(y0: number, y1: number, out: Float32Array): void {
    const { scene, width } = this;
    const warp = scene.grade.warp;
    const horizon = scene.horizon;
    const floorBelow = scene.floor !== "land";
    for (let py = y0; py < y1; py++) {
      const v = this.rowV[py] ?? 0;
      let o = py * width * 3;
      for (let px = 0; px < width; px++) {
        let sx = this.columnX[px] ?? 0;
        let sv = v;
        let cx = px;
        if (warp > 0) {
          // Watercolour: the brush wobbles, so every edge is slightly hand-drawn.
          const wx = Math.sin(sv * 41 + 2.1 * Math.sin(sx * 17 + 1.3)) * 0.0035 * warp;
          const wy = Math.sin(sx * 37 + 1.7 * Math.sin(sv * 23 + 0.4)) * 0.003 * warp;
          sx += wx;
          sv += wy;
          cx = Math.min(width - 1, Math.max(0, Math.round(px + wx * this.camera.pixelScale)));
        }
        if (floorBelow && sv >= horizon) this.shadeFloor(cx, sx, sv, py);
        else this.shadeAbove(cx, sx, sv, py, true);
        out[o++] = this.r;
        out[o++] = this.g;
        out[o++] = this.b;
      }
    }
  }

  private skyGradient(v: number): void {
    const horizon = Math.min(this.scene.horizon, 1);
    const t = v <= 0 ? 0 : v >= horizon ? SKY_LUT_SIZE : (v / horizon) * SKY_LUT_SIZE;
    const i = Math.min(SKY_LUT_SIZE - 1, Math.floor(t));
    const f = t - i;
    const lut = this.skyLut;
    const j = i * 3;
    const r0 = lut[j] ?? 0;
    const g0 = lut[j + 1] ?? 0;
    const b0 = lut[j + 2] ?? 0;
    this.r = r0 + ((lut[j + 3] ?? 0) - r0) * f;
    this.g = g0 + ((lut[j + 4] ?? 0) - g0) * f;
    this.b = b0 + ((lut[j + 5] ?? 0) - b0) * f;
  }

  /** The sky gradient at t = v / horizon (0 top, 1 horizon), into r, g, b. */
  private skyGradientAt(t: number): void {
    const { sky } = this.scene;
    if (t < sky.midAt) {
      const k = smoothstep(0, sky.midAt, t);
      this.r = sky.top[0] + (sky.mid[0] - sky.top[0]) * k;
      this.g = sky.top[1] + (sky.mid[1] - sky.top[1]) * k;
      this.b = sky.top[2] + (sky.mid[2] - sky.top[2]) * k;
    } else {
      const k = smoothstep(sky.midAt, 1, t) ** 1.3;
      this.r = sky.mid[0] + (sky.horizon[0] - sky.mid[0]) * k;
      this.g = sky.mid[1] + (sky.horizon[1] - sky.mid[1]) * k;
      this.b = sky.mid[2] + (sky.horizon[2] - sky.mid[2]) * k;
    }
  }

  // Cloud density and lighting at the current pixel, from cloudAt.
  private cloudDensityHere = 0;
  private cloudLightHere = 0;

  private cloudAt(px: number, py: number): void {
    const fx = Math.min(this.cloudW - 1.001, Math.max(0, px / CLOUD_STEP));
    const fy = Math.min(this.cloudH - 1.001, Math.max(0, py / CLOUD_STEP));
    const ix = Math.floor(fx);
    const iy = Math.floor(fy);
    const tx = fx - ix;
    const ty = fy - iy;
    const i = iy * this.cloudW + ix;
    const j = i + this.cloudW;
    const density = this.cloudDensity;
    const a = density[i] ?? 0;
    const b = density[i + 1] ?? 0;
    const c = density[j] ?? 0;
    const d = density[j + 1] ?? 0;
    const value = a + (b - a) * tx + (c - a + (d - c - b + a) * tx) * ty;
    this.cloudDensityHere = value;
    if (value <= 0.002) return;
    const light = this.cloudLight;
    const la = light[i] ?? 0;
    const lb = light[i + 1] ?? 0;
    const lc = light[j] ?? 0;
    const ld = light[j + 1] ?? 0;
    this.cloudLightHere = la + (lb - la) * tx + (lc - la + (ld - lc - lb + la) * tx) * ty;
  }

  /**
   * Sky, light, clouds, stars, shapes and the ridge layers at scene point (sx, v), whose screen
   * column is px and screen row py (py is fractional for reflections).
   */
  private shadeAbove(px: number, sx: number, v: number, py: number, direct: boolean): void {
    const { scene, camera } = this;
    const scale = camera.pixelScale;
    const layers = scene.layers;
    // Layers are opaque: start from the nearest one that fully covers this pixel, if any, and
    // skip the sky and everything behind it.
    let first = -1;
    for (let li = layers.length - 1; li >= 0; li--) {
      if ((v - (this.ridges[li]?.[px + 1] ?? 2)) * scale >= 0.5) {
        first = li;
        break;
      }
    }
    if (first >= 0) {
      this.r = 0;
      this.g = 0;
      this.b = 0;
    } else {
      this.shadeSky(px, sx, v, py, scale);
      first = 0;
    }
    for (let li = first; li < layers.length; li++) {
      const layer = layers[li];
      const ridge = this.ridges[li];
      if (!layer || !ridge) continue;
      const rv = ridge[px + 1] ?? 0;
      const below = v - rv;
      const coverage = below * scale + 0.5;
      if (coverage <= 0) {
        if (layer.edgeGlow > 0) {
          const e = (below * scale) / (this.rimPixels * 3);
          const glow = layer.edgeGlow / (1 + e * e);
          this.r += layer.rim[0] * glow;
          this.g += layer.rim[1] * glow;
          this.b += layer.rim[2] * glow;
        }
        continue;
      }
      this.shadeLayer(layer, li, px, v, below, Math.min(1, coverage), direct);
    }
  }

  /** Sky, light, clouds, stars and abstract shapes: everything behind the ridge layers. */
  private shadeSky(px: number, sx: number, v: number, py: number, scale: number): void {
    const { scene } = this;
    const { light } = scene;
    this.skyGradient(v);

    const skyX = sx + this.skyPan;
    const dx = skyX - this.lightX;
    const dy = v - this.lightY;
    const d2 = dx * dx + dy * dy;
    const radius = light.radius;

    // Stars sit behind everything, fading out toward the hazy horizon.
    if (scene.stars > 0 && v < scene.horizon) this.addStars(skyX, v, scale);

    if (scene.planet) this.shadePlanet(skyX, v, scale);

    // Glow: a broad warm sky around the light, a tight halo, and a band along the horizon.
    const glowStrength = light.glowStrength;
    if (light.kind !== "none" && glowStrength > 0) {
      const broad = 0.3 / (1 + d2 * 7);
      const halo = 0.75 / (1 + d2 / (radius * radius * 5));
      const hv = (v - scene.horizon) / 0.07;
      const band = (0.4 / (1 + hv * hv)) * (1 / (1 + dx * dx * 4));
      const g = (broad + halo + band) * glowStrength;
      this.r += light.glow[0] * g;
      this.g += light.glow[1] * g;
      this.b += light.glow[2] * g;
      if (light.disc && d2 < radius * radius * 2.5) this.shadeDisc(dx, dy, Math.sqrt(d2), v, scale);
    }

    let density = 0;
    if (scene.clouds.cover > 0) {
      this.cloudAt(px, py);
      density = this.cloudDensityHere;
    }
    if (density > 0.002) {
      const { clouds } = scene;
      const lit = this.cloudLightHere;
      const sun = 0.55 / (1 + d2 * 14);
      let cr = clouds.shade[0] + (clouds.lit[0] - clouds.shade[0]) * lit + light.glow[0] * sun;
      let cg = clouds.shade[1] + (clouds.lit[1] - clouds.shade[1]) * lit + light.glow[1] * sun;
      let cb = clouds.shade[2] + (clouds.lit[2] - clouds.shade[2]) * lit + light.glow[2] * sun;
      const alpha = density * clouds.opacity;
      if (clouds.additive) {
        this.r += cr * alpha;
        this.g += cg * alpha;
        this.b += cb * alpha;
      } else {
        // Thin cloud edges let the glow through: the silver lining.
        const edge = (1 - density) * sun * 1.5;
        cr += light.glow[0] * edge;
        cg += light.glow[1] * edge;
        cb += light.glow[2] * edge;
        this.r += (cr - this.r) * alpha;
        this.g += (cg - this.g) * alpha;
        this.b += (cb - this.b) * alpha;
      }
    }

    if (scene.ribbons.length > 0) this.shadeRibbons(px, v, scale);
    if (scene.blobs.length > 0) this.shadeBlobs(skyX, v);
  }

  private addStars(skyX: number, v: number, scale: number): void {
    const cell = 3 / this.height;
    const gx = skyX / cell;
    const gy = v / cell;
    const ix = Math.floor(gx);
    const iy = Math.floor(gy);
    const seed = this.scene.seed ^ 0x27d4eb2f;
    const h = hash2(ix, iy, seed);
    const density = this.scene.stars * 0.014;
    if (h >= density) return;
    const k = h / density;
    const sxc = ix + 0.2 + 0.6 * hash2(ix, iy, seed + 1);
    const syc = iy + 0.2 + 0.6 * hash2(ix, iy, seed + 2);
    const dpx = (gx - sxc) * cell * scale;
    const dpy = (gy - syc) * cell * scale;
    const r2 = dpx * dpx + dpy * dpy;
    const size = 0.55 + 0.9 * k * k;
    if (r2 > size * size * 4) return;
    const twinkle = 0.75 + 0.25 * Math.sin(this.time * 3.1 + h * 9000);
    const fade = 1 - smoothstep(this.scene.horizon - 0.3, this.scene.horizon - 0.02, v);
    const brightness =
      (0.35 + 1.1 * k ** 3) * twinkle * fade * Math.max(0, 1 - r2 / (size * size * 4)) ** 2;
    const warm = hash2(ix, iy, seed + 3);
    this.r += brightness * (0.85 + 0.15 * warm);
    this.g += brightness * 0.92;
    this.b += brightness * (1 - 0.15 * warm);
  }

  private shadeDisc(dx: number, dy: number, d: number, v: number, scale: number): void {
    const { light } = this.scene;
    const radius = light.radius;
    let alpha = clamp01((radius - d) * scale + 0.5);
    if (alpha <= 0) return;
    let cr: number;
    let cg: number;
    let cb: number;
    if (light.striped) {
      // Synthwave sun: a vertical gradient cut by bands that widen toward the bottom.
      const t = clamp01((v - (this.lightY - radius)) / (2 * radius));
      cr = light.color[0] + (light.edgeColor[0] - light.color[0]) * t;
      cg = light.color[1] + (light.edgeColor[1] - light.color[1]) * t;
      cb = light.color[2] + (light.edgeColor[2] - light.color[2]) * t;
      const below = dy / radius;
      if (below > -0.1) {
        const period = 0.2;
        const phase = ((below + 0.1) / period) % 1;
        const gap = 0.12 + 0.5 * (below + 0.1);
        const edge = (phase - gap) * period * radius * scale;
        alpha *= clamp01(edge + 0.5) * clamp01((1 - phase) * period * radius * scale + 0.5);
      }
      cr *= 1.6;
      cg *= 1.6;
      cb *= 1.6;
    } else if (light.kind === "moon") {
      const n = noise2((dx / radius) * 2.5 + 3, (dy / radius) * 2.5 + 7, this.scene.seed);
      const k = (0.78 + 0.22 * n) * (1 - 0.15 * (d / radius) ** 2);
      cr = light.color[0] * k * 1.3;
      cg = light.color[1] * k * 1.3;
      cb = light.color[2] * k * 1.3;
    } else {
      const t = (d / radius) ** 2;
      const core = 2.2 - 0.6 * t;
      cr = (light.color[0] + (light.edgeColor[0] - light.color[0]) * t) * core;
      cg = (light.color[1] + (light.edgeColor[1] - light.color[1]) * t) * core;
      cb = (light.color[2] + (light.edgeColor[2] - light.color[2]) * t) * core;
    }
    this.r += (cr - this.r) * alpha;
    this.g += (cg - this.g) * alpha;
    this.b += (cb - this.b) * alpha;
  }

  private shadePlanet(skyX: number, v: number, scale: number): void {
    const planet = this.scene.planet;
    if (!planet) return;
    const dx = skyX - planet.x;
    const dy = v - planet.y;
    const r = planet.radius;
    const d2 = dx * dx + dy * dy;
    const d = Math.sqrt(d2);
    // Atmosphere: a thin glow hugging the limb.
    const rim = (d - r) / (r * 0.08);
    if (rim > 0 && rim < 6) {
      const glow = 0.35 / (1 + rim * rim);
      this.r += planet.color[0] * glow;
      this.g += planet.color[1] * glow;
      this.b += planet.color[2] * glow;
    }
    const alpha = clamp01((r - d) * scale + 0.5);
    if (alpha > 0) {
      const nx = dx / r;
      const ny = dy / r;
      const nz = Math.sqrt(Math.max(0, 1 - nx * nx - ny * ny));
      const lx = this.lightX - planet.x;
      const ly = this.lightY - planet.y;
      const ll = Math.hypot(lx, ly, 0.3);
      const lit = clamp01(0.08 + (nx * lx + ny * ly + nz * 0.3) / ll);
      const bands = noise1(ny * 7 + noise1(nx * 3, this.scene.seed) * 0.8, this.scene.seed + 5);
      const cr = planet.color[0] + (planet.band[0] - planet.color[0]) * bands;
      const cg = planet.color[1] + (planet.band[1] - planet.color[1]) * bands;
      const cb = planet.color[2] + (planet.band[2] - planet.color[2]) * bands;
      this.r += (cr * lit - this.r) * alpha;
      this.g += (cg * lit - this.g) * alpha;
      this.b += (cb * lit - this.b) * alpha;
    }
    if (planet.ring) {
      // A tilted ring: an ellipse band, hidden behind the planet's upper half.
      const rx = dx * 0.96 + dy * 0.28;
      const ry = (-dx * 0.28 + dy * 0.96) / 0.22;
      const rr = Math.sqrt(rx * rx + ry * ry) / r;
      if (rr > 1.35 && rr < 2.2 && (ry > 0 || d > r)) {
        const t = (rr - 1.35) / 0.85;
        const bands = 0.55 + 0.45 * Math.sin(t * 23);
        const a = Math.sin(t * Math.PI) * 0.65 * bands;
        this.r += (planet.color[0] * 1.2 - this.r) * a;
        this.g += (planet.color[1] * 1.1 - this.g) * a;
        this.b += (planet.color[2] - this.b) * a;
      }
    }
  }

  private shadeRibbons(px: number, v: number, scale: number): void {
    const ribbons = this.scene.ribbons;
    for (let i = 0; i < ribbons.length; i++) {
      const ribbon = ribbons[i];
      const center = this.ribbonY[i]?.[px];
      const thickness = this.ribbonT[i]?.[px];
      if (!ribbon || center === undefined || thickness === undefined) continue;
      const d = Math.abs(v - center);
      if (d >= thickness + 1 / scale) continue;
      // A soft-edged band, brighter along its spine.
      const across = d / thickness;
      const alpha = clamp01((thickness - d) * scale + 0.5) * (0.35 + 0.3 * (1 - across * across));
      this.r += (ribbon.color[0] * (1.1 - 0.3 * across) - this.r) * alpha;
      this.g += (ribbon.color[1] * (1.1 - 0.3 * across) - this.g) * alpha;
      this.b += (ribbon.color[2] * (1.1 - 0.3 * across) - this.b) * alpha;
    }
  }

  private shadeBlobs(skyX: number, v: number): void {
    const blobs = this.scene.blobs;
    let field = 0;
    let spec = 0;
    let cr = 0;
    let cg = 0;
    let cb = 0;
    // Highlights sit toward the light.
    const lx = this.lightX - skyX;
    const ly = this.lightY - v;
    const ll = Math.sqrt(lx * lx + ly * ly) || 1;
    for (let i = 0; i < blobs.length; i++) {
      const blob = blobs[i];
      if (!blob) continue;
      const dx = skyX - (this.blobX[i] ?? 0);
      const dy = v - (this.blobY[i] ?? 0);
      const r2 = blob.radius * blob.radius;
      // Beyond 5 radii a shape adds under 0.2 % to the field: not worth the arithmetic.
      if (dy * dy > r2 * 25 || dx * dx > r2 * 25) continue;
      const q = 1 + (dx * dx + dy * dy) / r2;
      const w = 1 / (q * q);
      field += w;
      cr += blob.color[0] * w;
      cg += blob.color[1] * w;
      cb += blob.color[2] * w;
      const hx = dx - (lx / ll) * blob.radius * 0.45;
      const hy = dy - (ly / ll) * blob.radius * 0.45;
      const hq = 1 + ((hx * hx + hy * hy) / r2) * 12;
      spec += 1 / (hq * hq);
    }
    if (field < 0.02) return;
    cr /= field;
    cg /= field;
    cb /= field;
    // A soft halo outside, a smooth edge, a body darker at its rim, and a glossy highlight.
    const halo = smoothstep(0.05, 0.5, field) * 0.3;
    const alpha = smoothstep(0.5, 0.62, field);
    const core = 0.62 + 0.55 * smoothstep(0.55, 1.6, field);
    const shine = Math.min(1, spec) * 0.8;
    this.r += cr * halo * (1 - alpha);
    this.g += cg * halo * (1 - alpha);
    this.b += cb * halo * (1 - alpha);
    this.r += (cr * core + shine - this.r) * alpha;
    this.g += (cg * core + shine - this.g) * alpha;
    this.b += (cb * core + shine - this.b) * alpha;
  }

  private shadeLayer(
    layer: Layer,
    li: number,
    px: number,
    v: number,
    below: number,
    coverage: number,
    direct: boolean,
  ): void {
    const { scene, camera } = this;
    const scale = camera.pixelScale;
    const x = this.layerX[li]?.[px + 1] ?? 0;
    const rv = v - below;
    let lr = layer.color[0];
    let lg = layer.color[1];
    let lb = layer.color[2];

    // Texture: a faint, soft grain of rock, grass or sand so large areas are not flat.
    if (direct) {
      const n = noise2(x * 16, v * 34, layer.seed) - 0.5;
      const k = 1 + n * (layer.kind === "mountains" ? 0.1 : 0.06);
      lr *= k;
      lg *= k;
      lb *= k;
    }

    const facing = this.facing[li]?.[px + 1] ?? 0.5;
    const amp = layer.amplitude;
    const deep = v - (this.smoothRidges[li]?.[px + 1] ?? rv);
    if (layer.kind === "mountains") {
      // Faces toward the light are lighter, away darker, fading with depth below the ridge.
      const k = 1 + (facing - 0.5) * 0.4 * (1 - smoothstep(0, amp * 0.3, deep));
      lr *= k;
      lg *= k;
      lb *= k;
    } else if (layer.kind === "dunes") {
      // Each dune: lit at its crest (more on the sunny side), darker in the trough below.
      const k = 1.1 + (facing - 0.5) * 0.35 - 0.32 * smoothstep(0, amp * 0.9, deep);
      lr *= k;
      lg *= k;
      lb *= k;
    } else if (layer.kind === "city") {
      const k = 0.9 + 0.2 * (this.tints[li]?.[px + 1] ?? 0.5);
      lr *= k;
      lg *= k;
      lb *= k;
    }

    if (layer.snow > 0) {
      const depth = this.snowDepth[li]?.[px + 1] ?? 0;
      if (below < depth) {
        const s = clamp01((depth - below) * scale * 0.6) * 0.85;
        const snow = 0.72 + 0.4 * facing;
        const { glow } = scene.light;
        lr += (snow * (0.88 + glow[0] * 0.12) - lr) * s;
        lg += (snow * (0.9 + glow[1] * 0.1) - lg) * s;
        lb += (snow * (0.94 + glow[2] * 0.06) - lb) * s;
      }
    }

    this.wr = 0;
    if (layer.windows > 0 && direct && below * scale > 2) this.windowLight(layer, x, v);
    if (this.wr > 0) {
      lr += this.wr;
      lg += this.wg;
      lb += this.wb;
    }

    // Rim light where the ridge faces the light (or a pigment line in watercolour).
    const e = (below * scale) / this.rimPixels;
    const rim = (layer.rimStrength * (0.25 + 0.75 * facing)) / (1 + e * e);
    lr += (layer.rim[0] - lr) * rim;
    lg += (layer.rim[1] - lg) * rim;
    lb += (layer.rim[2] - lb) * rim;

    // Mist gathers at the layer's foot and thins again further down; near ground darkens.
    let haze =
      smoothstep(layer.hazeStart, layer.base + layer.hazeLength * 0.15, v) *
      (1 - 0.7 * smoothstep(layer.base + layer.hazeLength * 0.15, layer.base + 0.3, v)) *
      layer.haze;
    const terrain = layer.kind === "mountains" || layer.kind === "hills" || layer.kind === "dunes";
    if (terrain && scene.floor === "land" && li < scene.layers.length - 1) {
      // On land each layer sinks into mist toward its lower edge, so the next, crisper ridge
      // stands out in front of it: the layered look of distant ranges.
      haze = Math.max(haze, smoothstep(amp * 0.1, amp * 0.9, deep) * layer.haze * 2.2);
      // And its upper slopes catch a little more light.
      const lit = 1 + 0.1 * (1 - smoothstep(0, amp * 0.5, deep));
      lr *= lit;
      lg *= lit;
      lb *= lit;
    }
    const hz = scene.sky.horizon;
    lr += (hz[0] - lr) * haze;
    lg += (hz[1] - lg) * haze;
    lb += (hz[2] - lb) * haze;
    const ground = 1 - 0.35 * layer.depth * smoothstep(layer.base, layer.base + 0.35, v);
    lr *= ground;
    lg *= ground;
    lb *= ground;

    this.r += (lr - this.r) * coverage;
    this.g += (lg - this.g) * coverage;
    this.b += (lb - this.b) * coverage;
  }

  // Window light of the current pixel (0 when dark); fields for the same reason as r, g, b.
  private wr = 0;
  private wg = 0;
  private wb = 0;

  private windowLight(layer: Layer, x: number, v: number): void {
    this.wr = 0;
    this.wg = 0;
    this.wb = 0;
    // Nearer buildings have bigger windows; none smaller than a few pixels.
    const cellW = Math.max(0.006 + 0.006 * layer.depth, 4.5 / this.camera.pixelScale);
    const cellH = cellW * 1.45;
    const gx = x / cellW;
    const gy = v / cellH;
    const ix = Math.floor(gx);
    const iy = Math.floor(gy);
    const fx = gx - ix;
    const fy = gy - iy;
    if (fx < 0.22 || fx > 0.72 || fy < 0.28 || fy > 0.74) return;
    const h = hash2(ix, iy, layer.seed);
    if (h > layer.windows) return;
    const flicker =
      hash2(ix, iy + Math.floor(this.time * 0.7 + h * 50), layer.seed + 1) < 0.04 ? 0.4 : 1;
    const k = (0.5 + 0.7 * (h / layer.windows)) * flicker;
    const neon = this.scene.style === "neon";
    this.wr = (neon ? layer.rim[0] : 1) * k;
    this.wg = (neon ? layer.rim[1] : 0.78) * k;
    this.wb = (neon ? layer.rim[2] : 0.45) * k;
  }

  private shadeFloor(px: number, sx: number, v: number, py: number): void {
    if (this.scene.floor === "grid") this.shadeGrid(sx, v);
    else this.shadeWater(px, sx, v, py);
  }

  private shadeWater(px: number, sx: number, v: number, py: number): void {
    const { scene, camera } = this;
    const { water, light } = scene;
    const scale = camera.pixelScale;
    const t = this.time * scene.motion.waveSpeed;
    const dv = v - scene.horizon;
    const distance = 1 / (dv + 0.015);
    const u = (sx + camera.pan * 0.9) * distance;
    // How many wave cycles one pixel spans: fade detail that would only alias.
    const footprint = (distance * distance) / scale;
    const fine = clamp01(1.4 - footprint * 5.5 * 1.5);
    const coarse = clamp01(1.4 - footprint * 2.2 * 1.5);
    const w1 = noise2(u * 0.6 + t * 0.08, distance * 2.2 + t * 0.55, scene.seed + 11);
    const w2 = noise2(u * 1.9 - t * 0.12, distance * 5.5 + t * 1.1, scene.seed + 12);
    const wave = 0.5 + ((w1 - 0.5) * 0.65 * coarse + (w2 - 0.5) * 0.35 * fine) * water.waves;

    // Reflection of what stands above the water, broken up by the waves.
    const mirrored = scene.horizon - dv * 1.05 + (wave - 0.5) * (dv + 0.01) * 0.45;
    const shiftPx = Math.round((w2 - 0.5) * fine * dv * scale * 0.08);
    const rpx = Math.min(this.width - 1, Math.max(0, px + shiftPx));
    const mirroredRow =
      ((mirrored - camera.focusV) * camera.zoom + camera.focusV) * this.height - 0.5;
    this.shadeAbove(rpx, sx, Math.min(mirrored, scene.horizon - 0.0005), mirroredRow, false);
    const rr = this.r;
    const rg = this.g;
    const rb = this.b;

    const depth = clamp01(dv * 2.6);
    const wr = water.shallow[0] + (water.deep[0] - water.shallow[0]) * depth;
    const wg = water.shallow[1] + (water.deep[1] - water.shallow[1]) * depth;
    const wb = water.shallow[2] + (water.deep[2] - water.shallow[2]) * depth;
    const near = clamp01(dv * 3);
    const fresnel = (0.3 + 0.7 * (1 - near) * (1 - near)) * water.reflectivity;
    const shade = 0.9 + 0.2 * wave;
    this.r = (wr + (rr * 0.92 - wr) * fresnel) * shade;
    this.g = (wg + (rg * 0.92 - wg) * fresnel) * shade;
    this.b = (wb + (rb * 0.95 - wb) * fresnel) * shade;

    // The light's path on the water: a column of glitter widening toward the viewer.
    if (light.kind !== "none" && this.lightY < scene.horizon) {
      const dx = (sx + this.skyPan - this.lightX) / (0.012 + dv * 0.55);
      const column = 1 / (1 + dx * dx);
      const sparkle = smoothstep(
        0.52,
        0.8,
        w2 * 0.55 + w1 * 0.45 + (hash2(px, py, scene.seed) - 0.5) * 0.08,
      );
      const strength = column * (0.25 + 1.6 * sparkle) * water.glitter * light.glowStrength;
      this.r += light.glow[0] * strength + strength * 0.3;
      this.g += light.glow[1] * strength + strength * 0.3;
      this.b += light.glow[2] * strength + strength * 0.3;
    }
  }

  private shadeGrid(sx: number, v: number): void {
    const { scene, camera } = this;
    const scale = camera.pixelScale;
    const dv = v - scene.horizon;
    const distance = 1 / (dv + 0.012);
    const gx = (sx + camera.pan) * distance * 1.2;
    const gz = distance * 0.35 + this.time * 0.9;
    const fx = (distance * 1.2) / scale;
    const fz = (distance * distance * 0.35) / scale;
    const lineX =
      clamp01(1 - (0.5 - Math.abs(gx - Math.floor(gx) - 0.5)) / (fx * 1.3)) * clamp01(1.2 - fx * 3);
    const lineZ =
      clamp01(1 - (0.5 - Math.abs(gz - Math.floor(gz) - 0.5)) / (fz * 1.3)) * clamp01(1.2 - fz * 3);
    const line = Math.max(lineX, lineZ);
    const { grid, sky } = scene;
    const haze = 1 / (1 + (dv / 0.05) ** 2);
    const glow = 1.3 + 0.8 * haze;
    this.r =
      grid.base[0] + (sky.horizon[0] * 0.6 - grid.base[0]) * haze + grid.color[0] * line * glow;
    this.g =
      grid.base[1] + (sky.horizon[1] * 0.6 - grid.base[1]) * haze + grid.color[1] * line * glow;
    this.b =
      grid.base[2] + (sky.horizon[2] * 0.6 - grid.base[2]) * haze + grid.color[2] * line * glow;
  }
}

/** The ridge line of a layer at scene x, in scene v. */
function ridgeAt(layer: Layer, x: number): number {
  const { base, amplitude: amp, frequency: freq, seed } = layer;
  switch (layer.kind) {
    case "mountains": {
      // Broad massifs from smooth noise, sharp ridges from ridged noise, sharper where high.
      const broad = clamp01((fbm1(x * freq * 0.3 + 11.7, seed + 7, 3) - 0.22) / 0.56);
      const detail = clamp01((ridged1(x * freq + 17.3, seed, 7, 0.5) - 0.28) / 0.55);
      const s = clamp01(0.5 * broad + 0.55 * detail * (0.3 + 0.7 * broad) + 0.06);
      return base - amp * (0.15 + 0.85 * s ** 1.25);
    }
    case "hills": {
      const s = clamp01((fbm1(x * freq + 3.1, seed, 4, 0.45) - 0.25) / 0.5);
      return base - amp * (0.2 + 0.8 * s);
    }
    case "dunes": {
      const xw = x * freq + 0.6 * fbm1(x * freq * 0.5, seed + 1, 3);
      const cell = Math.floor(xw);
      const f = xw - cell;
      // Dunes: a long windward slope and a short steep lee face.
      let s = f < 0.72 ? f / 0.72 : (1 - f) / 0.28;
      s = s * s * (3 - 2 * s);
      const height = 0.55 + 0.45 * hash1(cell, seed);
      return base - amp * (0.3 + 0.7 * s * height);
    }
    case "city": {
      let top = amp * 0.06;
      for (let g = 0; g < 2; g++) {
        const width = (g === 0 ? 1 : 1.37) / freq;
        const gx = x / width + g * 0.31;
        const i = Math.floor(gx);
        const local = gx - i;
        const gs = seed + g * 101;
        const span = 0.55 + 0.4 * hash1(i, gs + 7);
        if (local < span) {
          const hh = hash1(i, gs);
          let h = amp * (0.25 + 0.75 * hh ** 1.6);
          // A few towers carry a spire.
          if (hh > 0.82 && Math.abs(local - span / 2) < 0.035) h += amp * 0.22;
          else if (hh > 0.6 && (local < 0.04 || local > span - 0.04)) h -= amp * 0.03;
          if (h > top) top = h;
        }
      }
      return base - top;
    }
    case "forest": {
      const ground = base - amp * 0.4 * fbm1(x * freq + 5.7, seed, 3);
      const spacing = 0.008 + 0.014 * layer.depth;
      const cell = Math.floor(x / spacing);
      let top = 0;
      for (let c = cell - 2; c <= cell + 2; c++) {
        // Clearings: stretches where the noise says no trees grow.
        if (noise1(c * 0.11, seed + 4) < 0.25) continue;
        const center = (c + 0.5 + (hash1(c, seed + 1) - 0.5) * 0.7) * spacing;
        const height = amp * (0.5 + 0.6 * hash1(c, seed + 2));
        const half = height * 0.26;
        const d = Math.abs(x - center);
        if (d >= half) continue;
        const t = 1 - d / half;
        // Tiers of branches: a triangle with notches.
        const h = height * (t - 0.08 * ((t * 4.5) % 1) * (t < 0.97 ? 1 : 0));
        if (h > top) top = h;
      }
      return ground - top;
    }
  }
}

/** A value in [0, 1) that names the building standing at scene x in a city layer. */
function buildingAt(layer: Layer, x: number): number {
  const { amplitude: amp, frequency: freq, seed } = layer;
  let top = 0;
  let id = 0.5;
  for (let g = 0; g < 2; g++) {
    const width = (g === 0 ? 1 : 1.37) / freq;
    const gx = x / width + g * 0.31;
    const i = Math.floor(gx);
    const gs = seed + g * 101;
    if (gx - i < 0.55 + 0.4 * hash1(i, gs + 7)) {
      const h = amp * (0.25 + 0.75 * hash1(i, gs) ** 1.6);
      if (h > top) {
        top = h;
        id = hash1(i, gs + 13);
      }
    }
  }
  return id;
}
