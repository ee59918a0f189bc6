// @vitest-environment happy-dom
import type { ConnectionState } from "@herald/client";
import { cleanup, renderHook } from "@testing-library/react";
import { afterEach, beforeEach, expect, it, vi } from "vitest";
import { createHarness, fire, settle } from "../test/support.tsx";
import { useChannel } from "./use-channel.ts";
import { useConnectionState } from "./use-connection-state.ts";

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  cleanup();
  vi.useRealTimers();
});

it("follows the client: idle → connecting → open → reconnecting → open → closed", async () => {
  const h = createHarness({ client: { backoff: { maxAttempts: 3 } } });
  const statuses: ConnectionState["status"][] = [];
  const { result } = renderHook(
    () => {
      useChannel("project.p1", () => {});
      const state = useConnectionState();
      statuses.push(state.status);
      return state;
    },
    { wrapper: h.wrapper },
  );
  expect(result.current).toEqual({ status: "idle", attempts: 0 });
  await settle();
  expect(result.current.status).toBe("connecting");

  const source = h.fakes.last();
  fire(() => source.open());
  expect(result.current).toEqual({ status: "open", attempts: 0 });

  fire(() => source.drop("socket hang up"));
  expect(result.current).toMatchObject({
    status: "reconnecting",
    attempts: 1,
    lastError: { code: "network" },
  });
  fire(() => source.open());
  expect(result.current).toMatchObject({ status: "open", attempts: 0 });

  fire(() => source.fail(403));
  await settle();
  expect(result.current).toMatchObject({
    status: "closed",
    lastError: { code: "forbidden", status: 403 },
  });
  // One render per change of state: nothing re-renders for an unchanged snapshot.
  expect(statuses.filter((s, i) => s !== statuses[i - 1])).toEqual([
    "idle",
    "connecting",
    "open",
    "reconnecting",
    "open",
    "closed",
  ]);
});

it("keeps the same snapshot object across renders while nothing changes", async () => {
  const h = createHarness();
  const { result, rerender } = renderHook(() => useConnectionState(), { wrapper: h.wrapper });
  const first = result.current;
  rerender();
  await settle();
  expect(result.current).toBe(first);
});

it("reports closed after the client is closed", async () => {
  const h = createHarness();
  const { result } = renderHook(() => useConnectionState(), { wrapper: h.wrapper });
  fire(() => h.client.close());
  expect(result.current.status).toBe("closed");
});

it("does not re-render for an event's id, and a selector re-renders only when its value changes", async () => {
  const h = createHarness();
  let wholeRenders = 0;
  let selectedRenders = 0;
  const whole = renderHook(
    () => {
      wholeRenders += 1;
      return useChannel("project.p1", () => {});
    },
    { wrapper: h.wrapper },
  );
  const selected = renderHook(
    () => {
      selectedRenders += 1;
      return useConnectionState((state) => ({ live: state.status === "open" }));
    },
    { wrapper: h.wrapper },
  );
  await settle();
  const source = h.fakes.last();
  fire(() => source.open());
  const afterOpen = [wholeRenders, selectedRenders];
  const openView = selected.result.current;
  expect(openView).toEqual({ live: true });
  expect(whole.result.current).toEqual({ status: "open", attempts: 0 });

  for (let n = 1; n <= 5; n += 1) {
    fire(() => source.emit(`e1-${n}`, { type: "data", channel: "project.p1", data: { n } }));
  }
  expect(h.client.connection.getSnapshot().lastEventId).toBe("e1-5");
  expect([wholeRenders, selectedRenders]).toEqual(afterOpen);
  expect(selected.result.current).toBe(openView);
  expect(whole.result.current).not.toHaveProperty("lastEventId");

  fire(() => source.drop());
  expect(selected.result.current).toEqual({ live: false });
  expect(selectedRenders).toBe((afterOpen[1] ?? 0) + 1);
});
