/**
 * Reads what a test needs from an MP4 (ISO BMFF): the video track's size, sample count and
 * duration. Boxes per ISO/IEC 14496-12; only the few on the path to the video track are read.
 */

export interface Mp4Facts {
  width: number;
  height: number;
  frameCount: number;
  durationS: number;
  frameRate: number;
  brand: string;
}

interface Box {
  type: string;
  start: number;
  end: number;
  body: number;
}

function* boxes(bytes: Buffer, start: number, end: number): Generator<Box> {
  let offset = start;
  while (offset + 8 <= end) {
    let size = bytes.readUInt32BE(offset);
    const type = bytes.toString("latin1", offset + 4, offset + 8);
    let body = offset + 8;
    if (size === 1) {
      size = Number(bytes.readBigUInt64BE(offset + 8));
      body += 8;
    } else if (size === 0) {
      size = end - offset;
    }
    if (size < 8 || offset + size > end)
      throw new Error(`box ${type} at ${offset} overruns its parent`);
    yield { type, start: offset, end: offset + size, body };
    offset += size;
  }
}

function child(bytes: Buffer, parent: Box, type: string): Box {
  for (const box of boxes(bytes, parent.body, parent.end)) if (box.type === type) return box;
  throw new Error(`no ${type} box in ${parent.type}`);
}

export function readMp4(bytes: Buffer): Mp4Facts {
  const top = [...boxes(bytes, 0, bytes.length)];
  const ftyp = top.find((box) => box.type === "ftyp");
  const moov = top.find((box) => box.type === "moov");
  if (!ftyp || !moov)
    throw new Error(`not an MP4: top-level boxes are ${top.map((b) => b.type).join(", ")}`);
  for (const trak of boxes(bytes, moov.body, moov.end)) {
    if (trak.type !== "trak") continue;
    const mdia = child(bytes, trak, "mdia");
    const hdlr = child(bytes, mdia, "hdlr");
    if (bytes.toString("latin1", hdlr.body + 8, hdlr.body + 12) !== "vide") continue;
    const tkhd = child(bytes, trak, "tkhd");
    const tkhdVersion = bytes.readUInt8(tkhd.body);
    const sizeAt = tkhd.body + (tkhdVersion === 1 ? 88 : 76);
    const width = bytes.readUInt32BE(sizeAt) / 65536;
    const height = bytes.readUInt32BE(sizeAt + 4) / 65536;
    const mdhd = child(bytes, mdia, "mdhd");
    const mdhdVersion = bytes.readUInt8(mdhd.body);
    const timescale = bytes.readUInt32BE(mdhd.body + (mdhdVersion === 1 ? 20 : 12));
    const duration =
      mdhdVersion === 1
        ? Number(bytes.readBigUInt64BE(mdhd.body + 24))
        : bytes.readUInt32BE(mdhd.body + 16);
    const stbl = child(bytes, child(bytes, mdia, "minf"), "stbl");
    const stsz = child(bytes, stbl, "stsz");
    const frameCount = bytes.readUInt32BE(stsz.body + 8);
    const durationS = duration / timescale;
    return {
      width,
      height,
      frameCount,
      durationS,
      frameRate: frameCount / durationS,
      brand: bytes.toString("latin1", ftyp.body, ftyp.body + 4),
    };
  }
  throw new Error("the MP4 has no video track");
}
