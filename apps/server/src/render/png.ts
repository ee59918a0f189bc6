/**
 * PNG encode and decode on node:zlib. Filtering runs in row slices (the caller yields between
 * them) and compression runs on zlib's thread pool, so neither holds the event loop for long.
 */
import { promisify } from "node:util";
import zlib from "node:zlib";
import type { Slicer } from "./paint.ts";

const deflate = promisify(zlib.deflate);
const inflate = promisify(zlib.inflate);

const SIGNATURE = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);
/** Colour type by channel count: grey, grey + alpha, RGB, RGBA. */
const COLOR_TYPE = { 1: 0, 2: 4, 3: 2, 4: 6 } as const;
const MAX_SIDE = 16384;
const MAX_PIXELS = 64 * 1024 * 1024;

export type Channels = 1 | 2 | 3 | 4;

/** A slicer that never yields, for callers with nothing else to serve. */
export const NO_SLICING: Slicer = { due: () => false, yield: () => Promise.resolve() };

export interface EncodeOptions {
  slicer?: Slicer;
  /** Wraps the asynchronous compression (to race it against an abort, for one). */
  wrap?: <T>(work: Promise<T>) => Promise<T>;
  level?: number;
}

/** Encodes 8-bit pixels (row-major, `channels` bytes a pixel) as a PNG. */
export async function encodePng(
  pixels: Uint8Array,
  width: number,
  height: number,
  channels: Channels,
  options: EncodeOptions = {},
): Promise<Uint8Array> {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new RangeError(`bad PNG size ${width}x${height}`);
  }
  const stride = width * channels;
  if (pixels.length < stride * height)
    throw new RangeError("pixel buffer shorter than width * height * channels");
  const slicer = options.slicer ?? NO_SLICING;
  const filtered = new Uint8Array(height * (stride + 1));
  for (let y = 0; y < height; y++) {
    filterRow(pixels, y, stride, channels, filtered);
    if (slicer.due()) await slicer.yield();
  }
  const compressing = deflate(filtered, { level: options.level ?? 6, memLevel: 9 });
  const compressed = options.wrap ? await options.wrap(compressing) : await compressing;

  const header = new Uint8Array(13);
  const view = new DataView(header.buffer);
  view.setUint32(0, width);
  view.setUint32(4, height);
  header[8] = 8;
  header[9] = COLOR_TYPE[channels];
  const parts = [
    SIGNATURE,
    chunk("IHDR", header),
    chunk("IDAT", compressed),
    chunk("IEND", new Uint8Array(0)),
  ];
  const total = parts.reduce((sum, part) => sum + part.length, 0);
  const png = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    png.set(part, offset);
    offset += part.length;
  }
  return png;
}

/**
 * Writes row y, filtered with whichever of the five PNG filters gives the smallest sum of
 * absolute values (the usual heuristic: it predicts what deflate compresses best).
 */
function filterRow(
  pixels: Uint8Array,
  y: number,
  stride: number,
  bpp: number,
  out: Uint8Array,
): void {
  const row = y * stride;
  const prev = row - stride;
  const hasPrev = y > 0;
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let s4 = 0;
  for (let i = 0; i < stride; i++) {
    const x = pixels[row + i] ?? 0;
    const a = i >= bpp ? (pixels[row + i - bpp] ?? 0) : 0;
    const b = hasPrev ? (pixels[prev + i] ?? 0) : 0;
    const c = hasPrev && i >= bpp ? (pixels[prev + i - bpp] ?? 0) : 0;
    s0 += x < 128 ? x : 256 - x;
    s1 += signedAbs(x - a);
    s2 += signedAbs(x - b);
    s3 += signedAbs(x - ((a + b) >> 1));
    s4 += signedAbs(x - paeth(a, b, c));
  }
  let best = 0;
  let bestSum = s0;
  const candidates = [s1, s2, s3, s4];
  for (let f = 0; f < 4; f++) {
    const sum = candidates[f] ?? Number.POSITIVE_INFINITY;
    if (sum < bestSum) {
      bestSum = sum;
      best = f + 1;
    }
  }
  const o = y * (stride + 1);
  out[o] = best;
  for (let i = 0; i < stride; i++) {
    const x = pixels[row + i] ?? 0;
    const a = i >= bpp ? (pixels[row + i - bpp] ?? 0) : 0;
    const b = hasPrev ? (pixels[prev + i] ?? 0) : 0;
    const c = hasPrev && i >= bpp ? (pixels[prev + i - bpp] ?? 0) : 0;
    let value: number;
    switch (best) {
      case 0:
        value = x;
        break;
      case 1:
        value = x - a;
        break;
      case 2:
        value = x - b;
        break;
      case 3:
        value = x - ((a + b) >> 1);
        break;
      default:
        value = x - paeth(a, b, c);
    }
    out[o + 1 + i] = value & 0xff;
  }
}

function signedAbs(difference: number): number {
  const v = difference & 0xff;
  return v < 128 ? v : 256 - v;
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  if (pa <= pb && pa <= pc) return a;
  if (pb <= pc) return b;
  return c;
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

let crcTable: Uint32Array | undefined;

/** CRC-32 as PNG needs it; zlib's native one where this Node has it (20.15 and later). */
export function crc32(data: Uint8Array): number {
  if (typeof zlib.crc32 === "function") return zlib.crc32(data) >>> 0;
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (let i = 0; i < data.length; i++)
    crc = (crcTable[(crc ^ (data[i] ?? 0)) & 0xff] ?? 0) ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

export interface DecodedImage {
  width: number;
  height: number;
  /** RGBA, 8 bits a channel, row-major. */
  data: Uint8Array;
}

export class PngError extends Error {
  override readonly name = "PngError";
}

/** Decodes a non-interlaced PNG of any colour type and bit depth to RGBA8. */
export async function decodePng(
  bytes: Uint8Array,
  options: EncodeOptions = {},
): Promise<DecodedImage> {
  const slicer = options.slicer ?? NO_SLICING;
  if (bytes.length < 8 || SIGNATURE.some((value, i) => bytes[i] !== value)) {
    throw new PngError("not a PNG file (bad signature)");
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let offset = 8;
  let header:
    | { width: number; height: number; depth: number; colorType: number; interlace: number }
    | undefined;
  let palette: Uint8Array | undefined;
  let transparency: Uint8Array | undefined;
  const idat: Uint8Array[] = [];
  let ended = false;
  while (offset + 12 <= bytes.length) {
    const length = view.getUint32(offset);
    const type = String.fromCharCode(...bytes.subarray(offset + 4, offset + 8));
    const end = offset + 12 + length;
    if (end > bytes.length) throw new PngError(`truncated PNG: chunk ${type} runs past the end`);
    const data = bytes.subarray(offset + 8, offset + 8 + length);
    if (
      crc32(bytes.subarray(offset + 4, offset + 8 + length)) !== view.getUint32(offset + 8 + length)
    ) {
      throw new PngError(`corrupt PNG: bad CRC in chunk ${type}`);
    }
    if (type === "IHDR") {
      const h = new DataView(data.buffer, data.byteOffset, data.byteLength);
      if (length !== 13) throw new PngError("corrupt PNG: IHDR is not 13 bytes");
      header = {
        width: h.getUint32(0),
        height: h.getUint32(4),
        depth: data[8] ?? 0,
        colorType: data[9] ?? 0,
        interlace: data[12] ?? 0,
      };
    } else if (type === "PLTE") palette = data;
    else if (type === "tRNS") transparency = data;
    else if (type === "IDAT") idat.push(data);
    else if (type === "IEND") {
      ended = true;
      break;
    }
    offset = end;
  }
  if (!header) throw new PngError("corrupt PNG: no IHDR");
  if (!ended) throw new PngError("truncated PNG: no IEND");
  const { width, height, depth, colorType, interlace } = header;
  if (
    width < 1 ||
    height < 1 ||
    width > MAX_SIDE ||
    height > MAX_SIDE ||
    width * height > MAX_PIXELS
  ) {
    throw new PngError(`unsupported PNG size ${width}x${height}`);
  }
  if (interlace !== 0) throw new PngError("interlaced PNGs are not supported");
  const channels = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 }[colorType];
  const depths = colorType === 0 ? [1, 2, 4, 8, 16] : colorType === 3 ? [1, 2, 4, 8] : [8, 16];
  if (channels === undefined || !depths.includes(depth)) {
    throw new PngError(`unsupported PNG colour type ${colorType} at bit depth ${depth}`);
  }
  if (colorType === 3 && !palette) throw new PngError("corrupt PNG: palette image without PLTE");

  const inflating = inflate(concat(idat));
  const raw = options.wrap ? await options.wrap(inflating) : await inflating;
  const stride = Math.ceil((width * channels * depth) / 8);
  const bpp = Math.max(1, (channels * depth) >> 3);
  if (raw.length < height * (stride + 1)) throw new PngError("corrupt PNG: image data too short");

  const out = new Uint8Array(width * height * 4);
  const current = new Uint8Array(stride);
  const previous = new Uint8Array(stride);
  for (let y = 0; y < height; y++) {
    const start = y * (stride + 1);
    const filter = raw[start] ?? 0;
    for (let i = 0; i < stride; i++) {
      const x = raw[start + 1 + i] ?? 0;
      const a = i >= bpp ? (current[i - bpp] ?? 0) : 0;
      const b = previous[i] ?? 0;
      const c = i >= bpp ? (previous[i - bpp] ?? 0) : 0;
      let value: number;
      switch (filter) {
        case 0:
          value = x;
          break;
        case 1:
          value = x + a;
          break;
        case 2:
          value = x + b;
          break;
        case 3:
          value = x + ((a + b) >> 1);
          break;
        case 4:
          value = x + paeth(a, b, c);
          break;
        default:
          throw new PngError(`corrupt PNG: unknown filter ${filter} on row ${y}`);
      }
      current[i] = value & 0xff;
    }
    expandRow(current, out, y * width * 4, width, colorType, depth, palette, transparency);
    previous.set(current);
    if (slicer.due()) await slicer.yield();
  }
  return { width, height, data: out };
}

function expandRow(
  row: Uint8Array,
  out: Uint8Array,
  offset: number,
  width: number,
  colorType: number,
  depth: number,
  palette: Uint8Array | undefined,
  transparency: Uint8Array | undefined,
): void {
  const sample = (index: number): number => {
    if (depth === 8) return row[index] ?? 0;
    if (depth === 16) return row[index * 2] ?? 0; // the high byte is the 8-bit value
    const perByte = 8 / depth;
    const byte = row[Math.floor(index / perByte)] ?? 0;
    const shift = 8 - depth * ((index % perByte) + 1);
    return (byte >> shift) & ((1 << depth) - 1);
  };
  const scaleToByte = depth < 8 ? 255 / ((1 << depth) - 1) : 1;
  for (let x = 0; x < width; x++) {
    const o = offset + x * 4;
    switch (colorType) {
      case 0: {
        const g = Math.round(sample(x) * scaleToByte);
        out[o] = g;
        out[o + 1] = g;
        out[o + 2] = g;
        out[o + 3] = 255;
        break;
      }
      case 2:
        out[o] = sample(x * 3);
        out[o + 1] = sample(x * 3 + 1);
        out[o + 2] = sample(x * 3 + 2);
        out[o + 3] = 255;
        break;
      case 3: {
        const index = sample(x);
        out[o] = palette?.[index * 3] ?? 0;
        out[o + 1] = palette?.[index * 3 + 1] ?? 0;
        out[o + 2] = palette?.[index * 3 + 2] ?? 0;
        out[o + 3] = transparency?.[index] ?? 255;
        break;
      }
      case 4: {
        const g = sample(x * 2);
        out[o] = g;
        out[o + 1] = g;
        out[o + 2] = g;
        out[o + 3] = sample(x * 2 + 1);
        break;
      }
      default:
        out[o] = sample(x * 4);
        out[o + 1] = sample(x * 4 + 1);
        out[o + 2] = sample(x * 4 + 2);
        out[o + 3] = sample(x * 4 + 3);
    }
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  const total = parts.reduce((sum, part) => sum + part.length, 0);
  const out = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
