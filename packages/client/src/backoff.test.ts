import { describe, expect, it } from "vitest";
import { backoffCap, backoffDelay, DEFAULT_BACKOFF, resolveBackoff } from "./backoff.ts";

describe("backoff", () => {
  it("doubles the window from 1 s and caps it at 30 s by default", () => {
    const caps = [1, 2, 3, 4, 5, 6, 7, 50].map((attempt) => backoffCap(attempt, DEFAULT_BACKOFF));
    expect(caps).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
  });

  it("stays finite for huge attempt counts", () => {
    expect(backoffCap(10_000, DEFAULT_BACKOFF)).toBe(30_000);
  });

  it("draws the delay in [0, cap): random()=0 gives 0, random()≈1 gives just under the cap", () => {
    expect(backoffDelay(1, DEFAULT_BACKOFF, () => 0)).toBe(0);
    expect(backoffDelay(1, DEFAULT_BACKOFF, () => 0.999)).toBe(999);
    expect(backoffDelay(9, DEFAULT_BACKOFF, () => 0.999)).toBe(29_970);
    expect(backoffDelay(9, DEFAULT_BACKOFF, () => 0.9999999)).toBeLessThan(30_000);
  });

  it("never goes below a minimum such as Retry-After", () => {
    expect(backoffDelay(1, DEFAULT_BACKOFF, () => 0, 5000)).toBe(5000);
    expect(backoffDelay(6, DEFAULT_BACKOFF, () => 0.5, 5000)).toBe(15_000);
  });

  it("refuses settings that cannot work", () => {
    expect(() => resolveBackoff({ initialMs: -1 })).toThrow(/initialMs/);
    expect(() => resolveBackoff({ maxMs: Number.NaN })).toThrow(/maxMs/);
    expect(() => resolveBackoff({ maxAttempts: 0 })).toThrow(/maxAttempts/);
    expect(resolveBackoff({ initialMs: 20 })).toEqual({ ...DEFAULT_BACKOFF, initialMs: 20 });
  });
});
