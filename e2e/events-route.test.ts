/**
 * The provider's `path` pointed at an app's own events route (the Next.js route of
 * docs/MIGRATING-FROM-WEBSOCKET.md, `e2e/support/next-events-route.ts`), in front of a real hub:
 * the events client resumes through it after a cut, a refusal keeps its status, and a client
 * that leaves ends the route's stream to the hub.
 */
import { createEventsClient, type EventsClient, type Message } from "@herald/client";
import { startTestHub, type TestHub } from "@herald/test-support/server";
import { startTcpProxy, type TcpProxy } from "@herald/test-support/tcp-proxy";
import { EventSource } from "eventsource";
import { afterEach, expect, it, vi } from "vitest";
import { type AppServer, createEventsRoute, startAppServer } from "./support/next-events-route.ts";

let hub: TestHub | undefined;
let app: AppServer | undefined;
let cut: TcpProxy | undefined;
let client: EventsClient | undefined;

afterEach(async () => {
  client?.close();
  await cut?.close();
  await app?.close();
  await hub?.close();
  client = undefined;
  cut = undefined;
  app = undefined;
  hub = undefined;
});

async function openStreams(): Promise<number> {
  const gauge = await (hub as TestHub).hub.metrics.openStreams.get();
  return gauge.values[0]?.value ?? 0;
}

/** The hub, the app's route in front of it, a cuttable TCP hop, and a client on the route's path. */
async function setUp(token: () => Promise<string> | string) {
  // A short retry, so the EventSource reconnects after a cut without a long wait.
  hub = await startTestHub({ retryMs: 20 });
  app = await startAppServer(
    { "/api/events": createEventsRoute({ hubUrl: hub.url, tokenFor: token }) },
    () => false,
  );
  cut = await startTcpProxy(Number(new URL(app.url).port));
  const errors: unknown[] = [];
  client = createEventsClient({
    baseUrl: cut.url,
    path: "/api/events",
    EventSource,
    lingerMs: 0,
    backoff: { initialMs: 20, maxMs: 100, maxAttempts: 3 },
    onError: (error) => errors.push(error),
  });
  return { hub, client, cut, errors };
}

it("resumes through the route after a cut: every event once, in order", async () => {
  const { hub, client, cut, errors } = await setUp(() => (hub as TestHub).token);
  const seen: unknown[] = [];
  client.subscribe("file.f1", (message: Message) => seen.push(message.data?.n));
  await vi.waitFor(() => expect(client.connection.getSnapshot().status).toBe("open"));
  await hub.publishHttp("file.f1", { type: "data", data: { n: 1 } });
  await vi.waitFor(() => expect(seen).toEqual([1]));

  cut.cutAll();
  await hub.publishHttp("file.f1", { type: "data", data: { n: 2 } });
  await hub.publishHttp("file.f1", { type: "data", data: { n: 3 } });
  await vi.waitFor(() => expect(seen).toEqual([1, 2, 3]));
  expect(cut.connections).toBeGreaterThan(1);
  expect(errors).toEqual([]);
});

it("passes a refusal on with its status: the client stops on 403 and says why", async () => {
  const { hub, client } = await setUp(() =>
    (hub as TestHub).sign({ sub: "u1", channels: ["file.mine"] }),
  );
  client.subscribe("file.not-mine", () => {});
  await vi.waitFor(() => expect(client.connection.getSnapshot().status).toBe("closed"));
  expect(client.connection.getSnapshot().lastError).toMatchObject({ status: 403 });
  expect(await openStreams()).toBe(0);
});

it("ends its stream to the hub when the client leaves", async () => {
  const { client } = await setUp(() => (hub as TestHub).token);
  const stop = client.subscribe("file.f1", () => {});
  await vi.waitFor(async () => expect(await openStreams()).toBe(1));
  stop();
  await vi.waitFor(async () => expect(await openStreams()).toBe(0));
});
