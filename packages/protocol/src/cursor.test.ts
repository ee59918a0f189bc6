import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { formatCursor, newEpoch, parseCursor } from "./cursor.ts";

describe("cursors", () => {
  it("reads back what it formats", () => {
    expect(formatCursor({ epoch: "k3x9a0b1c2", seq: 17 })).toBe("k3x9a0b1c2-17");
    expect(parseCursor("k3x9a0b1c2-17")).toEqual({ epoch: "k3x9a0b1c2", seq: 17 });
    expect(parseCursor("e-0")).toEqual({ epoch: "e", seq: 0 });
    expect(parseCursor(`e-${Number.MAX_SAFE_INTEGER}`)).toEqual({
      epoch: "e",
      seq: Number.MAX_SAFE_INTEGER,
    });
  });

  it("round-trips any epoch and safe sequence number", () => {
    const epoch = fc.stringMatching(/^[A-Za-z0-9]{1,32}$/);
    const seq = fc.nat({ max: Number.MAX_SAFE_INTEGER });
    fc.assert(
      fc.property(epoch, seq, (e, s) => {
        expect(parseCursor(formatCursor({ epoch: e, seq: s }))).toEqual({ epoch: e, seq: s });
      }),
    );
  });

  it.each([
    ["empty", ""],
    ["no dash", "abc17"],
    ["no epoch", "-17"],
    ["no seq", "abc-"],
    ["leading zero", "abc-017"],
    ["double zero", "abc-00"],
    ["negative seq", "abc--1"],
    ["fraction", "abc-1.5"],
    ["exponent", "abc-1e3"],
    ["hex", "abc-0x10"],
    ["just above the safe integers", "abc-9007199254740992"],
    ["far beyond the safe integers", "abc-9999999999999999"],
    ["too many digits", "abc-12345678901234567"],
    ["epoch too long", `${"a".repeat(33)}-1`],
    ["too long overall", `${"a".repeat(60)}-1`],
    ["dash in the epoch", "ab-cd-1"],
    ["unicode epoch", "épo-1"],
    ["unicode digits", "abc-١٢"],
    ["LF at the end", "abc-1\n"],
    ["CR inside", "abc\r-1"],
    ["CRLF inside", "abc-1\r\n2"],
    ["NUL", "abc-1\u0000"],
    ["spaces", " abc-1"],
  ])("refuses a malformed id (%s)", (_why, id) => {
    expect(parseCursor(id)).toBeUndefined();
  });

  it("refuses null and undefined without throwing", () => {
    expect(parseCursor(null)).toBeUndefined();
    expect(parseCursor(undefined)).toBeUndefined();
  });

  it("never throws, and reads only ids written the way formatCursor writes them", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 80 }), (id) => {
        const cursor = parseCursor(id);
        if (cursor) expect(formatCursor(cursor)).toBe(id);
      }),
    );
  });
});

describe("newEpoch", () => {
  it("makes short alphanumeric epochs a cursor can carry", () => {
    for (let i = 0; i < 100; i++) {
      const epoch = newEpoch();
      expect(epoch).toMatch(/^[a-z0-9]{10}$/);
      expect(parseCursor(formatCursor({ epoch, seq: 1 }))).toEqual({ epoch, seq: 1 });
    }
  });

  it("makes a different epoch every time", () => {
    const epochs = new Set(Array.from({ length: 10_000 }, () => newEpoch()));
    expect(epochs.size).toBe(10_000);
  });
});
