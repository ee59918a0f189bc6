/**
 * A TCP proxy the test controls: forwards to a target (a hub, a Redis), can cut every
 * connection at once, and can refuse new ones for a while (a server cut off from Redis).
 */

import type { AddressInfo } from "node:net";
import { connect, createServer, type Server, type Socket } from "node:net";

export interface TcpProxy {
  port: number;
  url: string;
  /** Connections proxied so far. */
  readonly connections: number;
  /** Destroys every open connection, both sides. */
  cutAll(): void;
  /** Cuts every connection and refuses new ones until `resume()`. */
  cutOff(): void;
  /** Lets connections through again. */
  resume(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  const open = new Set<Socket>();
  let connections = 0;
  let refusing = false;
  const server: Server = createServer((client) => {
    if (refusing) {
      client.destroy();
      return;
    }
    connections++;
    const upstream = connect(targetPort, "127.0.0.1");
    open.add(client);
    open.add(upstream);
    client.pipe(upstream);
    upstream.pipe(client);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    client.on("error", drop);
    upstream.on("error", drop);
    client.on("close", drop);
    upstream.on("close", drop);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    get connections() {
      return connections;
    },
    cutAll() {
      for (const socket of open) socket.destroy();
      open.clear();
    },
    cutOff() {
      refusing = true;
      for (const socket of open) socket.destroy();
      open.clear();
    },
    resume() {
      refusing = false;
    },
    close() {
      for (const socket of open) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
