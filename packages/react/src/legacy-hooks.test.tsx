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
import { useArtifactSSE, useImageSSE, useImageWebsocket, useVideoSSE } from "./legacy-hooks.ts";
import type { LegacyMessage } from "./legacy-message.ts";
import type { LegacyEventHandlers, SSEHookResult } from "./use-channel-handlers.ts";

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  cleanup();
  vi.useRealTimers();
});

const FIXTURES = legacyMessages();

interface HookCase {
  name: string;
  /** The hook called as the app calls it, with the id it takes. */
  use: (options: {
    id: string | undefined;
    eventHandlers: LegacyEventHandlers;
    enabled?: boolean;
  }) => SSEHookResult;
  channel: (id: string) => string;
  /** The projectId the hook fills into messages that have none. */
  context: (id: string) => string | undefined;
}

const HOOKS: HookCase[] = [
  {
    name: "useImageSSE",
    use: ({ id, ...rest }) => useImageSSE({ fileId: id, ...rest }),
    channel: (id) => `file.${id}`,
    context: (id) => id,
  },
  {
    name: "useVideoSSE",
    use: ({ id, ...rest }) => useVideoSSE({ projectId: id, ...rest }),
    channel: (id) => `file.${id}`,
    context: (id) => id,
  },
  {
    name: "useArtifactSSE on file.{id}",
    use: ({ id, ...rest }) => useArtifactSSE({ channel: id ? `file.${id}` : "", ...rest }),
    channel: (id) => `file.${id}`,
    context: () => undefined,
  },
  {
    name: "useArtifactSSE on project.{id}",
    use: ({ id, ...rest }) => useArtifactSSE({ channel: id ? `project.${id}` : "", ...rest }),
    channel: (id) => `project.${id}`,
    context: (id) => id,
  },
  {
    name: "useImageWebsocket",
    use: ({ id, ...rest }) => useImageWebsocket({ projectId: id, ...rest }),
    channel: (id) => `project.${id}`,
    context: (id) => id,
  },
];

/** Sends the fixtures on `channel` as the hub would: the same fields, plus channel and ts. */
function emitFixtures(h: ReturnType<typeof createHarness>, channel: string): Message[] {
  return FIXTURES.map((fixture, i) => {
    const message = { ...fixture, channel, ts: 1 } as Message;
    h.fakes.last().emitRaw(`e1-${i + 1}`, JSON.stringify(message));
    return message;
  });
}

describe.each(HOOKS)("$name", ({ use, channel: channelOf, context }) => {
  const channel = channelOf("x_01");

  it("subscribes its channel and hands every handler of the array every message, fields intact, mirrors filled", async () => {
    const h = createHarness();
    const first: LegacyMessage[] = [];
    const second: string[] = [];
    renderHook(
      () =>
        use({
          id: "x_01",
          eventHandlers: [(m) => first.push(m), (m) => second.push(m.type)],
        }),
      { wrapper: h.wrapper },
    );
    await settle();
    expect(openChannels(h.fakes)).toEqual([channel]);
    const sent = emitFixtures(h, channel);

    expect(first).toHaveLength(sent.length);
    expect(second).toEqual(sent.map((m) => m.type));
    for (const [i, got] of first.entries()) expect(got).toMatchObject(sent[i] ?? {});
    // Mirrors where the event carries the value.
    const progress = first.filter((m) => m.type === "render_progress");
    expect(progress.map((m) => m.progress)).toEqual([0.05, 0.5, 1, 0.25]);
    const file = first.find((m) => m.type === "file" && m.object);
    expect(file).toMatchObject({ url: "/files/f_01.png", status: "completed" });
    expect(first.find((m) => m.type === "task")?.status).toBe("pending");
    // The fields the message had itself win over any mirror.
    expect(first.find((m) => m.type === "status_update")).toMatchObject({ progress: 0.3 });
    expect(first.find((m) => m.type === "subscribe")?.projectId).toBe("project.p_03");
    // The hook's own id where a message has none (every fixture carries one).
    const bare = { type: "data", channel, ts: 1 };
    h.fakes.last().emit("e2-1", bare);
    expect(first.at(-1)?.projectId).toBe(context("x_01"));
    expect(h.errors).toEqual([]);
  });

  it("keeps taking Herald's map form: the handler of the type, then onMessage", async () => {
    const h = createHarness();
    const seen: string[] = [];
    renderHook(
      () =>
        use({
          id: "x_01",
          eventHandlers: {
            render_progress: (m) => seen.push(`progress ${m.object.progress}`),
            onMessage: (m) => seen.push(m.type),
          },
        }),
      { wrapper: h.wrapper },
    );
    await settle();
    h.fakes.last().emit("e1-1", { type: "render_progress", channel, object: { progress: 0.5 } });
    h.fakes.last().emit("e1-2", { type: "toString", channel });
    expect(seen).toEqual(["progress 0.5", "render_progress", "toString"]);
  });

  it("keeps one subscription while eventHandlers is a new array every render, calling the newest", async () => {
    const h = createHarness();
    const calls: string[] = [];
    const { rerender } = renderHook(
      ({ label }: { label: string }) =>
        use({ id: "x_01", eventHandlers: [(m) => calls.push(`${label}:${m.type}`)] }),
      { wrapper: h.wrapper, initialProps: { label: "a" } },
    );
    await settle();
    rerender({ label: "b" });
    rerender({ label: "c" });
    await settle();
    h.fakes.last().emit("e1-1", { type: "task", channel });
    expect(calls).toEqual(["c:task"]);
    expect(h.subscribe).toHaveBeenCalledTimes(1);
    expect(h.fakes.instances).toHaveLength(1);
  });

  it("subscribes nothing for an empty array, nor without an id, and subscribes once handlers come", async () => {
    const h = createHarness();
    const got: string[] = [];
    const handler = (m: LegacyMessage) => got.push(m.type);
    const { rerender, result } = renderHook(
      ({ id, handlers }: { id: string | undefined; handlers: LegacyEventHandlers }) =>
        use({ id, eventHandlers: handlers }),
      {
        wrapper: h.wrapper,
        initialProps: { id: "x_01" as string | undefined, handlers: [] as LegacyEventHandlers },
      },
    );
    await settle();
    rerender({ id: undefined, handlers: [handler] });
    await settle();
    expect(h.subscribe).not.toHaveBeenCalled();
    expect(h.fakes.instances).toHaveLength(0);
    expect(result.current.isConnected).toBe(false);

    rerender({ id: "x_01", handlers: [handler] });
    await settle();
    expect(openChannels(h.fakes)).toEqual([channel]);
    h.fakes.last().emit("e1-1", { type: "task", channel });
    expect(got).toEqual(["task"]);
  });

  it("returns { isConnected, connectionAttempts, maxAttempts, disconnect } that follow the stream", async () => {
    const h = createHarness({ maxAttempts: 5 });
    const { result } = renderHook(() => use({ id: "x_01", eventHandlers: [() => {}] }), {
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

  it("disconnect() ends this hook's subscription at once, not the client nor the other hooks'", async () => {
    const h = createHarness();
    const mine: string[] = [];
    const other: string[] = [];
    const { result } = renderHook(
      () => {
        const hook = use({ id: "x_01", eventHandlers: [(m) => mine.push(m.type)] });
        use({ id: "x_01", eventHandlers: [(m) => other.push(m.type)] });
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
    expect(h.client.connection.getSnapshot().status).toBe("open");
    expect(source.closed).toBe(false);
  });

  it("unsubscribes on enabled: false and on unmount, and the stream closes after lingerMs", async () => {
    const h = createHarness();
    const got: string[] = [];
    const { rerender, unmount } = renderHook(
      ({ enabled }: { enabled: boolean }) =>
        use({ id: "x_01", enabled, eventHandlers: [(m) => got.push(m.type)] }),
      { wrapper: h.wrapper, initialProps: { enabled: true } },
    );
    await settle();
    h.fakes.last().emit("e1-1", { type: "task", channel });
    rerender({ enabled: false });
    await settle();
    h.fakes.last().emit("e1-2", { type: "file", channel });
    await vi.advanceTimersByTimeAsync(LINGER_MS);
    expect(h.fakes.last().closed).toBe(true);

    rerender({ enabled: true });
    await settle();
    const source = h.fakes.last();
    expect(source.closed).toBe(false);
    source.emit("e1-3", { type: "scene", channel });
    unmount();
    await settle();
    source.emit("e1-4", { type: "data", channel });
    await vi.advanceTimersByTimeAsync(LINGER_MS);
    expect(source.closed).toBe(true);
    expect(got).toEqual(["task", "scene"]);
  });

  it("under StrictMode opens one stream and calls each handler once per message", async () => {
    const h = createHarness({ strict: true });
    const got: string[] = [];
    renderHook(() => use({ id: "x_01", eventHandlers: [(m) => got.push(m.type)] }), {
      wrapper: h.wrapper,
    });
    await settle();
    expect(h.fakes.instances).toHaveLength(1);
    const sent = emitFixtures(h, channel);
    expect(got).toEqual(sent.map((m) => m.type));
  });

  it("still calls the other handlers when one throws, and the client reports the error", async () => {
    const h = createHarness();
    const got: string[] = [];
    renderHook(
      () =>
        use({
          id: "x_01",
          eventHandlers: [
            () => {
              throw new Error("page bug");
            },
            (m) => got.push(m.type),
          ],
        }),
      { wrapper: h.wrapper },
    );
    await settle();
    h.fakes.last().emit("e1-1", { type: "task", channel });
    h.fakes.last().emit("e1-2", { type: "file", channel });
    expect(got).toEqual(["task", "file"]);
    expect(h.errors.map((e) => e.code)).toEqual(["handler_failed", "handler_failed"]);
    expect(h.errors[0]?.message).toContain("page bug");
  });
});

describe("useVideoSSE's requestId", () => {
  it("fills requestId into messages without one, keeps theirs, and drops nothing", async () => {
    const h = createHarness();
    const got: (string | undefined)[] = [];
    const { rerender } = renderHook(
      ({ requestId }: { requestId: string }) =>
        useVideoSSE({
          projectId: "f_video",
          requestId,
          eventHandlers: [(m) => got.push(m.requestId)],
        }),
      { wrapper: h.wrapper, initialProps: { requestId: "r1" } },
    );
    await settle();
    const source = h.fakes.last();
    const channel = "file.f_video";
    source.emit("e1-1", { type: "render_progress", channel });
    source.emit("e1-2", { type: "render_progress", channel, requestId: "r2" });
    rerender({ requestId: "" });
    source.emit("e1-3", { type: "render_progress", channel });
    expect(got).toEqual(["r1", "r2", undefined]);
    expect(h.subscribe).toHaveBeenCalledTimes(1);
  });
});

/** Every single-channel hook on one page, as a migrated page has them. */
function Page({ seen }: { seen: string[] }) {
  useImageSSE({ fileId: "f1", eventHandlers: [(m) => seen.push(`image ${m.channel}`)] });
  useVideoSSE({ projectId: "f2", eventHandlers: [(m) => seen.push(`video ${m.channel}`)] });
  useArtifactSSE({
    channel: "file.f2",
    eventHandlers: [(m) => seen.push(`artifact ${m.channel}`)],
  });
  useImageWebsocket({ projectId: "p1", eventHandlers: [(m) => seen.push(`ws ${m.channel}`)] });
  return null;
}

/** One of many components showing the same file. */
function Viewer({ index, counts }: { index: number; counts: number[] }) {
  useImageSSE({
    fileId: "f1",
    eventHandlers: [
      () => {
        counts[index] = (counts[index] ?? 0) + 1;
      },
    ],
  });
  return null;
}

describe("the hooks on one page", () => {
  it("share the provider's one stream, each with its own channel", async () => {
    const h = createHarness();
    const seen: string[] = [];
    render(
      <HeraldProvider client={h.client}>
        <Page seen={seen} />
      </HeraldProvider>,
    );
    await settle();
    expect(h.fakes.instances).toHaveLength(1);
    expect(openChannels(h.fakes)).toEqual(["file.f1", "file.f2", "project.p1"]);
    const source = h.fakes.last();
    source.emit("e1-1", { type: "task", channel: "file.f1" });
    source.emit("e1-2", { type: "task", channel: "file.f2" });
    source.emit("e1-3", { type: "task", channel: "project.p1" });
    expect(seen).toEqual(["image file.f1", "video file.f2", "artifact file.f2", "ws project.p1"]);
  });

  it("have no handler cap: twenty components on one file all get every message", async () => {
    const h = createHarness();
    const counts = new Array<number>(20).fill(0);
    render(
      <HeraldProvider client={h.client}>
        {counts.map((_, index) => (
          // biome-ignore lint/suspicious/noArrayIndexKey: a fixed list of identical viewers
          <Viewer key={index} index={index} counts={counts} />
        ))}
      </HeraldProvider>,
    );
    await settle();
    for (let i = 1; i <= 3; i += 1)
      h.fakes.last().emit(`e1-${i}`, { type: "task", channel: "file.f1" });
    expect(counts).toEqual(new Array(20).fill(3));
    expect(h.fakes.instances).toHaveLength(1);
  });
});
