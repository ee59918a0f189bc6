import { describe, expect, it } from "vitest";
import { parseResolution, percent, timeLeft } from "./format.ts";

describe("format", () => {
  it("rounds progress to whole percents within 0 to 100", () => {
    expect(percent(0.416)).toBe(42);
    expect(percent(1.2)).toBe(100);
    expect(percent(-1)).toBe(0);
  });

  it("says the time left as a person would", () => {
    expect(timeLeft(undefined)).toBeUndefined();
    expect(timeLeft(400)).toBe("almost done");
    expect(timeLeft(11_016)).toBe("about 12 s left");
    expect(timeLeft(125_000)).toBe("about 2 min 5 s left");
    expect(timeLeft(120_000)).toBe("about 2 min left");
  });

  it("reads a resolution", () => {
    expect(parseResolution("854x480")).toEqual({ width: 854, height: 480 });
  });
});
