// @vitest-environment happy-dom
import { act, cleanup, renderHook } from "@testing-library/react";
import { useState } from "react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createHarness, LINGER_MS, openChannels, settle } from "../test/support.tsx";
import {
  type ChatSSEOptions,
  useChatImageSSE,
  useChatImageWebSocket,
  useChatVideoSSE,
} from "./chat-hooks.ts";

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  cleanup();
  vi.useRealTimers();
});

/** A chat message as the AI SDK's useChat holds it. */
interface ChatMessage {
  id: string;
  role: "user" | "assistant";
  content: string;
  parts: { type: "text"; text: string }[];
}

const say = (id: string, role: ChatMessage["role"], text: string): ChatMessage => ({
  id,
  role,
  content: text,
  parts: [{ type: "text", text }],
});
const imageArtifact = (projectId: string, status = "pending") =>
  `\`\`\`json\n${JSON.stringify({ kind: "image", title: "a fox", status, projectId, requestId: "r1" }, null, 2)}\n\`\`\``;
const videoArtifact = (projectId: string, fileId: string) =>
  JSON.stringify({ kind: "video", status: "pending", projectId, fileId });

/** The artifact JSON of a message's first part (fenced or plain). */
function artifactOf(message: ChatMessage | undefined): Record<string, unknown> {
  const text = message?.parts[0]?.text ?? "";
  const fence = /```json\s*(\{[\s\S]*?\})\s*```/.exec(text);
  return JSON.parse(fence?.[1] ?? text) as Record<string, unknown>;
}

type ChatHook = typeof useChatImageSSE;

/** A chat page: its messages in React state, the hook fed as components/chat.tsx feeds it. */
function renderChat(
  initial: ChatMessage[],
  options: {
    hook?: ChatHook;
    strict?: boolean;
    onMessageUpdated?: ChatSSEOptions<ChatMessage>["onMessageUpdated"];
  } = {},
) {
  const h = createHarness({ strict: options.strict ?? false });
  const use = options.hook ?? useChatImageSSE;
  const view = renderHook(
    ({ enabled }: { enabled: boolean }) => {
      const [messages, setMessages] = useState(initial);
      const result = use({
        chatId: "chat_1",
        messages,
        setMessages,
        enabled,
        onMessageUpdated: options.onMessageUpdated,
      });
      return { messages, setMessages, ...result };
    },
    { wrapper: h.wrapper, initialProps: { enabled: true } },
  );
  return { h, view };
}

const imageFile = (channel: string, id: string, extra: object = {}) => ({
  type: "file",
  channel,
  object: { id, type: "image", status: "completed", url: `/files/${id}.png`, ...extra },
  projectId: channel.slice("project.".length),
});

describe("useChatImageSSE", () => {
  it("follows the project of every image artifact in the assistant's messages", async () => {
    const { h, view } = renderChat([
      say("u1", "user", "draw a fox"),
      say("a1", "assistant", imageArtifact("p1")),
      say("a2", "assistant", `{"kind":"image","status":"pending","projectId":"p2"}`),
      say("a3", "assistant", "Just text."),
    ]);
    await settle();
    expect(openChannels(h.fakes)).toEqual(["project.p1", "project.p2"]);
    expect(view.result.current.connectedProjects).toEqual(["p1", "p2"]);
  });

  it("rewrites the pending artifact as completed when its image file arrives, and saves that message once", async () => {
    const saved: [ChatMessage, string][] = [];
    const before = say("a0", "assistant", imageArtifact("p0"));
    const { h, view } = renderChat([before, say("a1", "assistant", imageArtifact("p1"))], {
      onMessageUpdated: (message, chatId) => {
        saved.push([message, chatId]);
      },
    });
    await settle();
    vi.setSystemTime(5000);
    act(() => {
      h.fakes.last().emit("e1-1", {
        type: "render_progress",
        channel: "project.p1",
        object: { progress: 0.5 },
      });
      h.fakes
        .last()
        .emit("e1-2", imageFile("project.p1", "f1", { type: "video", url: "/files/f1.mp4" }));
    });
    await settle();
    expect(saved).toEqual([]);
    expect(artifactOf(view.result.current.messages[1]).status).toBe("pending");

    act(() => {
      h.fakes.last().emit("e1-3", { ...imageFile("project.p1", "f1"), requestId: "r_new" });
    });
    await settle();
    const [kept, rewritten] = view.result.current.messages;
    expect(kept).toBe(before);
    expect(artifactOf(rewritten)).toEqual({
      kind: "image",
      title: "a fox",
      status: "completed",
      imageUrl: "/files/f1.png",
      projectId: "p1",
      requestId: "r_new",
      timestamp: 5000,
      message: "Image generation completed!",
    });
    expect(saved).toEqual([[rewritten, "chat_1"]]);

    // The same file again (a replay): nothing to rewrite, nothing saved again.
    act(() => h.fakes.last().emit("e1-4", imageFile("project.p1", "f1")));
    await settle();
    expect(view.result.current.messages[1]).toBe(rewritten);
    expect(saved).toHaveLength(1);
  });

  it("under StrictMode opens one stream, rewrites once and saves once", async () => {
    const onMessageUpdated = vi.fn();
    const { h, view } = renderChat([say("a1", "assistant", imageArtifact("p1"))], {
      strict: true,
      onMessageUpdated,
    });
    await settle();
    expect(h.fakes.instances).toHaveLength(1);
    act(() => h.fakes.last().emit("e1-1", imageFile("project.p1", "f1")));
    await settle();
    expect(artifactOf(view.result.current.messages[0])).toMatchObject({
      status: "completed",
      imageUrl: "/files/f1.png",
    });
    expect(onMessageUpdated).toHaveBeenCalledTimes(1);
  });

  it("reports a save that fails, and keeps the rewritten message", async () => {
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    try {
      const { h, view } = renderChat([say("a1", "assistant", imageArtifact("p1"))], {
        onMessageUpdated: () => Promise.reject(new Error("save-message answered 500")),
      });
      await settle();
      act(() => h.fakes.last().emit("e1-1", imageFile("project.p1", "f1")));
      await settle();
      expect(artifactOf(view.result.current.messages[0]).status).toBe("completed");
      expect(errors).toHaveBeenCalledTimes(1);
      expect(errors.mock.calls[0]?.[0]).toMatchObject({
        code: "callback_failed",
        message: expect.stringContaining("save-message answered 500"),
      });
    } finally {
      errors.mockRestore();
    }
  });

  it("unsubscribes a project once its artifact leaves the messages, and subscribes new ones", async () => {
    const { h, view } = renderChat([
      say("a1", "assistant", imageArtifact("p1")),
      say("a2", "assistant", imageArtifact("p2")),
    ]);
    await settle();
    act(() =>
      view.result.current.setMessages((messages) => [
        messages[1] as ChatMessage,
        say("a3", "assistant", imageArtifact("p3")),
      ]),
    );
    await settle();
    expect(openChannels(h.fakes)).toEqual(["project.p2", "project.p3"]);
    expect(view.result.current.connectedProjects).toEqual(["p2", "p3"]);
    expect(h.fakes.instances).toHaveLength(2);
  });

  it("connectToProject and disconnectFromProject add and remove a project by hand", async () => {
    const { h, view } = renderChat([say("a1", "assistant", imageArtifact("p1"))]);
    await settle();
    act(() => view.result.current.connectToProject("p9"));
    await settle();
    expect(openChannels(h.fakes)).toEqual(["project.p1", "project.p9"]);
    act(() => view.result.current.disconnectFromProject("p1"));
    await settle();
    expect(openChannels(h.fakes)).toEqual(["project.p9"]);
    expect(view.result.current.connectedProjects).toEqual(["p9"]);
    // The artifact left and came back: followed again.
    act(() => view.result.current.setMessages(() => []));
    act(() => view.result.current.setMessages(() => [say("a1", "assistant", imageArtifact("p1"))]));
    await settle();
    expect(view.result.current.connectedProjects).toEqual(["p1", "p9"]);
  });

  it("holds no subscription while disabled, nor after unmount", async () => {
    const { h, view } = renderChat([say("a1", "assistant", imageArtifact("p1"))]);
    await settle();
    expect(openChannels(h.fakes)).toEqual(["project.p1"]);
    view.rerender({ enabled: false });
    await settle();
    await vi.advanceTimersByTimeAsync(LINGER_MS);
    expect(h.fakes.last().closed).toBe(true);
    expect(view.result.current.connectedProjects).toEqual([]);
    view.rerender({ enabled: true });
    await settle();
    const source = h.fakes.last();
    expect(openChannels(h.fakes)).toEqual(["project.p1"]);
    view.unmount();
    await settle();
    await vi.advanceTimersByTimeAsync(LINGER_MS);
    expect(source.closed).toBe(true);
  });
});

describe("useChatVideoSSE", () => {
  it("follows the project and the file of each video artifact and writes videoUrl from either", async () => {
    const saved = vi.fn();
    const { h, view } = renderChat(
      [
        say("a1", "assistant", videoArtifact("p1", "f1")),
        say("a2", "assistant", videoArtifact("p2", "f2")),
      ],
      { hook: useChatVideoSSE, onMessageUpdated: saved },
    );
    await settle();
    expect(openChannels(h.fakes)).toEqual(["file.f1", "file.f2", "project.p1", "project.p2"]);
    expect(view.result.current.connectedProjects).toEqual(["file.f1", "file.f2", "p1", "p2"]);
    act(() => {
      h.fakes.last().emit("e1-1", {
        type: "file",
        channel: "file.f1",
        object: { id: "f1", type: "video", url: "/files/f1", contentType: "video/mp4" },
        projectId: "p1",
      });
      h.fakes.last().emit("e1-2", {
        type: "file",
        channel: "project.p2",
        object: { id: "f2", type: "video", url: "/files/f2.webm" },
        projectId: "p2",
      });
    });
    await settle();
    const [first, second] = view.result.current.messages;
    expect(artifactOf(first)).toMatchObject({
      status: "completed",
      videoUrl: "/files/f1",
      projectId: "p1",
      fileId: "f1",
    });
    expect(artifactOf(second)).toMatchObject({
      status: "completed",
      videoUrl: "/files/f2.webm",
      projectId: "p2",
    });
    expect(saved.mock.calls.map(([message]) => message)).toEqual([first, second]);
  });

  it("leaves image files alone", async () => {
    const { h, view } = renderChat([say("a1", "assistant", videoArtifact("p1", "f1"))], {
      hook: useChatVideoSSE,
    });
    await settle();
    const before = view.result.current.messages;
    act(() => h.fakes.last().emit("e1-1", imageFile("project.p1", "f9")));
    await settle();
    expect(view.result.current.messages).toBe(before);
  });
});

describe("useChatImageWebSocket", () => {
  it("is useChatImageSSE with the WebSocket era's extra names", async () => {
    const { h, view } = renderChat([say("a1", "assistant", imageArtifact("p1"))], {
      hook: useChatImageWebSocket,
    });
    await settle();
    const result = view.result.current as unknown as ReturnType<typeof useChatImageWebSocket>;
    expect(result.isConnected).toBe(true);
    expect(result.isConnectedToProject("p1")).toBe(true);
    act(() => result.forceConnectToProject("p2"));
    await settle();
    expect(openChannels(h.fakes)).toEqual(["project.p1", "project.p2"]);
    act(() => (view.result.current as unknown as typeof result).cleanup());
    await settle();
    expect(view.result.current.connectedProjects).toEqual([]);
  });
});
