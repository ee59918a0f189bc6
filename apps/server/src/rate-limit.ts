/** A fixed-window counter per key (a client address): how many times in a window, at most. */

export interface RateLimiter {
  /** Counts one for `key`: 0 when allowed, else the seconds until it will be. */
  take(key: string): number;
}

/** Keys kept before the expired ones are swept out (each costs a few dozen bytes). */
const SWEEP_ABOVE = 10_000;

export function createRateLimiter(options: {
  limit: number;
  windowMs: number;
  now?: () => number;
}): RateLimiter {
  const windows = new Map<string, { start: number; count: number }>();
  const now = options.now ?? Date.now;
  return {
    take(key) {
      const time = now();
      if (windows.size > SWEEP_ABOVE) {
        for (const [other, window] of windows)
          if (time - window.start >= options.windowMs) windows.delete(other);
      }
      let window = windows.get(key);
      if (!window || time - window.start >= options.windowMs) {
        window = { start: time, count: 0 };
        windows.set(key, window);
      }
      if (window.count >= options.limit)
        return Math.max(1, Math.ceil((window.start + options.windowMs - time) / 1000));
      window.count++;
      return 0;
    },
  };
}
