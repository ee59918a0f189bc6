// @vitest-environment happy-dom
import type { Message } from "@herald/client";
import { act, cleanup, render, renderHook } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import {
  createHarness,
  fire,
  LINGER_MS,
  legacyMessages,
  openChannels,
  settle,
} from "../test/support.tsx";
import { HeraldProvider } from "./herald-provider.tsx";
import {
  type SSEHookOptions,
  useArtifactSSE,
  useChatImageSSE,
  useImageSSE,
  useVideoSSE,
} from "./legacy-hooks.ts";
import type { EventHandlers, SSEHookResult } from "./use-channel-handlers.ts";

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  cleanup();
  vi.useRealTimers();
});

const FIXTURES = legacyMessages();

/** The four WebSocket-era hooks on one page, as the generator pages will have them. */
function AllHooksPage({ seen }: { seen: string[] }) {
  useImageSSE({
    projectId: "p1",
    eventHandlers: { onMessage: (m) => seen.push(`image ${m.channel}`) },
  });
  useVideoSSE({
    projectId: "f1",
    eventHandlers: { onMessage: (m) => seen.push(`video ${m.channel}`) },
  });
  useArtifactSSE({
    projectId: "p1",
    eventHandlers: { onMessage: (m) => seen.push(`artifact ${m.channel}`) },
  });
  useChatImageSSE({
    projectId: "p2",
    eventHandlers: { onMessage: (m) => seen.push(`chat ${m.channel}`) },
  });
  return null;
}

const HOOKS: { name: string; use: (options: SSEHookOptions) => SSEHookResult; kind: string }[] = [
  { name: "useImageSSE", use: useImageSSE, kind: "project" },
  { name: "useVideoSSE", use: useVideoSSE, kind: "file" },
  { name: "useArtifactSSE", use: useArtifactSSE, kind: "project" },
  { name: "useChatImageSSE", use: useChatImageSSE, kind: "project" },
];

/** Handlers for every type of the fixtures, plus onMessage, recording what each one got. */
function recordingHandlers() {
  const byType: Record<string, Message[]> = {};
  const all: Message[] = [];
  const handlers: EventHandlers = {
    onMessage: (message) => {
      all.push(message);
    },
  };
  for (const type of new Set(FIXTURES.map((m) => String(m.type)))) {
    byType[type] = [];
    handlers[type] = (message) => {
      byType[type]?.push(message);
    };
  }
  return { handlers, byType, all };
}

/** Sends the fixtures on `channel` as the hub would: the same fields, plus channel and ts. */
function emitFixtures(h: ReturnType<typeof createHarness>, channel: string): Message[] {
  const sent = FIXTURES.map((fixture, i) => {
    const message = { ...fixture, channel, ts: 1 } as Message;
    h.fakes.last().emitRaw(`e1-${i + 1}`, JSON.stringify(message));
    return message;
  });
  return sent;
}

describe.each(HOOKS)("$name", ({ use, kind }) => {
  const channel = `${kind}.p_01`;

  it(`subscribes ${kind}.{projectId} and delivers each fixture message to the handler of its type and to onMessage, every field intact`, async () => {
    const h = createHarness();
    const rec = recordingHandlers();
    renderHook(() => use({ projectId: "p_01", eventHandlers: rec.handlers }), {
      wrapper: h.wrapper,
    });
    await settle();
    expect(openChannels(h.fakes)).toEqual([channel]);
    const sent = emitFixtures(h, channel);

    expect(rec.all).toEqual(sent);
    for (const [type, got] of Object.entries(rec.byType)) {
      expect(got, type).toEqual(sent.filter((m) => m.type === type));
    }
    expect(rec.byType.future_type_nobody_knows_yet).toHaveLength(1);
    // Spot checks of what pages read: extra top-level fields, unicode, newlines.
    expect(rec.byType.status_update?.[0]).toMatchObject({ status: "processing", progress: 0.3 });
    expect(rec.byType.render_progress?.[3]?.object?.message).toBe(
      "Рендер кадра 6 из 24 — 🌊 «волна»",
    );
    expect(rec.byType.data?.[1]?.data?.text).toBe("line one\nline two\r\nline three: with a colon");
    expect(h.errors).toEqual([]);
  });

  it("passes messages of unknown types, and types named like Object's methods, to onMessage only", async () => {
    const h = createHarness();
    const all: string[] = [];
    const task = vi.fn();
    renderHook(
      () => use({ projectId: "p_01", eventHandlers: { task, onMessage: (m) => all.push(m.type) } }),
      { wrapper: h.wrapper },
    );
    await settle();
    const types = ["someday_type", "toString", "constructor", "hasOwnProperty", "onMessage"];
    types.forEach((type, i) => {
      h.fakes.last().emit(`e1-${i + 1}`, { type, channel });
    });
    expect(all).toEqual(types);
    expect(task).not.toHaveBeenCalled();
    expect(h.errors).toEqual([]);
  });

  it("calls only the map's own handlers, never what it inherits from Object", async () => {
    const h = createHarness();
    const all: string[] = [];
    const eventHandlers: EventHandlers = { onMessage: (m) => all.push(m.type) };
    const inherited = vi.spyOn(Object.prototype, "toString");
    try {
      renderHook(() => use({ projectId: "p_01", eventHandlers }), { wrapper: h.wrapper });
      await settle();
      inherited.mockClear();
      h.fakes.last().emit("e1-1", { type: "toString", channel });
      h.fakes.last().emit("e1-2", { type: "__proto__", channel });
      expect(inherited.mock.contexts).not.toContain(eventHandlers);
    } finally {
      inherited.mockRestore();
    }
    expect(all).toEqual(["toString", "__proto__"]);
    expect(h.errors).toEqual([]);
  });

  it("returns { isConnected, connectionAttempts, maxAttempts, disconnect } that follow the stream", async () => {
    const h = createHarness({ maxAttempts: 5 });
    const { result } = renderHook(() => use({ projectId: "p_01", eventHandlers: {} }), {
      wrapper: h.wrapper,
    });
    expect(Object.keys(result.current).sort()).toEqual([
      "connectionAttempts",
      "disconnect",
      "isConnected",
      "maxAttempts",
    ]);
    expect(result.current).toMatchObject({
      isConnected: false,
      connectionAttempts: 0,
      maxAttempts: 5,
    });
    expect(typeof result.current.disconnect).toBe("function");
    await settle();
    const source = h.fakes.last();
    fire(() => source.open());
    expect(result.current).toMatchObject({ isConnected: true, connectionAttempts: 0 });
    fire(() => source.drop());
    fire(() => source.drop());
    expect(result.current).toMatchObject({ isConnected: false, connectionAttempts: 2 });
    fire(() => source.open());
    expect(result.current).toMatchObject({ isConnected: true, connectionAttempts: 0 });
  });

  it("disconnect() ends this hook's subscription at once, not the client nor other hooks", async () => {
    const h = createHarness();
    const mine: string[] = [];
    const other: string[] = [];
    const { result } = renderHook(
      () => {
        const hook = use({
          projectId: "p_01",
          eventHandlers: { onMessage: (m) => mine.push(m.type) },
        });
        use({ projectId: "p_01", eventHandlers: { onMessage: (m) => other.push(m.type) } });
        return hook;
      },
      { wrapper: h.wrapper },
    );
    await settle();
    const source = h.fakes.last();
    fire(() => source.open());
    const { disconnect } = result.current;
    act(() => {
      source.emit("e1-1", { type: "task", channel });
      disconnect();
      // Already on its way in the same tick: not delivered to the disconnected hook.
      source.emit("e1-2", { type: "file", channel });
    });
    await settle();
    source.emit("e1-3", { type: "scene", channel });

    expect(mine).toEqual(["task"]);
    expect(other).toEqual(["task", "file", "scene"]);
    expect(result.current.isConnected).toBe(false);
    expect(result.current.disconnect).toBe(disconnect);
    expect(h.client.connection.getSnapshot().status).toBe("open");
    expect(source.closed).toBe(false);
  });

  it("stays disconnected until enabled goes false and back to true", async () => {
    const h = createHarness();
    const got: string[] = [];
    const { result, rerender } = renderHook(
      ({ enabled }: { enabled: boolean }) =>
        use({ projectId: "p_01", enabled, eventHandlers: { onMessage: (m) => got.push(m.type) } }),
      { wrapper: h.wrapper, initialProps: { enabled: true } },
    );
    await settle();
    act(() => result.current.disconnect());
    await settle();
    rerender({ enabled: true });
    await settle();
    await vi.advanceTimersByTimeAsync(LINGER_MS);
    expect(h.fakes.last().closed).toBe(true);

    rerender({ enabled: false });
    rerender({ enabled: true });
    await settle();
    const source = h.fakes.last();
    expect(source.closed).toBe(false);
    fire(() => source.open());
    source.emit("e1-1", { type: "task", channel });
    expect(got).toEqual(["task"]);
    expect(result.current.isConnected).toBe(true);
  });

  it("subscribes only while enabled, and nothing while projectId is missing", async () => {
    const h = createHarness();
    const got: string[] = [];
    const { rerender } = renderHook(
      ({ projectId, enabled }: { projectId: string | null; enabled: boolean }) =>
        use({ projectId, enabled, eventHandlers: { onMessage: (m) => got.push(m.channel) } }),
      { wrapper: h.wrapper, initialProps: { projectId: null as string | null, enabled: true } },
    );
    await settle();
    expect(h.subscribe).not.toHaveBeenCalled();

    rerender({ projectId: "p_01", enabled: false });
    await settle();
    expect(h.subscribe).not.toHaveBeenCalled();

    rerender({ projectId: "p_01", enabled: true });
    await settle();
    expect(openChannels(h.fakes)).toEqual([channel]);
    h.fakes.last().emit("e1-1", { type: "task", channel });

    rerender({ projectId: "p_02", enabled: true });
    await settle();
    expect(openChannels(h.fakes)).toEqual([`${kind}.p_02`]);
    h.fakes.last().emit("e1-2", { type: "task", channel: `${kind}.p_02` });

    rerender({ projectId: "p_02", enabled: false });
    await settle();
    await vi.advanceTimersByTimeAsync(LINGER_MS);
    expect(h.fakes.last().closed).toBe(true);
    expect(got).toEqual([channel, `${kind}.p_02`]);
    expect(h.subscribe).toHaveBeenCalledTimes(2);
  });

  it("takes a numeric projectId as the channel's id", async () => {
    const h = createHarness();
    renderHook(() => use({ projectId: 42, eventHandlers: {} }), { wrapper: h.wrapper });
    await settle();
    expect(openChannels(h.fakes)).toEqual([`${kind}.42`]);
  });

  it("keeps one subscription while eventHandlers is a new object every render, calling the newest", async () => {
    const h = createHarness();
    const calls: string[] = [];
    const { rerender } = renderHook(
      ({ label }: { label: string }) =>
        use({
          projectId: "p_01",
          eventHandlers: {
            task: () => calls.push(`${label}:task`),
            onMessage: (m) => calls.push(`${label}:${m.type}`),
          },
        }),
      { wrapper: h.wrapper, initialProps: { label: "a" } },
    );
    await settle();
    rerender({ label: "b" });
    rerender({ label: "c" });
    await settle();
    h.fakes.last().emit("e1-1", { type: "task", channel });
    expect(calls).toEqual(["c:task", "c:task"]);
    expect(h.subscribe).toHaveBeenCalledTimes(1);
    expect(h.fakes.instances).toHaveLength(1);
  });

  it("under StrictMode opens one stream and calls each handler once per message", async () => {
    const h = createHarness({ strict: true });
    const rec = recordingHandlers();
    renderHook(() => use({ projectId: "p_01", eventHandlers: rec.handlers }), {
      wrapper: h.wrapper,
    });
    await settle();
    expect(h.fakes.instances).toHaveLength(1);
    const sent = emitFixtures(h, channel);
    expect(rec.all).toEqual(sent);
    expect(rec.byType.task).toHaveLength(4);
  });

  it("stops delivering on unmount, and the stream closes after lingerMs", async () => {
    const h = createHarness();
    const got: string[] = [];
    const { unmount } = renderHook(
      () => use({ projectId: "p_01", eventHandlers: { onMessage: (m) => got.push(m.type) } }),
      { wrapper: h.wrapper },
    );
    await settle();
    const source = h.fakes.last();
    unmount();
    await settle();
    source.emit("e1-1", { type: "task", channel });
    expect(got).toEqual([]);
    await vi.advanceTimersByTimeAsync(LINGER_MS);
    expect(source.closed).toBe(true);
  });

  it("still calls onMessage when the handler of the type throws, and the client reports the error", async () => {
    const h = createHarness();
    const all: string[] = [];
    renderHook(
      () =>
        use({
          projectId: "p_01",
          eventHandlers: {
            task: () => {
              throw new Error("page bug");
            },
            onMessage: (m) => all.push(m.type),
          },
        }),
      { wrapper: h.wrapper },
    );
    await settle();
    h.fakes.last().emit("e1-1", { type: "task", channel });
    h.fakes.last().emit("e1-2", { type: "file", channel });
    expect(all).toEqual(["task", "file"]);
    expect(h.errors.map((e) => e.code)).toEqual(["handler_failed"]);
    expect(h.errors[0]?.message).toContain("page bug");
  });
});

describe("useVideoSSE's requestId", () => {
  const channel = "file.f_video";

  it("delivers messages of its requestId and those without one, and drops other requests'", async () => {
    const h = createHarness();
    const rec = recordingHandlers();
    renderHook(
      () =>
        useVideoSSE({ projectId: "f_video", requestId: "req_vid_1", eventHandlers: rec.handlers }),
      { wrapper: h.wrapper },
    );
    await settle();
    const sent = emitFixtures(h, channel);
    const kept = sent.filter((m) => m.requestId === undefined || m.requestId === "req_vid_1");
    expect(kept.length).toBe(sent.length - 1);
    expect(rec.all).toEqual(kept);
    expect(rec.byType.error).toEqual([expect.objectContaining({ requestId: "req_vid_1" })]);
    expect(rec.byType.task?.some((m) => m.requestId !== undefined)).toBe(false);
  });

  it("counts an empty requestId as none, and follows a new requestId without re-subscribing", async () => {
    const h = createHarness();
    const got: (string | undefined)[] = [];
    const { rerender } = renderHook(
      ({ requestId }: { requestId: string | undefined }) =>
        useVideoSSE({
          projectId: "f_video",
          requestId,
          eventHandlers: { onMessage: (m) => got.push(m.requestId) },
        }),
      { wrapper: h.wrapper, initialProps: { requestId: "r1" as string | undefined } },
    );
    await settle();
    const source = h.fakes.last();
    const send = (id: string, requestId?: string) =>
      source.emit(id, {
        type: "render_progress",
        channel,
        ...(requestId === undefined ? {} : { requestId }),
      });
    send("e1-1", "r1");
    send("e1-2", "r2");
    send("e1-3", "");
    send("e1-4");
    rerender({ requestId: "r2" });
    send("e1-5", "r1");
    send("e1-6", "r2");
    rerender({ requestId: undefined });
    send("e1-7", "r1");
    send("e1-8", "r3");

    expect(got).toEqual(["r1", "", undefined, "r2", "r1", "r3"]);
    expect(h.subscribe).toHaveBeenCalledTimes(1);
  });
});

describe("the WebSocket-era hooks on one page", () => {
  it("share the provider's one stream, each hook with its own channel", async () => {
    const h = createHarness();
    const seen: string[] = [];
    render(
      <HeraldProvider client={h.client}>
        <AllHooksPage seen={seen} />
      </HeraldProvider>,
    );
    await settle();
    expect(h.fakes.instances).toHaveLength(1);
    expect(openChannels(h.fakes)).toEqual(["file.f1", "project.p1", "project.p2"]);
    const source = h.fakes.last();
    source.emit("e1-1", { type: "task", channel: "project.p1" });
    source.emit("e1-2", { type: "task", channel: "file.f1" });
    source.emit("e1-3", { type: "task", channel: "project.p2" });
    expect(seen).toEqual([
      "image project.p1",
      "artifact project.p1",
      "video file.f1",
      "chat project.p2",
    ]);
  });

  it("take handlers typed with the envelope's fields, narrowed for the known types", () => {
    // Type-level: this compiles. Known types get their narrowed message, others the envelope.
    interface PageEvent {
      type: string;
      object?: Record<string, unknown>;
      projectId?: string;
    }
    const handlers: EventHandlers = {
      task: (message) => message.object.status,
      render_progress: (message) => message.object.progress,
      file: (event: PageEvent) => event.projectId,
      status_update: (message) => message.status,
      onMessage: (message) => message.channel,
    };
    expect(Object.keys(handlers)).toHaveLength(5);
  });
});
