// @vitest-environment happy-dom
import type { EventsClient } from "@herald/client";
import { cleanup, render, renderHook } from "@testing-library/react";
import { StrictMode } from "react";
import { afterEach, describe, expect, it } from "vitest";
import { fakeEventSources } from "../../client/test/fake-event-source.ts";
import { createHarness, settle } from "../test/support.tsx";
import { HeraldReactError } from "./errors.ts";
import { HeraldProvider, useEventsClient } from "./herald-provider.tsx";
import { useImageSSE } from "./legacy-hooks.ts";
import { useChannel } from "./use-channel.ts";

afterEach(() => {
  cleanup();
});

/** Subscribes a channel, and records the client it was given at every render. */
function ClientRecorder({ seen }: { seen: Set<EventsClient> }) {
  seen.add(useEventsClient());
  useChannel("project.p1", () => {});
  return null;
}

/** Renders the provider with `options`, returning every client its children saw. */
function renderOwning(strict: boolean) {
  const fakes = fakeEventSources();
  const seen = new Set<EventsClient>();
  const tree = (
    <HeraldProvider options={{ baseUrl: "http://hub.test", EventSource: fakes.EventSource }}>
      <ClientRecorder seen={seen} />
    </HeraldProvider>
  );
  const view = render(strict ? <StrictMode>{tree}</StrictMode> : tree);
  return { fakes, seen, view, tree };
}

describe("HeraldProvider", () => {
  it("hands its client to the hooks and leaves a client it was given open on unmount", async () => {
    const h = createHarness();
    const { result, unmount } = renderHook(() => useEventsClient(), { wrapper: h.wrapper });
    expect(result.current).toBe(h.client);
    unmount();
    await settle();
    expect(h.client.connection.getSnapshot().status).not.toBe("closed");
    expect(() => h.client.subscribe("project.p1", () => {})).not.toThrow();
    h.client.close();
  });

  it("creates its client once, across re-renders and StrictMode, and closes it on unmount", async () => {
    const { fakes, seen, view, tree } = renderOwning(true);
    view.rerender(<StrictMode>{tree}</StrictMode>);
    view.rerender(<StrictMode>{tree}</StrictMode>);
    await settle();
    expect(seen.size).toBe(1);
    const [client] = [...seen];
    expect(client?.connection.getSnapshot().status).toBe("connecting");
    expect(fakes.instances).toHaveLength(1);

    view.unmount();
    await settle();
    expect(client?.connection.getSnapshot().status).toBe("closed");
    expect(fakes.last().closed).toBe(true);
  });

  it("closes its own client on unmount outside StrictMode too", async () => {
    const { fakes, seen, view } = renderOwning(false);
    await settle();
    view.unmount();
    await settle();
    expect([...seen][0]?.connection.getSnapshot().status).toBe("closed");
    expect(fakes.last().closed).toBe(true);
  });

  it("reports maxAttempts from the options' backoff, from its prop, or Infinity", () => {
    const fakes = fakeEventSources();
    const hook = () => useImageSSE({ fileId: null, eventHandlers: {} }).maxAttempts;
    const fromOptions = renderHook(hook, {
      wrapper: ({ children }) => (
        <HeraldProvider options={{ EventSource: fakes.EventSource, backoff: { maxAttempts: 5 } }}>
          {children}
        </HeraldProvider>
      ),
    });
    expect(fromOptions.result.current).toBe(5);
    expect(
      renderHook(hook, { wrapper: createHarness({ maxAttempts: 7 }).wrapper }).result.current,
    ).toBe(7);
    expect(renderHook(hook, { wrapper: createHarness().wrapper }).result.current).toBe(
      Number.POSITIVE_INFINITY,
    );
  });
});

describe("useEventsClient", () => {
  it("throws an error that says how to fix it outside a provider", () => {
    let thrown: unknown;
    try {
      renderHook(() => useEventsClient());
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(HeraldReactError);
    expect(thrown).toMatchObject({ code: "no_provider" });
    expect(String((thrown as Error).message)).toMatch(/needs a <HeraldProvider> above it.*wrap/);
  });

  it("is what every hook needs: useChannel outside a provider throws the same error", () => {
    expect(() => renderHook(() => useChannel("project.p1", () => {}))).toThrow(HeraldReactError);
  });
});
