import { deflateSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { type Channels, crc32, decodePng, encodePng } from "../../src/render/png.ts";
import { readPng } from "./png-reader.ts";

function pattern(width: number, height: number, channels: number): Uint8Array {
  const pixels = new Uint8Array(width * height * channels);
  for (let i = 0; i < pixels.length; i++) pixels[i] = (i * 37 + Math.floor(i / 7) * 11) & 0xff;
  return pixels;
}

function chunk(type: string, data: Uint8Array): Buffer {
  const body = Buffer.concat([Buffer.from(type, "latin1"), data]);
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

function handMadePng(
  width: number,
  height: number,
  depth: number,
  colorType: number,
  rows: Uint8Array[],
  extra: Buffer[] = [],
): Uint8Array {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = depth;
  header[9] = colorType;
  const raw = Buffer.concat(rows.map((row) => Buffer.concat([Buffer.from([0]), row])));
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", header),
    ...extra,
    chunk("IDAT", deflateSync(raw)),
    chunk("IEND", new Uint8Array(0)),
  ]);
}

describe("png", () => {
  it.each([1, 2, 3, 4] as Channels[])("round-trips %i-channel pixels", async (channels) => {
    const width = 37;
    const height = 23;
    const pixels = pattern(width, height, channels);
    const png = await encodePng(pixels, width, height, channels);
    const decoded = await decodePng(png);
    expect([decoded.width, decoded.height]).toEqual([width, height]);
    for (let p = 0; p < width * height; p++) {
      const src = pixels.subarray(p * channels, p * channels + channels);
      const rgba = decoded.data.subarray(p * 4, p * 4 + 4);
      const expected =
        channels === 1
          ? [src[0], src[0], src[0], 255]
          : channels === 2
            ? [src[0], src[0], src[0], src[1]]
            : channels === 3
              ? [src[0], src[1], src[2], 255]
              : [...src];
      expect([...rgba]).toEqual(expected);
    }
  });

  it("writes PNGs another reader understands", async () => {
    const pixels = pattern(16, 9, 3);
    const facts = readPng(await encodePng(pixels, 16, 9, 3));
    expect([facts.width, facts.height, facts.bitDepth, facts.colorType]).toEqual([16, 9, 8, 2]);
    expect([...facts.rgb]).toEqual([...pixels]);
  });

  it("decodes palette, low-bit grey and 16-bit images", async () => {
    const palette = chunk("PLTE", Uint8Array.from([255, 0, 0, 0, 255, 0, 0, 0, 255]));
    const alpha = chunk("tRNS", Uint8Array.from([255, 128]));
    const indexed = await decodePng(
      handMadePng(3, 1, 8, 3, [Uint8Array.from([0, 1, 2])], [palette, alpha]),
    );
    expect([...indexed.data]).toEqual([255, 0, 0, 255, 0, 255, 0, 128, 0, 0, 255, 255]);

    // 2-bit grey: values 0, 1, 2, 3 in one byte.
    const grey = await decodePng(handMadePng(4, 1, 2, 0, [Uint8Array.from([0b00011011])]));
    expect([...grey.data].filter((_, i) => i % 4 === 0)).toEqual([0, 85, 170, 255]);

    const deep = await decodePng(
      handMadePng(1, 1, 16, 2, [Uint8Array.from([0x12, 0x34, 0xab, 0xcd, 0xff, 0x00])]),
    );
    expect([...deep.data]).toEqual([0x12, 0xab, 0xff, 255]);
  });

  it("rejects what is not a well-formed PNG", async () => {
    await expect(decodePng(Uint8Array.from([1, 2, 3]))).rejects.toThrow(/signature/);
    const good = await encodePng(pattern(4, 4, 3), 4, 4, 3);
    const corrupt = good.slice();
    corrupt[20] = (corrupt[20] ?? 0) ^ 0xff;
    await expect(decodePng(corrupt)).rejects.toThrow(/CRC/);
    await expect(decodePng(good.subarray(0, good.length - 12))).rejects.toThrow(/IEND/);
  });

  it("refuses impossible sizes", async () => {
    await expect(encodePng(new Uint8Array(3), 2, 2, 3)).rejects.toThrow(RangeError);
    await expect(encodePng(new Uint8Array(0), 0, 2, 3)).rejects.toThrow(RangeError);
  });
});
