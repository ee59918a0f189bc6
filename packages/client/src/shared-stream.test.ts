import { afterEach, expect, it, vi } from "vitest";
import { type FakeEventSources, fakeEventSources } from "../test/fake-event-source.ts";
import { type FakeBrowser, type FakeTab, fakeBrowser } from "../test/fake-tabs.ts";
import { createStreamClient, type EventsClient } from "./events-client.ts";
import { createSharedEventsClient, type SharingEnvironment, sharingFor } from "./shared-stream.ts";

interface Tab {
  tab: FakeTab;
  fakes: FakeEventSources;
  client: EventsClient;
  /** `channel:n` of every message this tab's handlers got, in order. */
  got: string[];
  listen(channel: string): () => void;
}

const clients: EventsClient[] = [];
afterEach(() => {
  for (const client of clients.splice(0)) client.close();
});

function openTab(browser: FakeBrowser, name: string): Tab {
  const tab = browser.tab(name);
  const fakes = fakeEventSources();
  const options = {
    baseUrl: "http://hub.test",
    EventSource: fakes.EventSource,
    share: true,
    random: () => 0.5,
    onError: () => {},
  };
  const sharing = sharingFor(options, tab.environment);
  if (!sharing) throw new Error("sharing should be on");
  const client = createSharedEventsClient(options, sharing, createStreamClient);
  clients.push(client);
  const got: string[] = [];
  return {
    tab,
    fakes,
    client,
    got,
    listen: (channel) =>
      client.subscribe(channel, (message) => got.push(`${message.channel}:${message.data?.n}`)),
  };
}

function emit(tab: Tab, seq: number, channel: string): void {
  tab.fakes.last().emit(`e1-${seq}`, { type: "data", channel, data: { n: seq } });
}

it("three tabs hold one EventSource over the union of their channels, each getting its own channels' events once", async () => {
  const browser = fakeBrowser();
  const [a, b, c] = [openTab(browser, "a"), openTab(browser, "b"), openTab(browser, "c")];
  a.listen("project.a");
  b.listen("project.b");
  c.listen("project.c");
  c.listen("project.b");
  await vi.waitFor(() =>
    expect(a.fakes.last().query.getAll("channel")).toEqual(["project.a", "project.b", "project.c"]),
  );
  a.fakes.last().open();
  await vi.waitFor(() => {
    for (const tab of [a, b, c]) expect(tab.client.connection.getSnapshot().status).toBe("open");
  });
  emit(a, 1, "project.a");
  emit(a, 2, "project.b");
  emit(a, 3, "project.c");
  await vi.waitFor(() => expect(c.got).toEqual(["project.b:2", "project.c:3"]));
  await vi.waitFor(() => expect(b.got).toEqual(["project.b:2"]));
  expect(a.got).toEqual(["project.a:1"]);
  expect(b.fakes.instances).toHaveLength(0);
  expect(c.fakes.instances).toHaveLength(0);
  expect(
    browser.holderOf(
      sharingFor({ baseUrl: "http://hub.test", share: true }, a.tab.environment)?.name ?? "",
    ),
  ).toBe("a");
  // Every tab holds the stream's cursor, whatever its channels.
  expect(b.client.connection.getSnapshot().lastEventId).toBe("e1-3");
});

it("a leader that dies mid-delivery hands over to the next tab, which resumes from its cursor: nothing lost, nothing twice", async () => {
  const browser = fakeBrowser();
  const [a, b, c] = [openTab(browser, "a"), openTab(browser, "b"), openTab(browser, "c")];
  a.listen("project.a");
  b.listen("project.b");
  c.listen("project.b");
  c.listen("project.c");
  await vi.waitFor(() => expect(a.fakes.last().query.getAll("channel")).toHaveLength(3));
  a.fakes.last().open();
  emit(a, 1, "project.b");
  emit(a, 2, "project.c");
  await vi.waitFor(() => expect(c.got).toEqual(["project.b:1", "project.c:2"]));
  // The leader has the next event from its stream and posts it, then dies before it arrives.
  emit(a, 3, "project.b");
  a.tab.kill();

  await vi.waitFor(() => expect(b.fakes.instances).toHaveLength(1));
  const taken = b.fakes.last();
  // The union without the dead tab's channel, from the last id the tabs received.
  expect(taken.query.getAll("channel")).toEqual(["project.b", "project.c"]);
  expect(taken.query.get("lastEventId")).toBe("e1-2");
  expect(c.fakes.instances).toHaveLength(0);
  taken.open();
  await vi.waitFor(() => expect(c.client.connection.getSnapshot().status).toBe("open"));
  emit(b, 3, "project.b");
  emit(b, 2, "project.c"); // a duplicate, as a resume may send: dropped in every tab
  emit(b, 4, "project.c");
  await vi.waitFor(() =>
    expect(c.got).toEqual(["project.b:1", "project.c:2", "project.b:3", "project.c:4"]),
  );
  expect(b.got).toEqual(["project.b:1", "project.b:3"]);
});

it("a tab that closes leaves the union: the leader re-opens from its cursor, and the shared state reaches every tab", async () => {
  const browser = fakeBrowser();
  const [a, b] = [openTab(browser, "a"), openTab(browser, "b")];
  a.listen("project.a");
  b.listen("project.b");
  await vi.waitFor(() => expect(a.fakes.last().query.getAll("channel")).toHaveLength(2));
  a.fakes.last().open();
  emit(a, 1, "project.a");
  await vi.waitFor(() => expect(b.client.connection.getSnapshot().lastEventId).toBe("e1-1"));
  const opened = a.fakes.instances.length;
  b.client.close();
  await vi.waitFor(() => expect(a.fakes.instances).toHaveLength(opened + 1));
  expect(a.fakes.last().query.getAll("channel")).toEqual(["project.a"]);
  expect(a.fakes.last().query.get("lastEventId")).toBe("e1-1");

  const d = openTab(browser, "d");
  d.listen("project.a");
  await vi.waitFor(() => expect(a.fakes.instances).toHaveLength(opened + 1));
  a.fakes.last().fail(403);
  await vi.waitFor(() =>
    expect(d.client.connection.getSnapshot()).toMatchObject({
      status: "closed",
      lastError: { status: 403 },
    }),
  );
  d.client.reconnect();
  await vi.waitFor(() => expect(a.fakes.instances).toHaveLength(opened + 2));
});

it("a tab closed normally hands the stream to the next at once", async () => {
  const browser = fakeBrowser();
  const [a, b] = [openTab(browser, "a"), openTab(browser, "b")];
  a.listen("project.a");
  b.listen("project.b");
  await vi.waitFor(() => expect(a.fakes.last().query.getAll("channel")).toHaveLength(2));
  a.fakes.last().open();
  emit(a, 7, "project.b");
  await vi.waitFor(() => expect(b.got).toEqual(["project.b:7"]));
  a.client.close();
  await vi.waitFor(() => expect(b.fakes.instances).toHaveLength(1));
  expect(b.fakes.last().query.getAll("channel")).toEqual(["project.b"]);
  expect(b.fakes.last().query.get("lastEventId")).toBe("e1-7");
});

it("shares only where the browser can, and only between tabs of one hub and one set of credentials", () => {
  const environment: SharingEnvironment = fakeBrowser().tab("x").environment;
  const name = (options: Parameters<typeof sharingFor>[0]) =>
    sharingFor(options, environment)?.name;
  expect(sharingFor({ baseUrl: "http://hub.test" }, undefined)).toBeUndefined();
  expect(name({ baseUrl: "http://hub.test", share: false })).toBeUndefined();
  expect(name({ baseUrl: "http://hub.test" })).toBeDefined();
  // A token or headers function: only with a key saying whose credentials they are.
  expect(name({ baseUrl: "http://hub.test", token: () => "t" })).toBeUndefined();
  expect(name({ baseUrl: "http://hub.test", headers: () => ({}), share: true })).toBeUndefined();
  const alice = name({ baseUrl: "http://hub.test", token: () => "t", share: { key: "alice" } });
  const bob = name({ baseUrl: "http://hub.test", token: () => "t", share: { key: "bob" } });
  expect(alice).toBeDefined();
  expect(alice).not.toBe(bob);
  expect(name({ baseUrl: "http://other.test" })).not.toBe(name({ baseUrl: "http://hub.test" }));
  expect(name({ baseUrl: "http://hub.test", path: "/api/events" })).not.toBe(
    name({ baseUrl: "http://hub.test" }),
  );
  // An EventSource of the page's own shares only when asked to.
  expect(
    name({ baseUrl: "http://hub.test", EventSource: fakeEventSources().EventSource }),
  ).toBeUndefined();
});

it("a follower's from: \"start\" subscription gets its channel's past through the leader, the other tabs nothing twice", async () => {
  const browser = fakeBrowser();
  const [a, b, c] = [openTab(browser, "a"), openTab(browser, "b"), openTab(browser, "c")];
  a.listen("project.a");
  c.listen("file.b");
  await vi.waitFor(() => expect(a.fakes.last().query.getAll("channel")).toHaveLength(2));
  a.fakes.last().open();
  emit(a, 3, "file.b");
  emit(a, 5, "project.a");
  await vi.waitFor(() => expect(c.client.connection.getSnapshot().lastEventId).toBe("e1-5"));

  const past: string[] = [];
  b.client.subscribe(
    "file.b",
    (message, meta) => past.push(`${message.data?.n}${meta.replayed ? "r" : ""}`),
    {
      from: "start",
    },
  );
  await vi.waitFor(() => expect(a.fakes.last().query.getAll("start")).toEqual(["file.b"]));
  const source = a.fakes.last();
  expect(source.query.get("lastEventId")).toBe("e1-5");
  source.open();
  emit(a, 1, "file.b");
  emit(a, 3, "file.b");
  emit(a, 6, "file.b");
  await vi.waitFor(() => expect(past).toEqual(["1r", "3r", "6"]));
  await vi.waitFor(() => expect(c.got).toEqual(["file.b:3", "file.b:6"]));
  expect(a.got).toEqual(["project.a:5"]);
});

it("a client that never subscribes takes no part: no lock, no stream", async () => {
  const browser = fakeBrowser();
  const idle = openTab(browser, "idle");
  const name = sharingFor({ baseUrl: "http://hub.test", share: true }, idle.tab.environment)?.name;
  await new Promise((resolve) => setTimeout(resolve, 0));
  expect(browser.holderOf(name ?? "")).toBeUndefined();
  const used = openTab(browser, "used");
  used.listen("project.a");
  await vi.waitFor(() => expect(used.fakes.instances).toHaveLength(1));
  expect(browser.holderOf(name ?? "")).toBe("used");
  expect(idle.fakes.instances).toHaveLength(0);
});

it('a hand-over asks for a from: "start" subscription\'s history again, and what it had is not repeated', async () => {
  const browser = fakeBrowser();
  const [a, b] = [openTab(browser, "a"), openTab(browser, "b")];
  a.listen("project.a");
  await vi.waitFor(() => expect(a.fakes.instances).toHaveLength(1));
  a.fakes.last().open();
  emit(a, 5, "project.a");
  const past: number[] = [];
  b.client.subscribe("file.b", (message) => past.push(Number(message.data?.n)), { from: "start" });
  await vi.waitFor(() => expect(a.fakes.last().query.getAll("start")).toEqual(["file.b"]));
  a.fakes.last().open();
  emit(a, 1, "file.b");
  await vi.waitFor(() => expect(past).toEqual([1]));
  // The leader dies before the rest of the history reached b.
  a.tab.kill();
  await vi.waitFor(() => expect(b.fakes.instances).toHaveLength(1));
  const taken = b.fakes.last();
  expect(taken.query.getAll("start")).toEqual(["file.b"]);
  expect(taken.query.get("lastEventId")).toBe("e1-5");
  taken.open();
  emit(b, 1, "file.b");
  emit(b, 3, "file.b");
  emit(b, 6, "file.b");
  await vi.waitFor(() => expect(past).toEqual([1, 3, 6]));
});
