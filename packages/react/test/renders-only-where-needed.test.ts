// @vitest-environment happy-dom
/**
 * Re-renders only where the event lands, in React's production build without StrictMode (what
 * users run): the build is chosen before React is first loaded, and checked; the package is its
 * built `dist/` (`test/build-once.ts` builds it before the tests).
 */
import { createEventsClient } from "@herald/client";
import { afterAll, expect, it, vi } from "vitest";
import { fakeEventSources } from "../../client/test/fake-event-source.ts";

process.env.NODE_ENV = "production";
const { mountTwenty } = await import("./twenty-channels.ts");

const fakes = fakeEventSources();
const client = createEventsClient({ baseUrl: "http://hub.test", EventSource: fakes.EventSource });
const page = mountTwenty(client, document.body.appendChild(document.createElement("div")));

afterAll(() => {
  page.root.unmount();
  client.close();
});

it("runs in React's production build", async () => {
  const React = await import("react");
  // The development build has `act`; the production build does not.
  expect("act" in React.default).toBe(false);
});

it("re-renders only the component whose channel an event lands on", async () => {
  await vi.waitFor(() => expect(fakes.instances).toHaveLength(1));
  const source = fakes.last();
  expect(source.query.getAll("channel")).toHaveLength(20);
  source.open();
  await vi.waitFor(() => expect(page.shown()).toBe("open:0"));
  const before = [...page.renders];

  for (let n = 1; n <= 50; n += 1) {
    source.emit(`e1-${n}`, { type: "render_progress", channel: "project.c0", data: { n } });
    await new Promise((resolve) => setTimeout(resolve, 20)); // the pace of a render's progress
  }
  await vi.waitFor(() => expect(page.shown()).toBe("open:50"));

  expect(page.seen).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
  for (let index = 1; index < 20; index += 1) {
    expect(page.renders[index], `component ${index}`).toBeLessThanOrEqual((before[index] ?? 0) + 2);
  }
  expect(page.renders[0]).toBeGreaterThan(before[0] ?? 0);
});
