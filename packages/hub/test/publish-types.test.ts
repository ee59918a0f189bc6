/**
 * `hub.publish` is typed by the message's `type` (PROTOCOL.md section 4): these lines are checked
 * by `npm run typecheck`, where each `@ts-expect-error` fails the check if its line compiles. The
 * same messages then go through the hub, whose run-time check refuses the wrong ones too.
 */
import type { PublishedMessage } from "@herald/protocol";
import { afterEach, expect, it } from "vitest";
import { createHub, type Hub } from "../src/hub.ts";
import { createMemoryStore } from "../src/memory-store.ts";

let hub: Hub | undefined;
afterEach(async () => {
  await hub?.close();
  hub = undefined;
});

const task = { id: "t1", kind: "audio", status: "pending", projectId: "p1", fileId: "f1" } as const;

it("takes well-formed messages of known and unknown types, with kinds of the app's own", async () => {
  hub = createHub({ store: createMemoryStore() });
  await hub.publish("project.p1", { type: "task", object: task });
  await hub.publish("file.f1", {
    type: "render_result",
    object: { taskId: "t1", fileId: "f1", url: "/files/f1.wav", contentType: "audio/wav" },
  });
  await hub.publish("file.f1", {
    type: "render_progress",
    object: { ...task, progress: 0.5, taskId: "t1" },
  });
  await hub.publish("project.p1", { type: "audio_waveform", data: { peaks: [0.1, 0.4] } });
  const fromJson: PublishedMessage = JSON.parse('{"type":"data","data":{"n":1}}');
  await hub.publish("project.p1", fromJson);
  const { events } = await hub.store.read(["project.p1", "file.f1"], 0);
  expect(events).toHaveLength(5);
});

it("refuses, at compile time and at run time, a known type whose object has the wrong shape", async () => {
  hub = createHub({ store: createMemoryStore() });
  const noContentType = { taskId: "t1", fileId: "f1", url: "/f" };
  const progressAsText = { taskId: "t1", fileId: "f1", progress: "50%" };
  const wrong = [
    // @ts-expect-error a task's status is one of TASK_STATUSES
    () => hub?.publish("project.p1", { type: "task", object: { ...task, status: "done" } }),
    // @ts-expect-error a render_result needs its contentType
    () => hub?.publish("file.f1", { type: "render_result", object: noContentType }),
    // @ts-expect-error progress is a number
    () => hub?.publish("file.f1", { type: "render_progress", object: progressAsText }),
    // @ts-expect-error every message has a type
    () => hub?.publish("project.p1", { data: { n: 1 } }),
    // @ts-expect-error an object is an object
    () => hub?.publish("project.p1", { type: "data", object: "text" }),
  ];
  for (const publish of wrong) {
    await expect(publish()).rejects.toMatchObject({ code: "invalid_message" });
  }
  expect((await hub.store.read(["project.p1", "file.f1"], 0)).events).toHaveLength(0);
});
