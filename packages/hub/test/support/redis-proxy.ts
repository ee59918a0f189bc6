/**
 * A TCP proxy in front of Redis that a test can cut off and hold off: one server's connections
 * to Redis go away while Redis itself, and every other server, carries on.
 */
import type { AddressInfo } from "node:net";
import { connect, createServer, type Server, type Socket } from "node:net";

export interface RedisProxy {
  url: string;
  /** Destroys every open connection and refuses new ones until `resume()`. */
  cutOff(): void;
  /** Lets connections through again. */
  resume(): void;
  close(): Promise<void>;
}

export async function startRedisProxy(targetPort: number): Promise<RedisProxy> {
  const open = new Set<Socket>();
  let refusing = false;
  const server: Server = createServer((client) => {
    if (refusing) {
      client.destroy();
      return;
    }
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
    url: `redis://127.0.0.1:${port}`,
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
