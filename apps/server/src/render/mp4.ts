/**
 * Tidies the MP4 the muxer writes:
 * - its mvhd/tkhd/mdhd carry the wall-clock creation time, which would make two renders of the
 *   same request differ; they are set to 0 (the format's "unknown"), so equal input gives equal bytes;
 * - its moov comes after mdat; moving moov to the front ("fast start") lets a browser start
 *   playing before the whole file has arrived. Chunk offsets (stco/co64) are shifted to match.
 */

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

interface Box {
  type: string;
  start: number;
  headerSize: number;
  size: number;
}

function readBoxes(bytes: Uint8Array, from: number, to: number): Box[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const boxes: Box[] = [];
  let offset = from;
  while (offset + 8 <= to) {
    let size = view.getUint32(offset);
    const type = String.fromCharCode(...bytes.subarray(offset + 4, offset + 8));
    let headerSize = 8;
    if (size === 1) {
      size = Number(view.getBigUint64(offset + 8));
      headerSize = 16;
    } else if (size === 0) {
      size = to - offset;
    }
    if (size < headerSize || offset + size > to)
      throw new Error(`malformed MP4: box ${type} at ${offset}`);
    boxes.push({ type, start: offset, headerSize, size });
    offset += size;
  }
  return boxes;
}

export function finalizeMp4(input: Uint8Array): Uint8Array {
  const top = readBoxes(input, 0, input.length);
  const ftyp = top.find((box) => box.type === "ftyp");
  const moov = top.find((box) => box.type === "moov");
  const mdat = top.find((box) => box.type === "mdat");
  if (!ftyp || !moov || !mdat) throw new Error("malformed MP4: ftyp, moov or mdat missing");

  const moovBytes = input.slice(moov.start, moov.start + moov.size);
  const newMdatStart = ftyp.size + moov.size;
  const delta = newMdatStart - mdat.start;
  patch(moovBytes, 0, moovBytes.length, delta);

  const out = new Uint8Array(ftyp.size + moov.size + mdat.size);
  out.set(input.subarray(ftyp.start, ftyp.start + ftyp.size), 0);
  out.set(moovBytes, ftyp.size);
  out.set(input.subarray(mdat.start, mdat.start + mdat.size), newMdatStart);
  return out;
}

function patch(bytes: Uint8Array, from: number, to: number, delta: number): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (const box of readBoxes(bytes, from, to)) {
    const body = box.start + box.headerSize;
    if (CONTAINERS.has(box.type)) {
      patch(bytes, body, box.start + box.size, delta);
    } else if (box.type === "mvhd" || box.type === "tkhd" || box.type === "mdhd") {
      // version/flags, then creation and modification time (32- or 64-bit by version).
      const version = bytes[body] ?? 0;
      const width = version === 1 ? 8 : 4;
      bytes.fill(0, body + 4, body + 4 + width * 2);
    } else if (box.type === "stco") {
      const count = view.getUint32(body + 4);
      for (let i = 0; i < count; i++) {
        const at = body + 8 + i * 4;
        view.setUint32(at, view.getUint32(at) + delta);
      }
    } else if (box.type === "co64") {
      const count = view.getUint32(body + 4);
      for (let i = 0; i < count; i++) {
        const at = body + 8 + i * 8;
        view.setBigUint64(at, view.getBigUint64(at) + BigInt(delta));
      }
    }
  }
}
