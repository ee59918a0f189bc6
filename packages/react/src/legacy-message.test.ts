import type { Message } from "@herald/protocol";
import { describe, expect, it } from "vitest";
import { legacyView } from "./legacy-message.ts";

const base = { channel: "file.f1", ts: 1 };

describe("legacyView", () => {
  it("mirrors object.progress, object.url and object.status at the top level", () => {
    const message: Message = {
      ...base,
      type: "file",
      object: { progress: 0.4, url: "/files/f1.png", status: "completed" },
    };
    expect(legacyView(message)).toEqual({
      ...message,
      progress: 0.4,
      url: "/files/f1.png",
      status: "completed",
    });
  });

  it("never replaces a field the message has, and leaves object and data as they are", () => {
    const object = { progress: 0.9, url: "/files/new.png", status: "completed" };
    const data = { message: "Finishing" };
    const message: Message = {
      ...base,
      type: "render_progress",
      object,
      data,
      progress: 0.5,
      url: "/files/old.png",
      status: "processing",
      projectId: "p_own",
      requestId: "r_own",
    };
    const view = legacyView(message, { projectId: "p_ctx", requestId: "r_ctx" });
    expect(view).toEqual(message);
    expect(view.object).toBe(object);
    expect(view.data).toBe(data);
  });

  it("fills projectId and requestId from the hook's context only where missing", () => {
    const message: Message = { ...base, type: "task" };
    expect(legacyView(message, { projectId: "p1", requestId: "r1" })).toMatchObject({
      projectId: "p1",
      requestId: "r1",
    });
    expect(legacyView(message, { projectId: "", requestId: undefined })).toEqual(message);
  });

  it("mirrors only values of the right type, and leaves the message itself unchanged", () => {
    const message: Message = {
      ...base,
      type: "render_progress",
      object: { progress: "half", url: 3, status: null },
    };
    const before = structuredClone(message);
    const view = legacyView(message, { projectId: "p1" });
    expect(view).not.toHaveProperty("progress");
    expect(view).not.toHaveProperty("url");
    expect(view).not.toHaveProperty("status");
    expect(message).toEqual(before);
    expect(view).not.toBe(message);
  });
});
