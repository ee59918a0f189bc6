/**
 * The systems measured, each as a server that lets subscribers name their channels in the
 * query (`?channel=a&channel=b`) and delivers `publish(channel, message)` to them:
 *
 * - herald: the hub (memory or Redis store) behind its Node http adapter, as a user mounts it.
 * - ws: a `ws` WebSocketServer sending each event to each socket of its channel as a text frame,
 *   the design Herald replaces; the JSON encoded once per event into a Buffer (a string would
 *   be encoded again for every socket).
 * - ws-batch: the same, joining the events a channel gets in one event-loop turn into one
 *   message (a JSON array when there are several), sent once per socket per turn.
 * - better-sse: one better-sse channel per channel name, `channel.broadcast(message)`.
 * - socket.io: one room per channel, `io.to(channel).emit(...)`, WebSocket transport only.
 * - bare: `node:http` and a loop writing one pre-encoded frame to every response (naive).
 * - bare-batch: the same loop, writing a channel's frames of one event-loop turn joined, once
 *   per response per turn.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { type Channel, createChannel, createSession } from "better-sse";
import { Server as SocketIoServer } from "socket.io";
import { WebSocket, WebSocketServer } from "ws";
import type { EventStore } from "../../packages/hub/src/index.ts";
import { BENCH_SECRET, type SystemName, stamped, stampedObject } from "../lib/shared.ts";

export interface System {
  server: Server;
  token?: string;
  /** Resolves once the system has taken the event (Herald: stored); the peers take it at once. */
  publish(channel: string, message: Record<string, unknown>): Promise<unknown> | undefined;
  connections(): number;
  publishErrors(): number;
  close(): Promise<void>;
}

export interface SystemOptions {
  /** Herald on the Redis store instead of the memory store. */
  redis?: { url: string; keyPrefix: string };
  /** Herald from another copy of `packages/hub/src` (a baseline to compare a change with). */
  heraldSrc?: string;
}

const HUB_SRC = new URL("../../packages/hub/src/", import.meta.url).pathname;
type HubModule = typeof import("../../packages/hub/src/index.ts");
type NodeModule = typeof import("../../packages/hub/src/node.ts");

function channelsOf(url: string | undefined): string[] {
  const query = new URL(url ?? "/", "http://bench.invalid").searchParams;
  return query.getAll("channel");
}

class ChannelMap<T> {
  readonly byChannel = new Map<string, Set<T>>();
  add(channels: readonly string[], member: T): void {
    for (const channel of channels) {
      let set = this.byChannel.get(channel);
      if (!set) {
        set = new Set();
        this.byChannel.set(channel, set);
      }
      set.add(member);
    }
  }
  remove(channels: readonly string[], member: T): void {
    for (const channel of channels) this.byChannel.get(channel)?.delete(member);
  }
}

export async function startSystem(name: SystemName, options: SystemOptions): Promise<System> {
  switch (name) {
    case "herald-baseline":
    case "herald":
      return startHerald(options);
    case "ws":
      return startWs(false);
    case "ws-batch":
      return startWs(true);
    case "better-sse":
      return startBetterSse();
    case "socket.io":
      return startSocketIo();
    case "bare":
      return startBare(false);
    case "bare-batch":
      return startBare(true);
  }
}

async function redisStore(
  src: string,
  options: { url: string; keyPrefix: string },
): Promise<EventStore> {
  // Loaded by path at run time: the Redis store is optional for the bench (run.ts checks first).
  const module = (await import(`${src}redis-store.ts`)) as Record<string, unknown>;
  const create = module.createRedisStore;
  if (typeof create !== "function") throw new Error("redis-store.ts exports no createRedisStore");
  return (await create({
    url: options.url,
    keyPrefix: options.keyPrefix,
    publishTimeoutMs: 10_000,
  })) as EventStore;
}

async function startHerald(options: SystemOptions): Promise<System> {
  const src = options.heraldSrc ? `${options.heraldSrc.replace(/\/$/, "")}/` : HUB_SRC;
  const { createHub, createJwtAuth, createMemoryStore } = (await import(
    `${src}index.ts`
  )) as HubModule;
  const nodeAdapter = (await import(`${src}node.ts`)) as Partial<NodeModule>;
  const { createNodeHandler, acceptEventStreams } = nodeAdapter;
  if (!createNodeHandler) throw new Error(`${src}node.ts exports no createNodeHandler`);
  const store = options.redis ? await redisStore(src, options.redis) : createMemoryStore();
  let errors = 0;
  const hub = createHub({
    store,
    // One token for every subscriber: the per-user limit would refuse the 65th stream.
    limits: { maxStreamsPerSubject: 1_000_000 },
    onError: (error) => {
      errors++;
      if (errors < 5) process.stderr.write(`herald: ${error.message}\n`);
    },
  });
  const auth = createJwtAuth({ secret: BENCH_SECRET });
  const handlerOptions = {
    auth,
    operations: false,
    // Each load generator holds thousands of streams from one address, as a proxy in front of a
    // hub does (an operator raises the per-address cap there), and `connections` fills the
    // open-file limit: the caps would refuse the bench's own subscribers.
    streamCaps: {
      maxStreamsPerAddress: Number.MAX_SAFE_INTEGER,
      maxOpenStreams: Number.MAX_SAFE_INTEGER,
    },
  };
  const handle = createNodeHandler(hub, handlerOptions);
  const server = createServer((req, res) => {
    handle(req, res).then(
      (handled) => {
        if (!handled) res.writeHead(404).end();
      },
      (error: unknown) => res.destroy(error instanceof Error ? error : new Error(String(error))),
    );
  });
  // As a user mounts it; a baseline from before acceptEventStreams has only the handler.
  acceptEventStreams?.(server, hub, handlerOptions);
  const token = await auth.sign({
    sub: "bench",
    channels: ["file.*", "user.*", "project.*"],
    // The http-publish scenario's publisher posts with it too.
    publish: ["file.*"],
    expiresInS: 24 * 3600,
  });
  let open = 0;
  // One listener function for every socket: a closure and a \`once\` wrapper per socket would be
  // the bench's own memory, charged to each stream in \`connections\`.
  const closed = () => {
    open--;
  };
  server.on("connection", (socket) => {
    open++;
    socket.on("close", closed);
  });
  const failed = () => {
    errors++;
  };
  return {
    server,
    token,
    publish(channel, message) {
      return hub.publish(channel, message as { type: string }).catch(failed);
    },
    connections: () => open,
    publishErrors: () => errors,
    async close() {
      await hub.close();
      await store.close();
    },
  };
}

/**
 * Holds what each channel is sent during one event-loop turn and hands it over, joined, one
 * microtask later: what Herald's hub does with its frames (`packages/hub/src/hub.ts`).
 */
function turnBatcher(flush: (channel: string, items: readonly string[]) => void) {
  const queued = new Map<string, string[]>();
  let scheduled = false;
  const run = () => {
    scheduled = false;
    for (const [channel, items] of queued) flush(channel, items);
    queued.clear();
  };
  return (channel: string, item: string) => {
    const items = queued.get(channel);
    if (items) items.push(item);
    else queued.set(channel, [item]);
    if (!scheduled) {
      scheduled = true;
      queueMicrotask(run);
    }
  };
}

function startWs(batch: boolean): System {
  const server = createServer((_req, res) => res.writeHead(404).end());
  const wss = new WebSocketServer({ server, perMessageDeflate: false, clientTracking: false });
  const members = new ChannelMap<WebSocket>();
  let open = 0;
  wss.on("connection", (socket, req) => {
    const channels = channelsOf(req.url);
    members.add(channels, socket);
    open++;
    socket.on("close", () => {
      open--;
      members.remove(channels, socket);
    });
    socket.on("error", () => socket.terminate());
  });
  const send = (channel: string, data: Buffer) => {
    const sockets = members.byChannel.get(channel);
    if (!sockets) return;
    for (const socket of sockets) {
      if (socket.readyState === WebSocket.OPEN) socket.send(data, { binary: false });
    }
  };
  const queue = turnBatcher((channel, items) => {
    const text = items.length === 1 ? (items[0] as string) : `[${items.join(",")}]`;
    send(channel, Buffer.from(text));
  });
  return {
    server,
    publish(channel, message) {
      if (!members.byChannel.get(channel)?.size) return undefined;
      const json = stamped(message, channel);
      if (batch) queue(channel, json);
      else send(channel, Buffer.from(json));
      return undefined;
    },
    connections: () => open,
    publishErrors: () => 0,
    async close() {
      wss.close();
    },
  };
}

function startBetterSse(): System {
  const channels = new Map<string, Channel>();
  let open = 0;
  // One listener function for every session, as for Herald's sockets: the count is the bench's.
  const sessionClosed = () => {
    open--;
  };
  const server = createServer((req, res) => {
    const names = channelsOf(req.url);
    createSession(req, res).then(
      (session) => {
        open++;
        for (const name of names) {
          let channel = channels.get(name);
          if (!channel) {
            channel = createChannel();
            channels.set(name, channel);
          }
          channel.register(session);
        }
        session.on("disconnected", sessionClosed);
      },
      () => res.destroy(),
    );
  });
  return {
    server,
    publish(name, message) {
      const channel = channels.get(name);
      if (!channel) return;
      channel.broadcast(stampedObject(message, name));
      return undefined;
    },
    connections: () => open,
    publishErrors: () => 0,
    async close() {},
  };
}

function startSocketIo(): System {
  const server = createServer();
  const io = new SocketIoServer(server, {
    transports: ["websocket"],
    perMessageDeflate: false,
    serveClient: false,
  });
  io.on("connection", (socket) => {
    // Not `handshake.query`: Engine.IO keeps only the last of repeated parameters.
    socket.join(channelsOf(socket.request.url));
  });
  return {
    server,
    publish(channel, message) {
      io.to(channel).emit("message", stampedObject(message, channel));
      return undefined;
    },
    connections: () => io.engine.clientsCount,
    publishErrors: () => 0,
    async close() {
      await io.close();
    },
  };
}

function startBare(batch: boolean): System {
  const members = new ChannelMap<ServerResponse>();
  let open = 0;
  let id = 0;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const channels = channelsOf(req.url);
    res.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache",
    });
    res.write(": ok\n\n");
    members.add(channels, res);
    open++;
    res.once("close", () => {
      open--;
      members.remove(channels, res);
    });
  });
  const write = (channel: string, chunk: Buffer) => {
    for (const res of members.byChannel.get(channel) ?? []) res.write(chunk);
  };
  const queue = turnBatcher((channel, frames) => write(channel, Buffer.from(frames.join(""))));
  return {
    server,
    publish(channel, message) {
      if (!members.byChannel.get(channel)?.size) return undefined;
      id++;
      const frame = `id: ${id}\ndata: ${stamped(message, channel)}\n\n`;
      if (batch) queue(channel, frame);
      else write(channel, Buffer.from(frame));
      return undefined;
    },
    connections: () => open,
    publishErrors: () => 0,
    async close() {},
  };
}
