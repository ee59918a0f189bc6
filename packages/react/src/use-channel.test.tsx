// @vitest-environment happy-dom
import type { Message } from "@herald/client";
import { cleanup, render, renderHook } from "@testing-library/react";
import { StrictMode, useState } from "react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createHarness, fire, LINGER_MS, openChannels, settle } from "../test/support.tsx";
import { HeraldProvider } from "./herald-provider.tsx";
import { useChannel } from "./use-channel.ts";

/** Records `label:type` for each message of project.p1. */
function Listener({ label, seen }: { label: string; seen: string[] }) {
  useChannel("project.p1", (m) => seen.push(`${label}:${m.type}`));
  return null;
}

/** A progress bar's text, set from the channel's render_progress messages. */
function Progress() {
  const [progress, setProgress] = useState(0);
  useChannel("project.p1", (message) => {
    const value = message.object?.progress;
    if (typeof value === "number") setProgress(value);
  });
  return <output>{Math.round(progress * 100)}%</output>;
}

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  cleanup();
  vi.useRealTimers();
});

describe("useChannel", () => {
  it("asks for a channel's past with from: \"start\", while the page's other subscriptions keep their cursor", async () => {
    const h = createHarness();
    renderHook(() => useChannel("project.p1", () => {}), { wrapper: h.wrapper });
    await settle();
    const first = h.fakes.last();
    fire(() => first.open());
    fire(() => first.emit("e1-9", { type: "task", channel: "project.p1" }));
    const seen: string[] = [];
    renderHook(
      () =>
        useChannel("file.f1", (m, meta) => seen.push(`${m.type}${meta.replayed ? "*" : ""}`), {
          from: "start",
        }),
      { wrapper: h.wrapper },
    );
    await settle();
    const second = h.fakes.last();
    expect(second.query.getAll("start")).toEqual(["file.f1"]);
    expect(second.query.get("lastEventId")).toBe("e1-9");
    fire(() => second.open());
    fire(() => second.emit("e1-4", { type: "render_progress", channel: "file.f1" }));
    fire(() => second.emit("e1-10", { type: "file", channel: "file.f1" }));
    expect(seen).toEqual(["render_progress*", "file"]);
  });

  it("delivers the messages of its channels, with the event id", async () => {
    const h = createHarness();
    const got: [string, string | undefined][] = [];
    renderHook(
      () =>
        useChannel(["project.p1", "file.f1"], (message, meta) => {
          got.push([message.type, meta.id]);
        }),
      { wrapper: h.wrapper },
    );
    await settle();
    expect(h.fakes.instances).toHaveLength(1);
    expect(openChannels(h.fakes)).toEqual(["file.f1", "project.p1"]);

    const source = h.fakes.last();
    fire(() => source.open());
    source.emit("e1-1", { type: "task", channel: "project.p1" });
    source.emit("e1-2", { type: "file", channel: "file.f1" });
    source.emit("e1-3", { type: "task", channel: "project.other" });
    expect(got).toEqual([
      ["task", "e1-1"],
      ["file", "e1-2"],
    ]);
  });

  it("takes one channel as a string, and filters by types (stream_reset always comes through)", async () => {
    const h = createHarness();
    const types: string[] = [];
    renderHook(() => useChannel("project.p1", (m) => types.push(m.type), { types: ["task"] }), {
      wrapper: h.wrapper,
    });
    await settle();
    const source = h.fakes.last();
    source.emit("e1-1", { type: "render_progress", channel: "project.p1" });
    source.emit("e1-2", { type: "task", channel: "project.p1" });
    source.emit("e1-3", {
      type: "stream_reset",
      channel: "project.p1",
      object: { reason: "history_expired" },
    });
    expect(types).toEqual(["task", "stream_reset"]);
  });

  it("calls the newest handler without re-subscribing when the handler changes every render", async () => {
    const h = createHarness();
    const calls: string[] = [];
    const { rerender } = renderHook(
      ({ label }: { label: string }) =>
        useChannel(["project.p1"], (message) => calls.push(`${label}:${message.type}`)),
      { wrapper: h.wrapper, initialProps: { label: "first" } },
    );
    await settle();
    for (const label of ["second", "third", "fourth"]) {
      rerender({ label });
      await settle();
    }
    h.fakes.last().emit("e1-1", { type: "task", channel: "project.p1" });

    expect(calls).toEqual(["fourth:task"]);
    expect(h.subscribe).toHaveBeenCalledTimes(1);
    expect(h.fakes.instances).toHaveLength(1);
  });

  it("does not re-subscribe for a new array with the same channels and types", async () => {
    const h = createHarness();
    const { rerender } = renderHook(
      ({ channels }: { channels: string[] }) =>
        useChannel(channels, () => {}, { types: ["task", "file"] }),
      { wrapper: h.wrapper, initialProps: { channels: ["project.a", "project.b"] } },
    );
    await settle();
    rerender({ channels: ["project.a", "project.b"] });
    rerender({ channels: ["project.b", "project.a", "project.a"] });
    await settle();
    expect(h.subscribe).toHaveBeenCalledTimes(2);
    expect(h.fakes.instances).toHaveLength(1);

    rerender({ channels: ["project.a", "project.c"] });
    await settle();
    expect(openChannels(h.fakes)).toEqual(["project.a", "project.c"]);
    expect(h.fakes.instances).toHaveLength(2);
  });

  it("opens one stream and delivers each message once under StrictMode", async () => {
    const h = createHarness({ strict: true });
    const got: Message[] = [];
    renderHook(() => useChannel("project.p1", (message) => got.push(message)), {
      wrapper: h.wrapper,
    });
    await settle();
    // StrictMode subscribed, unsubscribed and subscribed again in one commit: one stream.
    expect(h.fakes.instances).toHaveLength(1);
    const source = h.fakes.last();
    fire(() => source.open());
    source.emit("e1-1", { type: "task", channel: "project.p1" });
    source.emit("e1-2", { type: "task", channel: "project.p1" });
    expect(got.map((m) => m.type)).toEqual(["task", "task"]);
    await vi.advanceTimersByTimeAsync(LINGER_MS * 2);
    expect(source.closed).toBe(false);
  });

  it("subscribes and unsubscribes as enabled goes false → true → false", async () => {
    const h = createHarness();
    const got: string[] = [];
    const { rerender } = renderHook(
      ({ enabled }: { enabled: boolean }) =>
        useChannel("project.p1", (m) => got.push(String(m.data?.n)), { enabled }),
      { wrapper: h.wrapper, initialProps: { enabled: false } },
    );
    await settle();
    expect(h.subscribe).not.toHaveBeenCalled();
    expect(h.fakes.instances).toHaveLength(0);

    rerender({ enabled: true });
    await settle();
    expect(h.subscribe).toHaveBeenCalledTimes(1);
    const source = h.fakes.last();
    source.emit("e1-1", { type: "data", channel: "project.p1", data: { n: 1 } });

    rerender({ enabled: false });
    await settle();
    source.emit("e1-2", { type: "data", channel: "project.p1", data: { n: 2 } });
    expect(got).toEqual(["1"]);
    await vi.advanceTimersByTimeAsync(LINGER_MS);
    expect(source.closed).toBe(true);
    expect(h.client.connection.getSnapshot().status).toBe("idle");
  });

  it("unsubscribes on unmount, and the stream closes once lingerMs has passed", async () => {
    const h = createHarness();
    const got: Message[] = [];
    const { unmount } = renderHook(() => useChannel("project.p1", (m) => got.push(m)), {
      wrapper: h.wrapper,
    });
    await settle();
    const source = h.fakes.last();
    fire(() => source.open());
    unmount();
    await settle();
    source.emit("e1-1", { type: "task", channel: "project.p1" });
    expect(got).toEqual([]);

    await vi.advanceTimersByTimeAsync(LINGER_MS - 1);
    expect(source.closed).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(source.closed).toBe(true);
    expect(h.client.connection.getSnapshot().status).toBe("idle");
  });

  it("keeps the stream when another component still subscribes the channel", async () => {
    const h = createHarness();
    const seen: string[] = [];
    const page = (both: boolean) => (
      <HeraldProvider client={h.client}>
        <Listener label="a" seen={seen} />
        {both ? <Listener label="b" seen={seen} /> : null}
      </HeraldProvider>
    );
    const { rerender } = render(page(true));
    await settle();
    rerender(page(false));
    await settle();
    await vi.advanceTimersByTimeAsync(LINGER_MS * 2);
    h.fakes.last().emit("e1-1", { type: "task", channel: "project.p1" });
    expect(seen).toEqual(["a:task"]);
    expect(h.fakes.instances).toHaveLength(1);
    expect(h.fakes.last().closed).toBe(false);
  });

  it("returns the connection state, re-rendering as it changes", async () => {
    const h = createHarness();
    const { result } = renderHook(() => useChannel("project.p1", () => {}), {
      wrapper: h.wrapper,
    });
    expect(result.current.status).toBe("idle");
    await settle();
    expect(result.current.status).toBe("connecting");
    fire(() => h.fakes.last().open());
    expect(result.current).toEqual({ status: "open", attempts: 0 });
  });

  it("a handler may set state: the component renders the messages it got", async () => {
    const h = createHarness({ strict: true });
    const view = render(<Progress />, { wrapper: h.wrapper });
    await settle();
    fire(() =>
      h.fakes.last().emit("e1-1", {
        type: "render_progress",
        channel: "project.p1",
        object: { taskId: "t", fileId: "f", progress: 0.42 },
      }),
    );
    expect(view.container.textContent).toBe("42%");
  });

  it("throws the client's invalid_channel error for a channel the hub would refuse", async () => {
    const h = createHarness();
    const problems: unknown[] = [];
    const onError = (event: ErrorEvent) => {
      event.preventDefault();
      problems.push(event.error);
    };
    window.addEventListener("error", onError);
    try {
      expect(() =>
        renderHook(() => useChannel(["project.ok", "Project.1"], () => {}), {
          wrapper: h.wrapper,
        }),
      ).toThrow(expect.objectContaining({ code: "invalid_channel" }));
    } finally {
      window.removeEventListener("error", onError);
    }
    await settle();
    // The valid channel taken before the invalid one was given back.
    expect(h.fakes.instances).toHaveLength(0);
  });
});

describe("useChannel with a provider that owns its client", () => {
  it("opens one stream in StrictMode, and closes the client when the provider unmounts", async () => {
    const h = createHarness();
    const got: string[] = [];
    const view = render(
      <StrictMode>
        <HeraldProvider options={{ baseUrl: "http://hub.test", EventSource: h.fakes.EventSource }}>
          <Listener label="a" seen={got} />
        </HeraldProvider>
      </StrictMode>,
    );
    await settle();
    expect(h.fakes.instances).toHaveLength(1);
    const source = h.fakes.last();
    source.emit("e1-1", { type: "task", channel: "project.p1" });
    expect(got).toEqual(["a:task"]);

    view.unmount();
    await settle();
    expect(source.closed).toBe(true);
  });
});
