import { describe, expect, it } from "vitest";
import { FRAME_CACHE_EVENTS, FrameCache } from "./frame-cache.ts";
import type { StoredEvent } from "./store.ts";

function event(epoch: string, seq: number, data: object): StoredEvent {
  return { id: `${epoch}-${seq}`, seq, channel: "file.f1", data: JSON.stringify(data), ts: 0 };
}

const progress = (taskId: string) => ({ type: "render_progress", object: { taskId } });

describe("FrameCache", () => {
  it("encodes an event once, and gives the same bytes to every caller", () => {
    const cache = new FrameCache();
    const first = event("e1", 7, { type: "task" });
    const frame = cache.frameOf(first);
    expect(frame.toString()).toBe(`id: e1-7\ndata: ${first.data}\n\n`);
    expect(cache.frameOf({ ...first })).toBe(frame);
  });

  it("encodes again an event of a new epoch whose seq an older event had", () => {
    const cache = new FrameCache();
    const before = event("e1", 3, { type: "task", n: 1 });
    const after = event("e2", 3, { type: "task", n: 2 });
    cache.frameOf(before);
    expect(cache.frameOf(after).toString()).toBe(`id: e2-3\ndata: ${after.data}\n\n`);
    expect(cache.conflationKeyOf(after)).toBeUndefined();
  });

  it("gives each event its own frame and key when seqs share a place in the ring", () => {
    const cache = new FrameCache();
    const older = event("e1", 5, progress("a"));
    const newer = event("e1", 5 + FRAME_CACHE_EVENTS, progress("b"));
    expect(cache.conflationKeyOf(older)).toBe("file.f1\na");
    expect(cache.conflationKeyOf(newer)).toBe("file.f1\nb");
    expect(cache.frameOf(older).toString()).toContain("id: e1-5\n");
    expect(cache.conflationKeyOf(older)).toBe("file.f1\na");
  });

  it("keys only render_progress events with a task id", () => {
    const cache = new FrameCache();
    expect(cache.conflationKeyOf(event("e1", 1, progress("t")))).toBe("file.f1\nt");
    expect(cache.conflationKeyOf(event("e1", 2, { type: "render_progress" }))).toBeUndefined();
    expect(cache.conflationKeyOf(event("e1", 3, { type: "render_result" }))).toBeUndefined();
  });
});
