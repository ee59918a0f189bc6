/**
 * Streams ended on purpose at their maximum age (`maxStreamAgeMs`, issue 14): every event is
 * written whole before the end, the client resumes at once from its last id, and across the
 * rotations nothing is lost and nothing comes twice: with Herald's client over the `eventsource`
 * package, with that package's EventSource left to itself (it reconnects after the `retry` the
 * end sends, as a browser's does), and with a raw reader.
 */
import { type ConnectionState, createEventsClient, type HeraldClientError } from "@herald/client";
import { openRawStream, type RawStream } from "@herald/test-support/raw-sse";
import { startTestHub, type TestHub } from "@herald/test-support/server";
import { EventSource } from "eventsource";
import { afterEach, expect, it, vi } from "vitest";
import { createHub, PLANNED_END_RETRY_MS, type StreamSink } from "../src/hub.ts";
import { createMemoryStore } from "../src/memory-store.ts";

let server: TestHub | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** A reader that, like EventSource, reconnects when its stream ends, sending Last-Event-ID. */
function rawResumingReader(url: string, token: string) {
  const seen: number[] = [];
  const streams: RawStream[] = [];
  let lastId: string | undefined;
  let stopped = false;
  const done = (async () => {
    while (!stopped) {
      const headers: Record<string, string> = { authorization: `Bearer ${token}` };
      if (lastId) headers["last-event-id"] = lastId;
      const stream = await openRawStream(url, headers);
      streams.push(stream);
      let taken = 0;
      const take = () => {
        for (; taken < stream.events.length; taken++) {
          const event = stream.events[taken];
          if (!event || event.event !== undefined) continue; // the end event: no id, no message
          lastId = event.id;
          seen.push((JSON.parse(event.data) as { data: { n: number } }).data.n);
        }
      };
      stream.response.on("data", take);
      await stream.ended;
      take();
    }
  })();
  return {
    seen,
    streams,
    async stop() {
      stopped = true;
      streams.at(-1)?.close();
      await done;
    },
  };
}

it("rotates streams at a 5 s maximum age, and 400 events at 20/s reach resuming clients exactly once, in order", async () => {
  server = await startTestHub({ maxStreamAgeMs: 5000 });
  const hub = server;
  const channel = "project.rotating";

  const reported: HeraldClientError[] = [];
  const client = createEventsClient({
    baseUrl: hub.url,
    EventSource,
    token: () => hub.token,
    onError: (error) => reported.push(error),
  });
  const statuses: ConnectionState["status"][] = [];
  client.connection.subscribe((state) => {
    if (statuses.at(-1) !== state.status) statuses.push(state.status);
  });
  const viaClient: number[] = [];
  client.subscribe(channel, (message) => {
    viaClient.push((message.data as { n: number }).n);
  });
  const raw = rawResumingReader(`${hub.url}/api/v1/events/${channel}`, hub.token);
  const bare = new EventSource(`${hub.url}/api/v1/events/${channel}?token=${hub.token}`);
  const viaBare: number[] = [];
  let bareOpens = 0;
  bare.onopen = () => {
    bareOpens++;
  };
  bare.onmessage = (event) => {
    viaBare.push((JSON.parse(event.data) as { data: { n: number } }).data.n);
  };
  await vi.waitFor(() => {
    expect(client.connection.getSnapshot().status).toBe("open");
    expect(raw.streams[0]?.comments).toContain("ok");
    expect(bareOpens).toBe(1);
  });

  const total = 400;
  const expected = Array.from({ length: total }, (_, n) => n);
  let published = 0;
  await new Promise<void>((resolve, reject) => {
    // 20 events a second: the pace is the scenario, not a wait for a condition.
    const timer = setInterval(() => {
      hub.hub.publish(channel, { type: "data", data: { n: published } }).catch(reject);
      published++;
      if (published === total) {
        clearInterval(timer);
        resolve();
      }
    }, 50);
  });
  await vi.waitFor(
    () => {
      expect(viaClient).toHaveLength(total);
      expect(raw.seen).toHaveLength(total);
      expect(viaBare).toHaveLength(total);
    },
    { timeout: 10_000 },
  );
  expect(viaClient).toEqual(expected);
  expect(raw.seen).toEqual(expected);
  expect(viaBare).toEqual(expected);
  expect(bareOpens).toBeGreaterThanOrEqual(4);

  // At least three rotations each; each ended stream said it was planned, after its last event.
  const rotated = (await hub.hub.metrics.rotated.get()).values[0]?.value ?? 0;
  expect(rotated).toBeGreaterThanOrEqual(9);
  const ended = raw.streams.slice(0, -1);
  expect(ended.length).toBeGreaterThanOrEqual(3);
  for (const stream of ended) {
    expect(stream.retries.at(-1)).toBe(PLANNED_END_RETRY_MS);
    expect(stream.events.at(-1)).toMatchObject({ event: "end", id: expect.any(String) });
    expect(JSON.parse(stream.events.at(-1)?.data ?? "")).toEqual({ reason: "max_age" });
  }
  // Herald's client resumed at once each time, never showing a reconnect.
  expect(statuses).toEqual(["connecting", "open"]);
  expect(reported).toEqual([]);

  client.close();
  bare.close();
  await raw.stop();
});

it("ends a stream between its maximum age and a second later, with its events whole and the planned end last", async () => {
  vi.useFakeTimers({ toFake: ["setInterval", "clearInterval", "performance"] });
  try {
    const hub = createHub({ store: createMemoryStore(), maxStreamAgeMs: 5000 });
    const written: Buffer[] = [];
    let ended = false;
    const sink: StreamSink = {
      write: (chunk) => {
        written.push(Buffer.from(chunk));
      },
      bufferedBytes: 0,
      drained: async () => {},
      close: () => {
        throw new Error("a planned end ends the connection gracefully, not with close()");
      },
      end: () => {
        ended = true;
      },
    };
    hub.openStream({ channels: ["project.a"], subject: "s" }, sink);
    // Not vi.waitFor: with fake timers it moves the clock that this test reads.
    const turn = () => new Promise((resolve) => setImmediate(resolve));
    await turn();
    const id = await hub.publish("project.a", { type: "data", data: { n: 1 } });
    await turn();
    expect(Buffer.concat(written).toString()).toContain(`id: ${id}`);
    vi.advanceTimersByTime(4999);
    expect(ended).toBe(false);
    vi.advanceTimersByTime(1001);
    expect(ended).toBe(true);
    const text = Buffer.concat(written).toString();
    expect(
      text.endsWith(`retry: ${PLANNED_END_RETRY_MS}\n\nevent: end\ndata: {"reason":"max_age"}\n\n`),
    ).toBe(true);
    expect((await hub.metrics.openStreams.get()).values[0]?.value).toBe(0);
    await hub.close();
  } finally {
    vi.useRealTimers();
  }
});

it("refuses a maximum age that is not a number of ms above 0", () => {
  for (const maxStreamAgeMs of [0, -1, Number.NaN]) {
    expect(() => createHub({ store: createMemoryStore(), maxStreamAgeMs })).toThrow(RangeError);
  }
});
