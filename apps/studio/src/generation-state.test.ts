import { describe, expect, it } from "vitest";
import type { FileRecord } from "./api-types.ts";
import {
  type ChannelMessage,
  emptyGenerations,
  type GenerationsState,
  generationsReducer,
  laterStatus,
  newestFirst,
} from "./generation-state.ts";

function record(overrides: Partial<FileRecord> = {}): FileRecord {
  return {
    id: "f1",
    type: "video",
    status: "in_progress",
    progress: 0.4,
    width: 854,
    height: 480,
    prompt: "a lantern",
    settings: { resolution: "854x480", seed: 1 },
    projectId: "p1",
    taskId: "t1",
    createdAt: "2026-11-25T12:00:00.000Z",
    updatedAt: "2026-11-25T12:00:01.000Z",
    ...overrides,
  };
}

const progress = (value: number, extra: Record<string, unknown> = {}): ChannelMessage => ({
  type: "render_progress",
  object: { taskId: "t1", fileId: "f1", progress: value, ...extra },
});

const task = (status: string, extra: Record<string, unknown> = {}): ChannelMessage => ({
  type: "task",
  object: { id: "t1", kind: "video", status, projectId: "p1", fileId: "f1", ...extra },
});

function run(state: GenerationsState, ...messages: ChannelMessage[]): GenerationsState {
  return messages.reduce(
    (next, message) => generationsReducer(next, { type: "message", message }),
    state,
  );
}

const listed = generationsReducer(emptyGenerations, { type: "records", records: [record()] });

describe("generationsReducer", () => {
  it("draws a file read mid-render from its stored progress, then rises with the events", () => {
    expect(listed.byId.f1?.progress).toBe(0.4);
    const next = run(
      listed,
      progress(0.5, { stage: "rendering", message: "Frame 30 of 72", etaMs: 900 }),
    );
    expect(next.byId.f1).toMatchObject({
      progress: 0.5,
      stage: "rendering",
      message: "Frame 30 of 72",
      etaMs: 900,
    });
  });

  it("never moves the bar back: older events replayed after a newer read change nothing", () => {
    const next = run(listed, progress(0), progress(0.2), progress(0.39));
    expect(next).toBe(listed);
    const older = generationsReducer(listed, {
      type: "records",
      records: [record({ progress: 0.1 })],
    });
    expect(older.byId.f1?.progress).toBe(0.4);
  });

  it("keeps an end final: a late in_progress, from an event or a read, does not revive it", () => {
    const ended = run(listed, task("cancelled"));
    expect(ended.byId.f1?.status).toBe("cancelled");
    expect(run(ended, task("in_progress"), progress(0.9)).byId.f1).toMatchObject({
      status: "cancelled",
      progress: 0.4,
    });
    const read = generationsReducer(ended, { type: "records", records: [record()] });
    expect(read.byId.f1?.status).toBe("cancelled");
  });

  it("shows the result as soon as render_result brings its url, then completes", () => {
    const withResult = run(listed, {
      type: "render_result",
      object: { taskId: "t1", fileId: "f1", url: "/files/f1.mp4", contentType: "video/mp4" },
    });
    expect(withResult.byId.f1).toMatchObject({
      url: "/files/f1.mp4",
      status: "in_progress",
      progress: 1,
    });
    const done = run(withResult, {
      type: "file",
      object: {
        id: "f1",
        type: "video",
        status: "completed",
        projectId: "p1",
        progress: 1,
        durationMs: 3000,
      },
    });
    expect(done.byId.f1).toMatchObject({
      status: "completed",
      durationMs: 3000,
      url: "/files/f1.mp4",
    });
  });

  it("takes the error of a failed task", () => {
    const failed = run(listed, task("error", { error: "Render failed: out of paint" }));
    expect(failed.byId.f1).toMatchObject({ status: "error", error: "Render failed: out of paint" });
  });

  it("ignores events about files it does not hold, and keeps deleted files out", () => {
    expect(run(listed, { ...progress(0.9), object: { fileId: "other", progress: 0.9 } })).toBe(
      listed,
    );
    const removed = generationsReducer(listed, { type: "removed", id: "f1" });
    expect(removed.byId.f1).toBeUndefined();
    const lateRead = generationsReducer(removed, { type: "records", records: [record()] });
    expect(lateRead.byId.f1).toBeUndefined();
  });

  it("lists files newest first, as the server does", () => {
    const state = generationsReducer(emptyGenerations, {
      type: "records",
      records: [
        record({ id: "a", createdAt: "2026-11-25T12:00:00.000Z" }),
        record({ id: "c", createdAt: "2026-11-25T12:00:02.000Z" }),
        record({ id: "b", createdAt: "2026-11-25T12:00:02.000Z" }),
      ],
    });
    expect(newestFirst(state).map((item) => item.id)).toEqual(["c", "b", "a"]);
  });
});

describe("laterStatus", () => {
  it("only moves forward", () => {
    expect(laterStatus("pending", "in_progress")).toBe("in_progress");
    expect(laterStatus("in_progress", "pending")).toBe("in_progress");
    expect(laterStatus("in_progress", "completed")).toBe("completed");
    expect(laterStatus("completed", "error")).toBe("completed");
  });
});
