/**
 * A small ISO-BMFF (MP4) box reader for the tests: independent of the renderer's own MP4 code,
 * so a bug there cannot hide itself.
 */

export interface Mp4Box {
  type: string;
  /** Offset of the box header in the file. */
  start: number;
  size: number;
  /** The payload after the header. */
  body: Uint8Array;
  bodyStart: number;
  children: Mp4Box[];
}

const CONTAINERS = new Set([
  "moov",
  "trak",
  "mdia",
  "minf",
  "stbl",
  "dinf",
  "edts",
  "mvex",
  "udta",
]);

export function parseBoxes(bytes: Uint8Array, from = 0, to = bytes.length): Mp4Box[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const boxes: Mp4Box[] = [];
  let offset = from;
  while (offset + 8 <= to) {
    let size = view.getUint32(offset);
    const type = String.fromCharCode(...bytes.subarray(offset + 4, offset + 8));
    let header = 8;
    if (size === 1) {
      size = Number(view.getBigUint64(offset + 8));
      header = 16;
    } else if (size === 0) {
      size = to - offset;
    }
    if (size < header || offset + size > to)
      throw new Error(`bad box ${type} at ${offset} (size ${size})`);
    const bodyStart = offset + header;
    const body = bytes.subarray(bodyStart, offset + size);
    boxes.push({
      type,
      start: offset,
      size,
      body,
      bodyStart,
      children: CONTAINERS.has(type) ? parseBoxes(bytes, bodyStart, offset + size) : [],
    });
    offset += size;
  }
  if (offset !== to) throw new Error(`boxes end at ${offset}, expected ${to}`);
  return boxes;
}

/** The first box along a path of types, e.g. find(boxes, "moov", "trak", "tkhd"). */
export function find(boxes: Mp4Box[], ...path: string[]): Mp4Box {
  let level = boxes;
  let found: Mp4Box | undefined;
  for (const type of path) {
    found = level.find((box) => box.type === type);
    if (!found) throw new Error(`no ${type} box (path ${path.join("/")})`);
    level = found.children;
  }
  if (!found) throw new Error("empty path");
  return found;
}

export function view(box: Mp4Box): DataView {
  return new DataView(box.body.buffer, box.body.byteOffset, box.body.byteLength);
}

export interface VideoFacts {
  majorBrand: string;
  topLevel: string[];
  timescale: number;
  durationS: number;
  width: number;
  height: number;
  codec: string;
  codedWidth: number;
  codedHeight: number;
  sampleCount: number;
  sampleSizes: number[];
  frameDeltas: number[];
  mediaTimescale: number;
  mediaDurationS: number;
  chunkOffsets: number[];
  samplesPerChunk: number[];
}

/** Reads what the tests check from an MP4 with one video track. */
export function videoFacts(bytes: Uint8Array): VideoFacts {
  const boxes = parseBoxes(bytes);
  const ftyp = find(boxes, "ftyp");
  const mvhd = view(find(boxes, "moov", "mvhd"));
  const mvhdV1 = mvhd.getUint8(0) === 1;
  const timescale = mvhd.getUint32(mvhdV1 ? 20 : 12);
  const duration = mvhdV1 ? Number(mvhd.getBigUint64(24)) : mvhd.getUint32(16);

  const tkhdBox = find(boxes, "moov", "trak", "tkhd");
  const tkhd = view(tkhdBox);
  // Width and height are the last 8 bytes, 16.16 fixed point.
  const width = tkhd.getUint32(tkhdBox.body.length - 8) / 65536;
  const height = tkhd.getUint32(tkhdBox.body.length - 4) / 65536;

  const mdhd = view(find(boxes, "moov", "trak", "mdia", "mdhd"));
  const mdhdV1 = mdhd.getUint8(0) === 1;
  const mediaTimescale = mdhd.getUint32(mdhdV1 ? 20 : 12);
  const mediaDuration = mdhdV1 ? Number(mdhd.getBigUint64(24)) : mdhd.getUint32(16);

  const stbl = ["moov", "trak", "mdia", "minf", "stbl"];
  const stsdBox = find(boxes, ...stbl, "stsd");
  const stsd = view(stsdBox);
  // stsd: version/flags, entry count, then the first sample entry (size, format, ...).
  const codec = String.fromCharCode(...stsdBox.body.subarray(12, 16));
  // Visual sample entry: 6 reserved + 2 index + 16 predefined, then width and height.
  const codedWidth = stsd.getUint16(8 + 8 + 24);
  const codedHeight = stsd.getUint16(8 + 8 + 26);

  const stsz = view(find(boxes, ...stbl, "stsz"));
  const uniformSize = stsz.getUint32(4);
  const sampleCount = stsz.getUint32(8);
  const sampleSizes: number[] = [];
  for (let i = 0; i < sampleCount; i++) sampleSizes.push(uniformSize || stsz.getUint32(12 + i * 4));

  const stts = view(find(boxes, ...stbl, "stts"));
  const frameDeltas: number[] = [];
  const entries = stts.getUint32(4);
  for (let i = 0; i < entries; i++) {
    const count = stts.getUint32(8 + i * 8);
    const delta = stts.getUint32(12 + i * 8);
    for (let k = 0; k < count; k++) frameDeltas.push(delta);
  }

  const stco = view(find(boxes, ...stbl, "stco"));
  const chunkOffsets: number[] = [];
  for (let i = 0; i < stco.getUint32(4); i++) chunkOffsets.push(stco.getUint32(8 + i * 4));

  const stsc = view(find(boxes, ...stbl, "stsc"));
  const samplesPerChunk: number[] = [];
  const stscEntries = stsc.getUint32(4);
  for (let i = 0; i < stscEntries; i++) {
    const firstChunk = stsc.getUint32(8 + i * 12);
    const perChunk = stsc.getUint32(12 + i * 12);
    const nextFirst =
      i + 1 < stscEntries ? stsc.getUint32(8 + (i + 1) * 12) : chunkOffsets.length + 1;
    for (let c = firstChunk; c < nextFirst; c++) samplesPerChunk.push(perChunk);
  }

  return {
    majorBrand: String.fromCharCode(...ftyp.body.subarray(0, 4)),
    topLevel: boxes.map((box) => box.type),
    timescale,
    durationS: duration / timescale,
    width,
    height,
    codec,
    codedWidth,
    codedHeight,
    sampleCount,
    sampleSizes,
    frameDeltas,
    mediaTimescale,
    mediaDurationS: mediaDuration / mediaTimescale,
    chunkOffsets,
    samplesPerChunk,
  };
}
