/**
 * PROTOCOL.md end to end over real HTTP: a real hub on a real port, read both by the
 * `eventsource` package and by a byte-level parser.
 */
import { readFileSync } from "node:fs";
import { messagesOf, openRawStream, type RawStream } from "@herald/test-support/raw-sse";
import { startTestHub, type TestHub } from "@herald/test-support/server";
import { EventSource } from "eventsource";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

const FIXTURES = readFileSync(
  new URL("../../../../shared/fixtures/legacy-ws-messages.jsonl", import.meta.url),
  "utf8",
)
  .split("\n")
  .filter((line) => line.trim() !== "")
  .map((line) => JSON.parse(line) as Record<string, unknown>);

let server: TestHub;
beforeEach(async () => {
  server = await startTestHub();
});
afterEach(async () => {
  await server.close();
});

function stream(path: string, headers: Record<string, string> = {}): Promise<RawStream> {
  return openRawStream(`${server.url}${path}`, {
    authorization: `Bearer ${server.token}`,
    ...headers,
  });
}

describe("a stream", () => {
  it("answers with the SSE headers and sends retry, a comment and the opening cursor at once", async () => {
    const raw = await stream("/api/v1/events/project.p1");
    await raw.until((s) => s.comments.includes("ok"), "the opening comment");
    expect(raw.status).toBe(200);
    expect(raw.headers["content-type"]).toBe("text/event-stream; charset=utf-8");
    expect(raw.headers["cache-control"]).toBe("no-cache, no-transform");
    expect(raw.headers["x-accel-buffering"]).toBe("no");
    // Then the cursor of a stream that starts live (PROTOCOL.md section 3).
    await raw.until((s) => s.cursors.length === 1, "the opening cursor");
    expect(raw.text).toBe(
      `retry: 2000\n\n: ok\n\nevent: cursor\nid: ${raw.cursors[0]}\ndata: {}\n\n`,
    );
    raw.close();
  });

  it("carries every WebSocket-era fixture with every field intact plus channel and ts", async () => {
    const raw = await stream("/api/v1/events/project.p_01");
    await raw.until((s) => s.comments.includes("ok"));
    const before = Date.now();
    const ids: string[] = [];
    for (const message of FIXTURES) ids.push(await server.publishHttp("project.p_01", message));
    await raw.until((s) => s.events.length === FIXTURES.length, "every fixture");
    // Byte for byte: the publisher's fields in the publisher's order, then channel and ts.
    raw.events.forEach((event, index) => {
      expect(event.data.startsWith(JSON.stringify(FIXTURES[index]).slice(0, -1))).toBe(true);
    });
    const received = messagesOf(raw);
    received.forEach((message, index) => {
      const { channel, ts, ...rest } = message;
      expect(rest).toEqual(FIXTURES[index]);
      expect(channel).toBe("project.p_01");
      expect(ts).toBeGreaterThanOrEqual(before);
      expect(raw.events[index]?.id).toBe(ids[index]);
      expect(raw.events[index]?.event).toBeUndefined();
    });
    raw.close();
  });

  it("delivers the fixtures to a real EventSource's onmessage", async () => {
    const source = new EventSource(
      `${server.url}/api/v1/events/project.p_01?token=${server.token}`,
    );
    const received: Array<Record<string, unknown>> = [];
    const all = new Promise<void>((resolve) => {
      source.onmessage = (event) => {
        received.push(JSON.parse(event.data) as Record<string, unknown>);
        if (received.length === FIXTURES.length) resolve();
      };
    });
    await new Promise<void>((resolve) => {
      source.onopen = () => resolve();
    });
    for (const message of FIXTURES) await server.publishHttp("project.p_01", message);
    await all;
    source.close();
    expect(received.map(({ channel: _c, ts: _t, ...rest }) => rest)).toEqual(FIXTURES);
  });
});
