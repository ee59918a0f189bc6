/**
 * Hashes, a seeded generator and value noise. Everything the renderer draws comes from these,
 * so the same prompt and seed give the same picture: no Math.random, no clock.
 */

/** FNV-1a over UTF-16 code units, then avalanched: a 32-bit unsigned hash of a string. */
export function hashString(text: string, seed = 0): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return avalanche(h);
}

/** Combines two 32-bit values into one well-mixed 32-bit unsigned value. */
export function mixHash(a: number, b: number): number {
  return avalanche(Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(b, 0xc2b2ae35) ^ (b >>> 16));
}

function avalanche(value: number): number {
  let h = value | 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  return (h ^ (h >>> 16)) >>> 0;
}

/** Integer lattice hash in [0, 1). Coordinates are truncated to 32-bit integers. */
export function hash2(x: number, y: number, seed: number): number {
  let h = Math.imul(x | 0, 0x27d4eb2d) ^ Math.imul(y | 0, 0x165667b1) ^ seed;
  h = Math.imul(h ^ (h >>> 15), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return ((h ^ (h >>> 16)) >>> 0) / 4294967296;
}

export function hash1(x: number, seed: number): number {
  return hash2(x, 0x3c6ef372, seed);
}

/** mulberry32: small, fast and good enough for picking composition parameters. */
export class Rng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  next(): number {
    this.state = (this.state + 0x6d2b79f5) | 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  range(min: number, max: number): number {
    return min + (max - min) * this.next();
  }

  int(min: number, maxInclusive: number): number {
    return min + Math.floor(this.next() * (maxInclusive - min + 1));
  }

  chance(probability: number): boolean {
    return this.next() < probability;
  }

  sign(): number {
    return this.next() < 0.5 ? -1 : 1;
  }

  pick<T>(items: readonly T[]): T {
    const item = items[Math.floor(this.next() * items.length)];
    if (item === undefined) throw new RangeError("cannot pick from an empty list");
    return item;
  }

  /** A fresh 32-bit seed for a sub-generator or a noise field. */
  seed(): number {
    return Math.floor(this.next() * 4294967296) >>> 0;
  }
}

function fade(t: number): number {
  return t * t * (3 - 2 * t);
}

/** Smooth 1-D value noise in [0, 1). */
export function noise1(x: number, seed: number): number {
  const xi = Math.floor(x);
  const t = fade(x - xi);
  const a = hash1(xi, seed);
  return a + (hash1(xi + 1, seed) - a) * t;
}

/** Smooth 2-D value noise in [0, 1). */
export function noise2(x: number, y: number, seed: number): number {
  const xi = Math.floor(x);
  const yi = Math.floor(y);
  const tx = fade(x - xi);
  const ty = fade(y - yi);
  const a = hash2(xi, yi, seed);
  const b = hash2(xi + 1, yi, seed);
  const c = hash2(xi, yi + 1, seed);
  const d = hash2(xi + 1, yi + 1, seed);
  const top = a + (b - a) * tx;
  const bottom = c + (d - c) * tx;
  return top + (bottom - top) * ty;
}

/** Fractal sum of 1-D noise, normalised to [0, 1). */
export function fbm1(x: number, seed: number, octaves: number, gain = 0.5): number {
  let sum = 0;
  let amplitude = 1;
  let total = 0;
  let frequency = 1;
  for (let o = 0; o < octaves; o++) {
    sum += noise1(x * frequency, seed + o * 1013) * amplitude;
    total += amplitude;
    amplitude *= gain;
    frequency *= 2.03;
  }
  return sum / total;
}

/** Ridged 1-D fractal noise in [0, 1): sharp crests, the silhouette of a mountain range. */
export function ridged1(x: number, seed: number, octaves: number, gain = 0.5): number {
  let sum = 0;
  let amplitude = 1;
  let total = 0;
  let frequency = 1;
  for (let o = 0; o < octaves; o++) {
    const n = 1 - Math.abs(noise1(x * frequency, seed + o * 7919) * 2 - 1);
    sum += n * n * amplitude;
    total += amplitude;
    amplitude *= gain;
    frequency *= 2.11;
  }
  return sum / total;
}

/** Fractal sum of 2-D noise, normalised to [0, 1). */
export function fbm2(x: number, y: number, seed: number, octaves: number, gain = 0.5): number {
  let sum = 0;
  let amplitude = 1;
  let total = 0;
  let frequency = 1;
  for (let o = 0; o < octaves; o++) {
    sum += noise2(x * frequency, y * frequency, seed + o * 4099) * amplitude;
    total += amplitude;
    amplitude *= gain;
    frequency *= 2.07;
  }
  return sum / total;
}
