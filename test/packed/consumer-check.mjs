// Run by packed.test.ts with plain `node` (no loader, no NODE_OPTIONS) in a directory where the
// four packed packages are installed from their tarballs: what an npm user's Node 20 sees.
// Prints one JSON line: what each entry point exports, and what the live checks saw.
import { createServer } from "node:http";

const entries = [
  "@herald/protocol",
  "@herald/protocol/schemas",
  "@herald/hub",
  "@herald/hub/node",
  "@herald/hub/fetch",
  "@herald/hub/fastify",
  "@herald/hub/redis",
  "@herald/client",
  "@herald/client/publisher",
  "@herald/react",
];
const exported = {};
for (const entry of entries) {
  const module = await import(entry);
  exported[entry] = Object.fromEntries(Object.entries(module).map(([k, v]) => [k, typeof v]));
}

// The names apps written against the WebSocket-era-free API use, working end to end: a hub
// behind createNodeHandler, a token from createJwtAuth().sign, a Node client (the eventsource
// package, loaded on demand) receiving a published message.
const { createHub, createJwtAuth, createMemoryStore } = await import("@herald/hub");
const { createNodeHandler } = await import("@herald/hub/node");
const { createFetchHandler } = await import("@herald/hub/fetch");
const { createEventsClient } = await import("@herald/client");
const auth = createJwtAuth({ secret: "packed-test-secret-of-32-characters!" });
const hub = createHub({ store: createMemoryStore() });
const handler = createNodeHandler(hub, { auth });
const server = createServer((req, res) => handler(req, res));
await new Promise((done) => server.listen(0, "127.0.0.1", done));
const baseUrl = `http://127.0.0.1:${server.address().port}`;
const token = await auth.sign({ sub: "u1", channels: ["project.*"], publish: ["project.*"] });
const client = createEventsClient({ baseUrl, token: () => token });
const received = await new Promise((resolve, reject) => {
  const timer = setTimeout(() => reject(new Error("no message within 10 s")), 10_000);
  client.subscribe("project.p1", (message) => {
    clearTimeout(timer);
    resolve(message);
  });
  const published = client.connection.subscribe((state) => {
    if (state.status !== "open") return;
    published();
    hub.publish("project.p1", { type: "data", data: { n: 1 } }).catch(reject);
  });
});
client.close();

// A remote server's publisher: a batch POST through fetch, answered with the event's id.
const { createPublisher } = await import("@herald/client/publisher");
const publisher = createPublisher({ url: `${baseUrl}/api/v1/events`, token });
const publishedId = await publisher.publish("project.p1", { type: "data", data: { n: 2 } });
await publisher.close();

// The fetch adapter answers a Request with a Response.
const fetchHandler = createFetchHandler(hub, { auth });
const refused = await fetchHandler(new Request(`${baseUrl}/api/v1/events/project.p1`));
await refused.body?.cancel();
await hub.close();
await new Promise((done) => server.close(done));

// The React bindings render on the server with no options, as Next.js renders them.
const { createElement } = await import("react");
const { renderToString } = await import("react-dom/server");
const { HeraldProvider, useConnectionState } = await import("@herald/react");
function Status() {
  return createElement("p", null, useConnectionState().status);
}
const html = renderToString(createElement(HeraldProvider, null, createElement(Status)));

process.stdout.write(
  `${JSON.stringify({ exported, received, fetchStatus: refused.status, publishedId, html, node: process.version })}\n`,
);
