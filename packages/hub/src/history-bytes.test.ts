import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { HistoryBytes } from "./history-bytes.ts";

describe("HistoryBytes", () => {
  it("reads back any Unicode data it still holds, across chunks and laps of the ring, and refuses what it wrote over", () => {
    fc.assert(
      fc.property(
        fc.array(fc.string({ unit: "grapheme", maxLength: 40 }), { minLength: 1, maxLength: 200 }),
        fc.integer({ min: 1, max: 96 }),
        fc.integer({ min: 1, max: 32 }),
        fc.nat(),
        (data, maxBytes, chunkBytes, keptFrom) => {
          const bytes = new HistoryBytes(maxBytes, chunkBytes);
          const written = data.map((text) => {
            const position = bytes.written;
            const length = bytes.put(text);
            expect(length).toBe(Buffer.byteLength(text));
            expect(bytes.written).toBe(position + length);
            return { text, position, length };
          });
          for (const { text, position, length } of written) {
            // Held exactly while it and everything after it fit in the ring.
            const held = bytes.written - position <= bytes.capacity;
            expect(position >= bytes.floor).toBe(held);
            if (held) expect(bytes.get(position, length)).toBe(text);
            else expect(() => bytes.get(position, length)).toThrow(/written over/);
          }
          // Given back below the lowest position kept, the data from there on still reads back.
          const kept = written.slice(keptFrom % written.length);
          bytes.release((kept[0] as (typeof written)[number]).position);
          for (const { text, position, length } of kept) {
            if (position >= bytes.floor) expect(bytes.get(position, length)).toBe(text);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it("rounds its capacity up to whole chunks", () => {
    expect(new HistoryBytes(10, 4).capacity).toBe(12);
    expect(new HistoryBytes(10).capacity).toBe(10);
    expect(new HistoryBytes(3 * 1024 * 1024 + 1).capacity).toBe(4 * 1024 * 1024);
  });

  it("holds nothing of data longer than the whole ring", () => {
    const bytes = new HistoryBytes(8, 4);
    bytes.put("abc");
    const position = bytes.written;
    bytes.put("0123456789");
    expect(position).toBeLessThan(bytes.floor);
    // What was before it is gone too: the ring's bytes went by.
    expect(bytes.floor).toBeGreaterThan(0);
  });

  it("gives back the chunks below the lowest position kept, and keeps the others readable", () => {
    const bytes = new HistoryBytes(16, 4);
    for (const text of ["aaaa", "bbbb", "cccc"]) bytes.put(text);
    // Only "cccc", at 8, is kept: the chunks of 0 and 4 go.
    bytes.release(8);
    expect(bytes.get(8, 4)).toBe("cccc");
    expect(() => bytes.get(4, 4)).toThrow(/given back/);
    // A chunk given back is allocated again when the head comes round to it.
    for (const text of ["dddd", "eeee", "ffff"]) bytes.put(text);
    expect(bytes.get(16, 4)).toBe("eeee");
    expect(bytes.get(20, 4)).toBe("ffff");
    bytes.release(Number.POSITIVE_INFINITY);
    expect(() => bytes.get(20, 4)).toThrow(/given back/);
  });

  it("refuses a size that is not a whole number of bytes above 0", () => {
    for (const maxBytes of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => new HistoryBytes(maxBytes)).toThrow(/maxBytes must be a whole number/);
    }
  });
});
