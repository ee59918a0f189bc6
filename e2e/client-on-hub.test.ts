/**
 * The events client against a real hub over real HTTP: the client's own SSE test server does
 * not send the hub's opening cursor (PROTOCOL.md section 3), which these behaviours rest on.
 */
import { createEventsClient, type EventsClient, type Message } from "@herald/client";
import { startTestHub, type TestHub } from "@herald/test-support/server";
import { EventSource } from "eventsource";
import { afterEach, expect, it, vi } from "vitest";

let hub: TestHub | undefined;
let client: EventsClient | undefined;

afterEach(async () => {
  client?.close();
  await hub?.close();
  client = undefined;
  hub = undefined;
});

it("adds a channel before any message has arrived and loses nothing published while the stream reopens", async () => {
  hub = await startTestHub();
  const server = hub;
  const errors: unknown[] = [];
  const events = createEventsClient({
    baseUrl: server.url,
    EventSource,
    token: () => server.token,
    onError: (error) => errors.push(error),
  });
  client = events;
  const seen: unknown[] = [];
  events.subscribe("file.a", (message: Message) => seen.push(message.data?.n));
  // The stream is open and holds its opening cursor, but no message has arrived yet.
  await vi.waitFor(() => expect(events.connection.getSnapshot().lastEventId).toBeDefined());

  // A second channel reopens the stream; this event goes out on the old one as it closes.
  events.subscribe("file.b", () => {});
  await server.hub.publish("file.a", { type: "data", data: { n: 1 } });
  await vi.waitFor(() => expect(seen).toEqual([1]));
  await server.hub.publish("file.a", { type: "data", data: { n: 2 } });
  await vi.waitFor(() => expect(seen).toEqual([1, 2]));
  expect(errors).toEqual([]);
});
