/** Real hubs on real ports for tests: a Node http server on port 0 with the Node adapter. */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import {
  createHub,
  createJwtAuth,
  createMemoryStore,
  type EventStore,
  type Hub,
  type HubOptions,
  type JwtAuth,
  type TokenClaims,
} from "@herald/hub";
import { acceptEventStreams, createNodeHandler } from "@herald/hub/node";

export const TEST_SECRET = "test-secret-that-is-long-enough-for-hs256!";

export interface TestHub {
  url: string;
  port: number;
  hub: Hub;
  auth: JwtAuth;
  server: Server;
  /** A token for everything: every channel to subscribe and to publish. */
  token: string;
  sign(claims: TokenClaims): Promise<string>;
  /** Publishes over HTTP and returns the event id. */
  publishHttp(channel: string, message: unknown, token?: string): Promise<string>;
  close(): Promise<void>;
}

export interface TestHubOptions extends Partial<HubOptions> {
  store?: EventStore;
  /**
   * Take streams on fresh connections (`acceptEventStreams`) as well as through the handler
   * (default true); false leaves every request to node:http and `createNodeHandler`.
   */
  acceptConnections?: boolean;
}

export async function startTestHub(options: TestHubOptions = {}): Promise<TestHub> {
  const auth = createJwtAuth({ secret: TEST_SECRET });
  const hub = createHub({ ...options, store: options.store ?? createMemoryStore() });
  const handle = createNodeHandler(hub, { auth });
  const server = createServer((req, res) => {
    handle(req, res).then(
      (handled) => {
        if (!handled) res.writeHead(404).end();
      },
      (error: unknown) => {
        res.destroy(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
  if (options.acceptConnections ?? true) acceptEventStreams(server, hub, { auth });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  const token = await auth.sign({
    sub: "tester",
    channels: ["project.*", "file.*", "user.*"],
    publish: ["project.*", "file.*", "user.*"],
  });
  return {
    url,
    port,
    hub,
    auth,
    server,
    token,
    sign: (claims) => auth.sign(claims),
    async publishHttp(channel, message, publishToken = token) {
      const response = await fetch(`${url}/api/v1/events/${channel}`, {
        method: "POST",
        headers: { authorization: `Bearer ${publishToken}`, "content-type": "application/json" },
        body: JSON.stringify(message),
      });
      const body = (await response.json()) as { id?: string };
      if (response.status !== 201 || !body.id)
        throw new Error(`publish answered ${response.status}: ${JSON.stringify(body)}`);
      return body.id;
    },
    async close() {
      await hub.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await hub.store.close();
    },
  };
}
