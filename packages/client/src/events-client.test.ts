import type { Message } from "@herald/protocol";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { type FakeEventSources, fakeEventSources } from "../test/fake-event-source.ts";
import type { ConnectionState } from "./connection-state.ts";
import { HeraldClientError } from "./errors.ts";
import { createEventsClient, type EventsClientOptions } from "./events-client.ts";

const BASE = "http://hub.test";

/** Lets queued microtasks (the coalesced re-open, promise chains) run, without moving the clock. */
async function settle(): Promise<void> {
  for (let i = 0; i < 50; i += 1) await Promise.resolve();
}

let fakes: FakeEventSources;
let errors: HeraldClientError[];

function makeClient(options: EventsClientOptions = {}) {
  return createEventsClient({
    baseUrl: BASE,
    EventSource: fakes.EventSource,
    onError: (error) => errors.push(error),
    random: () => 0.5,
    ...options,
  });
}

function collect() {
  const messages: Message[] = [];
  const handler = (message: Message) => {
    messages.push(message);
  };
  return { messages, handler, ids: () => messages.map((m) => m.data?.n) };
}

beforeEach(() => {
  vi.useFakeTimers();
  fakes = fakeEventSources();
  errors = [];
});

afterEach(() => {
  vi.useRealTimers();
});

describe("one multiplexed stream", () => {
  it("opens a single EventSource for every subscription, channels sorted and deduplicated", async () => {
    const client = makeClient();
    client.subscribe("project.b", () => {});
    client.subscribe("project.a", () => {});
    client.subscribe("project.a", () => {});
    client.subscribe("file.x", () => {});
    await settle();

    expect(fakes.instances).toHaveLength(1);
    expect(fakes.last().url).toBe(
      `${BASE}/api/v1/events?channel=file.x&channel=project.a&channel=project.b`,
    );
    client.close();
  });

  it("coalesces changes made in one tick into one re-open that resumes from the last cursor", async () => {
    const client = makeClient();
    const offB = client.subscribe("project.b", () => {});
    client.subscribe("project.a", () => {});
    await settle();
    const first = fakes.last();
    first.open();
    first.emit("e1-5", { type: "task", channel: "project.a" });

    offB();
    client.subscribe("user.u1", () => {});
    client.subscribe("file.f1", () => {});
    await settle();

    expect(fakes.instances).toHaveLength(2);
    expect(first.closed).toBe(true);
    const second = fakes.last();
    expect(second.query.getAll("channel")).toEqual(["file.f1", "project.a", "user.u1"]);
    expect(second.query.get("lastEventId")).toBe("e1-5");
    client.close();
  });

  it("does not re-open when a channel keeps another subscriber", async () => {
    const client = makeClient();
    const off = client.subscribe("project.a", () => {});
    client.subscribe("project.a", () => {});
    await settle();
    off();
    off();
    await settle();
    expect(fakes.instances).toHaveLength(1);
    expect(fakes.last().closed).toBe(false);
    client.close();
  });

  it("uses the path option and keeps one slash between baseUrl and path", async () => {
    const client = makeClient({ baseUrl: `${BASE}/`, path: "/events" });
    client.subscribe("project.a", () => {});
    await settle();
    expect(fakes.last().url).toBe(`${BASE}/events?channel=project.a`);
    client.close();
  });

  it("refuses a channel name the hub would refuse, saying why", () => {
    const client = makeClient();
    expect(() => client.subscribe("project..x", () => {})).toThrow(
      expect.objectContaining({ code: "invalid_channel" }),
    );
    expect(() => client.subscribe("Project.1", () => {})).toThrow(/channel kind/);
    client.close();
  });
});

describe("delivering messages", () => {
  it("dispatches to the subscriptions of the message's channel, filtered by types", async () => {
    const client = makeClient();
    const all = collect();
    const tasksOnly = collect();
    const other = collect();
    client.subscribe("project.p1", all.handler);
    client.subscribe("project.p1", tasksOnly.handler, { types: ["task"] });
    client.subscribe("project.p2", other.handler);
    await settle();
    const source = fakes.last();
    source.open();

    source.emit("e1-1", { type: "task", channel: "project.p1", data: { n: 1 } });
    source.emit("e1-2", { type: "render_progress", channel: "project.p1", data: { n: 2 } });
    source.emit("e1-3", { type: "someday_type", channel: "project.p1", data: { n: 3 } });

    expect(all.ids()).toEqual([1, 2, 3]);
    expect(tasksOnly.ids()).toEqual([1]);
    expect(other.messages).toEqual([]);
    expect(all.messages[0]).toMatchObject({ type: "task", channel: "project.p1", ts: 1 });
    client.close();
  });

  it("passes the event id to handlers", async () => {
    const client = makeClient();
    const ids: (string | undefined)[] = [];
    client.subscribe("project.p1", (_message, meta) => ids.push(meta.id));
    await settle();
    fakes.last().emit("e1-9", { type: "task", channel: "project.p1" });
    expect(ids).toEqual(["e1-9"]);
    client.close();
  });

  it("drops an event whose seq is not past the last one of the same epoch", async () => {
    const client = makeClient();
    const got = collect();
    client.subscribe("project.p1", got.handler);
    await settle();
    const source = fakes.last();
    source.open();
    source.emit("e1-1", { type: "task", channel: "project.p1", data: { n: 1 } });
    source.emit("e1-2", { type: "task", channel: "project.p1", data: { n: 2 } });
    source.emit("e1-2", { type: "task", channel: "project.p1", data: { n: 22 } });
    source.emit("e1-1", { type: "task", channel: "project.p1", data: { n: 11 } });
    source.emit("e1-3", { type: "task", channel: "project.p1", data: { n: 3 } });
    // A new epoch is a new history: its small seqs are not duplicates.
    source.emit("e2-1", { type: "task", channel: "project.p1", data: { n: 4 } });

    expect(got.ids()).toEqual([1, 2, 3, 4]);
    expect(client.connection.getSnapshot().lastEventId).toBe("e2-1");
    client.close();
  });

  it("always delivers stream_reset, whatever the types filter, and moves the cursor to its id", async () => {
    const client = makeClient();
    const tasks = collect();
    client.subscribe("project.p1", tasks.handler, { types: ["task"] });
    await settle();
    const source = fakes.last();
    source.open();
    source.emit("e1-10", { type: "task", channel: "project.p1", data: { n: 1 } });
    source.emit("e1-3", {
      type: "stream_reset",
      channel: "project.p1",
      object: { reason: "history_expired" },
    });
    source.emit("e1-4", { type: "task", channel: "project.p1", data: { n: 2 } });

    expect(tasks.messages.map((m) => m.type)).toEqual(["task", "stream_reset", "task"]);
    expect(tasks.messages[1]?.object).toEqual({ reason: "history_expired" });
    expect(client.connection.getSnapshot().lastEventId).toBe("e1-4");
    client.close();
  });

  it("keeps the stream and the other handlers going when a handler throws, and reports it", async () => {
    const client = makeClient();
    const got = collect();
    client.subscribe("project.p1", () => {
      throw new Error("boom");
    });
    client.subscribe("project.p1", got.handler);
    await settle();
    const source = fakes.last();
    source.emit("e1-1", { type: "task", channel: "project.p1", data: { n: 1 } });
    source.emit("e1-2", { type: "task", channel: "project.p1", data: { n: 2 } });

    expect(got.ids()).toEqual([1, 2]);
    expect(errors.map((e) => e.code)).toEqual(["handler_failed", "handler_failed"]);
    expect(errors[0]?.message).toContain("boom");
    expect(source.closed).toBe(false);
    client.close();
  });

  it("reports an event that is not a JSON envelope and goes on with the next", async () => {
    const client = makeClient();
    const got = collect();
    client.subscribe("project.p1", got.handler);
    await settle();
    const source = fakes.last();
    source.emitRaw("e1-1", "{not json");
    source.emitRaw("e1-2", JSON.stringify({ type: "task" }));
    source.emit("e1-3", { type: "task", channel: "project.p1", data: { n: 3 } });

    expect(got.ids()).toEqual([3]);
    expect(errors.map((e) => e.code)).toEqual(["invalid_message", "invalid_message"]);
    client.close();
  });

  it("stops delivering to a subscription as soon as it is unsubscribed", async () => {
    const client = makeClient();
    const got = collect();
    const off = client.subscribe("project.p1", got.handler);
    client.subscribe("project.p1", () => off());
    await settle();
    const source = fakes.last();
    source.emit("e1-1", { type: "task", channel: "project.p1", data: { n: 1 } });
    source.emit("e1-2", { type: "task", channel: "project.p1", data: { n: 2 } });
    expect(got.ids()).toEqual([1]);
    client.close();
  });
});

describe("connection state", () => {
  it("goes idle → connecting → open, keeping the same snapshot until something changes", async () => {
    const client = makeClient();
    const seen: ConnectionState[] = [];
    const stop = client.connection.subscribe((state) => seen.push(state));
    const idle = client.connection.getSnapshot();
    expect(idle).toEqual({ status: "idle", attempts: 0 });

    client.subscribe("project.p1", () => {});
    await settle();
    const connecting = client.connection.getSnapshot();
    expect(connecting.status).toBe("connecting");
    expect(client.connection.getSnapshot()).toBe(connecting);

    fakes.last().open();
    expect(client.connection.getSnapshot().status).toBe("open");
    expect(seen.map((s) => s.status)).toEqual(["connecting", "open"]);

    stop();
    fakes.last().emit("e1-1", { type: "task", channel: "project.p1" });
    expect(seen).toHaveLength(2);
    expect(client.connection.getSnapshot().lastEventId).toBe("e1-1");
    client.close();
  });

  it("counts EventSource's own retries as reconnecting attempts and resets them on open", async () => {
    const client = makeClient();
    client.subscribe("project.p1", () => {});
    await settle();
    const source = fakes.last();
    source.open();
    source.drop("socket hang up");
    expect(client.connection.getSnapshot()).toMatchObject({
      status: "reconnecting",
      attempts: 1,
      lastError: { code: "network" },
    });
    expect(client.connection.getSnapshot().lastError?.message).toContain("socket hang up");
    source.drop();
    expect(client.connection.getSnapshot().attempts).toBe(2);
    source.open();
    expect(client.connection.getSnapshot()).toMatchObject({ status: "open", attempts: 0 });
    // EventSource kept retrying by itself: no new one was made.
    expect(fakes.instances).toHaveLength(1);
    client.close();
  });

  it("reports a throwing state listener without stopping the others", async () => {
    const client = makeClient();
    const statuses: string[] = [];
    client.connection.subscribe(() => {
      throw new Error("listener broke");
    });
    client.connection.subscribe((state) => statuses.push(state.status));
    client.subscribe("project.p1", () => {});
    await settle();
    expect(statuses).toEqual(["connecting"]);
    expect(errors[0]?.message).toContain("listener broke");
    client.close();
  });
});

describe("reconnecting after EventSource gives up", () => {
  /** Fails the newest EventSource with `status`, then returns after how many ms a new one opens. */
  async function delayAfterFailure(status: number | undefined, limitMs = 120_000): Promise<number> {
    const before = fakes.instances.length;
    fakes.last().fail(status);
    await settle();
    for (let elapsed = 0; elapsed <= limitMs; elapsed += 1) {
      await vi.advanceTimersByTimeAsync(elapsed === 0 ? 0 : 1);
      if (fakes.instances.length > before) return elapsed;
    }
    return Number.POSITIVE_INFINITY;
  }

  it("doubles the backoff window from initialMs up to maxMs, with random()≈1 near the cap", async () => {
    const client = makeClient({ random: () => 0.999 });
    client.subscribe("project.p1", () => {});
    await settle();

    const delays: number[] = [];
    for (let i = 0; i < 7; i += 1) delays.push(await delayAfterFailure(502));
    expect(delays).toEqual([999, 1998, 3996, 7992, 15984, 29970, 29970]);
    expect(client.connection.getSnapshot()).toMatchObject({
      status: "reconnecting",
      attempts: 7,
      lastError: { code: "http_error", status: 502 },
    });
    client.close();
  });

  it("reconnects at once with random()=0 (full jitter starts at zero)", async () => {
    const client = makeClient({ random: () => 0 });
    client.subscribe("project.p1", () => {});
    await settle();
    expect(await delayAfterFailure(503)).toBe(0);
    expect(await delayAfterFailure(503)).toBe(0);
    client.close();
  });

  it("keeps every delay within [0, cap) for any random value", async () => {
    const values = [0, 0.25, 0.5, 0.75, 0.999];
    let next = 0;
    const client = makeClient({
      random: () => values[next++ % values.length] ?? 0,
      backoff: { initialMs: 100, maxMs: 800 },
    });
    client.subscribe("project.p1", () => {});
    await settle();
    for (let attempt = 1; attempt <= 8; attempt += 1) {
      const cap = Math.min(800, 100 * 2 ** (attempt - 1));
      const delay = await delayAfterFailure(500);
      expect(delay).toBeGreaterThanOrEqual(0);
      expect(delay).toBeLessThan(cap);
    }
    client.close();
  });

  it("resumes the new EventSource from the last cursor through the lastEventId parameter", async () => {
    const client = makeClient();
    client.subscribe("project.p1", () => {});
    await settle();
    const first = fakes.last();
    first.open();
    first.emit("e1-41", { type: "task", channel: "project.p1" });
    first.emit("e1-42", { type: "task", channel: "project.p1" });
    await delayAfterFailure(502);
    expect(first.closed).toBe(true);
    expect(fakes.last().query.get("lastEventId")).toBe("e1-42");
    expect(client.connection.getSnapshot().status).toBe("reconnecting");
    client.close();
  });

  it("starts again from the first window once a stream has opened", async () => {
    const client = makeClient({ random: () => 0.999 });
    client.subscribe("project.p1", () => {});
    await settle();
    await delayAfterFailure(502);
    await delayAfterFailure(502);
    expect(client.connection.getSnapshot().attempts).toBe(2);
    fakes.last().open();
    expect(client.connection.getSnapshot().attempts).toBe(0);
    expect(await delayAfterFailure(502)).toBe(999);
    client.close();
  });

  it("gives up after maxAttempts failures in a row: closed, reported, no more attempts", async () => {
    const client = makeClient({ backoff: { maxAttempts: 3 } });
    client.subscribe("project.p1", () => {});
    await settle();
    await delayAfterFailure(502);
    await delayAfterFailure(502);
    fakes.last().fail(502);
    await settle();
    await vi.advanceTimersByTimeAsync(3_600_000);

    expect(fakes.instances).toHaveLength(3);
    expect(client.connection.getSnapshot()).toMatchObject({
      status: "closed",
      attempts: 3,
      lastError: { code: "gave_up", status: 502 },
    });
    expect(errors.map((e) => e.code)).toEqual(["gave_up"]);
    expect(errors[0]?.message).toMatch(/gave up after 3 failed attempts/);
    client.close();
  });

  it("counts EventSource's own retries toward maxAttempts", async () => {
    const client = makeClient({ backoff: { maxAttempts: 2 } });
    client.subscribe("project.p1", () => {});
    await settle();
    const source = fakes.last();
    source.drop();
    source.drop();
    expect(source.closed).toBe(true);
    expect(client.connection.getSnapshot()).toMatchObject({ status: "closed", attempts: 2 });
    client.close();
  });

  it("lets reconnect() try again at once after giving up", async () => {
    const client = makeClient({ backoff: { maxAttempts: 1 } });
    client.subscribe("project.p1", () => {});
    await settle();
    fakes.last().fail(502);
    await settle();
    expect(client.connection.getSnapshot().status).toBe("closed");
    client.reconnect();
    expect(fakes.instances).toHaveLength(2);
    expect(client.connection.getSnapshot()).toMatchObject({ status: "connecting", attempts: 0 });
    client.close();
  });

  it.each([400, 403, 404])(
    "stops on %i: closed with lastError, reported, never retried",
    async (status) => {
      const client = makeClient({ random: () => 0 });
      client.subscribe("project.p1", () => {});
      await settle();
      fakes.last().fail(status);
      await settle();
      await vi.advanceTimersByTimeAsync(3_600_000);

      expect(fakes.instances).toHaveLength(1);
      expect(client.connection.getSnapshot()).toMatchObject({
        status: "closed",
        lastError: { status },
      });
      expect(errors).toHaveLength(1);
      expect(errors[0]).toBeInstanceOf(HeraldClientError);
      expect(errors[0]?.status).toBe(status);
      expect(errors[0]?.message).toContain("Not retrying");
      client.close();
    },
  );

  it("tries again after a refusal once the subscriptions change", async () => {
    const client = makeClient();
    client.subscribe("project.p1", () => {});
    const offForbidden = client.subscribe("project.secret", () => {});
    await settle();
    fakes.last().fail(403);
    await settle();
    expect(client.connection.getSnapshot().status).toBe("closed");

    offForbidden();
    await settle();
    expect(fakes.instances).toHaveLength(2);
    expect(fakes.last().query.getAll("channel")).toEqual(["project.p1"]);
    client.close();
  });

  it("on 401 awaits onUnauthorized, then reopens at once, reading the token again", async () => {
    let token = "old";
    let release: () => void = () => {};
    const onUnauthorized = vi.fn(
      () =>
        new Promise<void>((resolve) => {
          release = () => {
            token = "new";
            resolve();
          };
        }),
    );
    const client = makeClient({ token: () => token, onUnauthorized, random: () => 0.999 });
    client.subscribe("project.p1", () => {});
    await settle();
    expect(fakes.last().query.get("token")).toBe("old");
    fakes.last().open();
    fakes.last().emit("e1-7", { type: "task", channel: "project.p1" });

    fakes.last().fail(401);
    await settle();
    expect(onUnauthorized).toHaveBeenCalledTimes(1);
    expect(fakes.instances).toHaveLength(1);
    expect(client.connection.getSnapshot()).toMatchObject({
      status: "reconnecting",
      lastError: { code: "unauthorized", status: 401 },
    });

    release();
    await settle();
    expect(fakes.instances).toHaveLength(2);
    expect(fakes.last().query.get("token")).toBe("new");
    expect(fakes.last().query.get("lastEventId")).toBe("e1-7");
    client.close();
  });

  it("backs off on a second 401 in a row, so a broken login does not hammer the hub", async () => {
    const onUnauthorized = vi.fn();
    const client = makeClient({ onUnauthorized, random: () => 0.999 });
    client.subscribe("project.p1", () => {});
    await settle();
    expect(await delayAfterFailure(401)).toBe(0);
    expect(await delayAfterFailure(401)).toBe(1998);
    expect(onUnauthorized).toHaveBeenCalledTimes(2);
    client.close();
  });

  it("reports an onUnauthorized that throws and still reconnects", async () => {
    const client = makeClient({
      onUnauthorized: () => {
        throw new Error("refresh endpoint down");
      },
    });
    client.subscribe("project.p1", () => {});
    await settle();
    expect(await delayAfterFailure(401)).toBe(0);
    expect(errors[0]?.message).toContain("refresh endpoint down");
    client.close();
  });

  describe("with an EventSource that does not tell the status (the browser's)", () => {
    function probeAnswering(response: () => Response | Promise<Response>) {
      return vi.fn(async (_input: RequestInfo | URL, _init?: RequestInit) => response());
    }

    it("probes the same URL with fetch and stops on a 403, with the hub's own message", async () => {
      const fetch = probeAnswering(
        () =>
          new Response(
            JSON.stringify({ error: { code: "forbidden", message: "project.p9 is not yours" } }),
            { status: 403, headers: { "content-type": "application/json" } },
          ),
      );
      const client = makeClient({ fetch, withCredentials: true, token: () => "t1" });
      client.subscribe("project.p9", () => {});
      await settle();
      const source = fakes.last();
      source.fail();
      await vi.waitFor(() => expect(client.connection.getSnapshot().status).toBe("closed"));

      expect(fetch).toHaveBeenCalledTimes(1);
      const [url, init] = fetch.mock.calls[0] ?? [];
      expect(url).toBe(source.url);
      expect(init?.credentials).toBe("include");
      expect(init?.headers).toMatchObject({ Accept: "text/event-stream" });
      expect(init?.signal).toBeInstanceOf(AbortSignal);
      expect(client.connection.getSnapshot().lastError).toMatchObject({
        code: "forbidden",
        status: 403,
      });
      expect(errors[0]?.message).toContain("project.p9 is not yours");
      client.close();
    });

    it("aborts the probe as soon as a working stream answers, then backs off", async () => {
      let signal: AbortSignal | undefined;
      const fetch = vi.fn(async (_input: RequestInfo | URL, init?: RequestInit) => {
        signal = init?.signal ?? undefined;
        return new Response(new ReadableStream(), {
          status: 200,
          headers: { "content-type": "text/event-stream" },
        });
      });
      const client = makeClient({ fetch, random: () => 0.999 });
      client.subscribe("project.p1", () => {});
      await settle();
      expect(await delayAfterFailure(undefined)).toBe(999);
      expect(signal?.aborted).toBe(true);
      client.close();
    });

    it("honours Retry-After as the least delay", async () => {
      const fetch = probeAnswering(
        () => new Response("busy", { status: 503, headers: { "retry-after": "5" } }),
      );
      const client = makeClient({ fetch, random: () => 0 });
      client.subscribe("project.p1", () => {});
      await settle();
      expect(await delayAfterFailure(undefined)).toBe(5000);
      expect(client.connection.getSnapshot().lastError).toMatchObject({
        code: "unavailable",
        status: 503,
      });
      client.close();
    });

    it("backs off when the server cannot be reached at all", async () => {
      const fetch = probeAnswering(() => {
        throw new TypeError("fetch failed");
      });
      const client = makeClient({ fetch, random: () => 0.5 });
      client.subscribe("project.p1", () => {});
      await settle();
      expect(await delayAfterFailure(undefined)).toBe(500);
      expect(client.connection.getSnapshot().lastError).toMatchObject({ code: "network" });
      expect(client.connection.getSnapshot().lastError?.message).toContain("fetch failed");
      client.close();
    });
  });

  it("keeps channels added during the backoff for the stream that ends it", async () => {
    const client = makeClient({ random: () => 0.999 });
    client.subscribe("project.p1", () => {});
    await settle();
    fakes.last().fail(502);
    await settle();
    client.subscribe("project.p2", () => {});
    await settle();
    expect(fakes.instances).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(999);
    expect(fakes.instances).toHaveLength(2);
    expect(fakes.last().query.getAll("channel")).toEqual(["project.p1", "project.p2"]);
    client.close();
  });
});

describe("linger", () => {
  it("closes the stream lingerMs after the last subscription ends, then is idle", async () => {
    const client = makeClient({ lingerMs: 1000 });
    const off = client.subscribe("project.p1", () => {});
    await settle();
    const source = fakes.last();
    source.open();
    source.emit("e1-3", { type: "task", channel: "project.p1" });
    off();
    await settle();

    await vi.advanceTimersByTimeAsync(999);
    expect(source.closed).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(source.closed).toBe(true);
    expect(client.connection.getSnapshot()).toEqual({ status: "idle", attempts: 0 });

    // After idle, a new subscription starts live rather than from a stale cursor.
    client.subscribe("project.p1", () => {});
    await settle();
    expect(fakes.last().query.get("lastEventId")).toBeNull();
    client.close();
  });

  it("keeps the same EventSource when the channel is subscribed again within the linger", async () => {
    const client = makeClient({ lingerMs: 1000 });
    const off = client.subscribe("project.p1", () => {});
    await settle();
    const source = fakes.last();
    source.open();
    // React StrictMode: mount, unmount, mount.
    off();
    await settle();
    await vi.advanceTimersByTimeAsync(500);
    client.subscribe("project.p1", () => {});
    await settle();
    await vi.advanceTimersByTimeAsync(10_000);

    expect(fakes.instances).toHaveLength(1);
    expect(source.closed).toBe(false);
    expect(client.connection.getSnapshot().status).toBe("open");
    client.close();
  });

  it("does not open/close/open for an unsubscribe and subscribe in the same tick", async () => {
    const client = makeClient({ lingerMs: 0 });
    const off = client.subscribe("project.p1", () => {});
    await settle();
    off();
    client.subscribe("project.p1", () => {});
    await settle();
    await vi.advanceTimersByTimeAsync(100);
    expect(fakes.instances).toHaveLength(1);
    expect(fakes.last().closed).toBe(false);
    client.close();
  });
});

describe("close()", () => {
  it("closes the EventSource, cancels a pending reconnect and refuses later use", async () => {
    const client = makeClient({ random: () => 0.999 });
    const got = collect();
    client.subscribe("project.p1", got.handler);
    await settle();
    const source = fakes.last();
    source.fail(502);
    await settle();

    client.close();
    await vi.advanceTimersByTimeAsync(3_600_000);
    expect(fakes.instances).toHaveLength(1);
    expect(client.connection.getSnapshot().status).toBe("closed");
    expect(() => client.subscribe("project.p1", () => {})).toThrow(
      expect.objectContaining({ code: "client_closed" }),
    );
    expect(() => client.reconnect()).toThrow(/closed/);
  });

  it("closes an open EventSource and ignores anything it still says", async () => {
    const client = makeClient();
    const got = collect();
    client.subscribe("project.p1", got.handler);
    await settle();
    const source = fakes.last();
    source.open();
    client.close();
    expect(source.closed).toBe(true);
    source.emit("e1-1", { type: "task", channel: "project.p1" });
    expect(got.messages).toEqual([]);
  });
});

describe("options", () => {
  it("refuses headers with an EventSource that cannot send them", () => {
    expect(() => makeClient({ headers: () => ({ Authorization: "Bearer x" }) })).toThrow(
      expect.objectContaining({
        code: "invalid_options",
        message: expect.stringMatching(/token option/),
      }),
    );
  });

  it("asks for a baseUrl outside a web page", () => {
    expect(() => createEventsClient({})).toThrow(/baseUrl is needed/);
  });

  it("refuses a backoff that cannot work", () => {
    expect(() => makeClient({ backoff: { maxAttempts: 0 } })).toThrow(
      expect.objectContaining({ code: "invalid_options" }),
    );
  });
});

describe('from: "start"', () => {
  it("replays one channel's history to the subscription that asked, while the others keep their cursor and see nothing twice", async () => {
    const client = makeClient();
    const project = collect();
    client.subscribe("project.a", project.handler);
    await settle();
    const first = fakes.last();
    first.open();
    first.emit("e1-5", { type: "data", channel: "project.a", data: { n: 5 } });

    const live = collect();
    client.subscribe("file.b", live.handler);
    const replayed: (boolean | undefined)[] = [];
    const past = collect();
    client.subscribe(
      "file.b",
      (message, meta) => {
        replayed.push(meta.replayed);
        past.handler(message);
      },
      { from: "start" },
    );
    await settle();
    const second = fakes.last();
    expect(second).not.toBe(first);
    expect(second.query.getAll("channel")).toEqual(["file.b", "project.a"]);
    expect(second.query.getAll("start")).toEqual(["file.b"]);
    expect(second.query.get("lastEventId")).toBe("e1-5");
    second.open();
    second.emit("e1-2", { type: "data", channel: "file.b", data: { n: 2 } });
    second.emit("e1-4", { type: "data", channel: "file.b", data: { n: 4 } });
    second.emit("e1-6", { type: "data", channel: "file.b", data: { n: 6 } });
    // EventSource's own retry asks for the history again: nothing comes twice.
    second.drop();
    second.open();
    second.emit("e1-2", { type: "data", channel: "file.b", data: { n: 2 } });
    second.emit("e1-5", { type: "data", channel: "project.a", data: { n: 5 } });
    second.emit("e1-6", { type: "data", channel: "file.b", data: { n: 6 } });
    second.emit("e1-7", { type: "data", channel: "project.a", data: { n: 7 } });

    expect(past.ids()).toEqual([2, 4, 6]);
    expect(replayed).toEqual([true, true, undefined]);
    expect(live.ids()).toEqual([6]);
    expect(project.ids()).toEqual([5, 7]);
    expect(client.connection.getSnapshot().lastEventId).toBe("e1-7");
    client.close();
  });

  it('refuses a from other than "start"', () => {
    const client = makeClient();
    expect(() =>
      client.subscribe("file.b", () => {}, { from: "end" as unknown as "start" }),
    ).toThrow(expect.objectContaining({ code: "invalid_options" }));
    client.close();
  });
});
