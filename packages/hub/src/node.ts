/**
 * The Node `http` adapter: the fast path. `(req, res)` in, and `false` when the request is not
 * the hub's, so it fits in front of any other handler; and `acceptEventStreams`, which takes
 * streams on fresh connections before node:http parses them.
 */
import {
  type IncomingMessage,
  maxHeaderSize,
  type Server,
  type ServerResponse,
  STATUS_CODES,
} from "node:http";
import type { Socket } from "node:net";
import { Server as TlsServer } from "node:tls";
import { HeraldError } from "@herald/protocol";
import {
  admitStream,
  confirmStream,
  createEventsHandler,
  type EventsHandlerOptions,
  type HubRequest,
  type HubResponse,
  type StreamPlace,
} from "./http.ts";
import type { Hub, OpenStream, StreamRequest, StreamSink } from "./hub.ts";
import { headEnd, parsePlainGet, type RequestHead } from "./request-head.ts";
import type { StreamAdmission } from "./stream-caps.ts";

export type NodeEventsHandler = (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;

export function createNodeHandler(hub: Hub, options: EventsHandlerOptions): NodeEventsHandler {
  const handle = createEventsHandler(hub, options);
  return async (req, res) => {
    const answer = await handle(toHubRequest(req));
    if (!answer) return false;
    sendNodeResponse(hub, answer, req, res, options);
    return true;
  };
}

export function toHubRequest(req: IncomingMessage): HubRequest {
  return {
    method: req.method ?? "GET",
    url: requestUrl(req.url ?? "/"),
    header(name) {
      const value = req.headers[name];
      return Array.isArray(value) ? value.join(", ") : value;
    },
    readBody: (maxBytes) => readNodeBody(req, maxBytes),
  };
}

/**
 * The request target as a URL. The host is irrelevant to routing; a fixed base keeps a hostile
 * Host header out of URL parsing. A target in origin form (`/path?query`) is read as a path
 * even where it starts with `//`, which `new URL(target, base)` would read as a host and could
 * refuse with a throw (`//[`, `//x:99999/`), failing the request before anything answers it.
 */
function requestUrl(target: string): URL {
  const base = "http://herald.invalid";
  if (target.startsWith("/")) return new URL(`${base}${target}`);
  // Absolute form (`http://host/path`), as proxies send it; anything else is no path of ours.
  return URL.canParse(target) ? new URL(target) : new URL(`${base}/`);
}

export function sendNodeResponse(
  hub: Hub,
  unconfirmed: HubResponse,
  req: IncomingMessage,
  res: ServerResponse,
  options: EventsHandlerOptions,
): void {
  const { answer, place } = admitStream(
    hub,
    confirmStream(hub, unconfirmed),
    options,
    req.socket.remoteAddress,
    (name) => {
      const value = req.headers[name];
      return Array.isArray(value) ? value.join(", ") : value;
    },
  );
  if (answer.kind === "body") {
    res.writeHead(answer.status, {
      ...answer.headers,
      "content-length": Buffer.byteLength(answer.body),
    });
    res.end(req.method === "HEAD" ? undefined : answer.body);
    return;
  }
  res.writeHead(200, answer.headers);
  // Out now, so that every later byte can go to the socket behind the response's back.
  res.flushHeaders();
  const { socket } = res;
  // No socket, or a closed one: the client went while its token was being checked.
  if (!socket || res.closed) {
    place?.admission.release(place.address);
    return;
  }
  const sink = openStream(hub, answer.request, socket, res.chunkedEncoding, place as StreamPlace);
  if (sink) {
    sinks.set(socket, sink);
    socket.on("close", closeStream);
  }
}

/**
 * Takes the hub's streams on `server`'s new connections before node:http reads them, and hands
 * every other connection to node:http untouched. An idle stream then holds a socket and the
 * hub's own few objects, and none of node:http's per-connection state (its parser, request,
 * response and their listeners): about 1.8 KiB of heap per idle stream, where a bare node:http
 * loop keeps 5.6 (docs/BENCHMARKS.md, connections).
 *
 * Only a connection whose first request is a plain `GET {basePath}…` over HTTP/1.1, without a
 * body, is taken; the rest, and a stream asked for on a connection that served other requests
 * first, go through node:http and the handler mounted there (`createNodeHandler` or the
 * Fastify plugin), which answer the same way. Call it before `listen`, on an http (not https)
 * server: TLS ends in front of it, at the proxy.
 */
export function acceptEventStreams(server: Server, hub: Hub, options: EventsHandlerOptions): void {
  if (server instanceof TlsServer) {
    throw new Error("acceptEventStreams reads plain HTTP/1.1: end TLS in front of this server");
  }
  const handle = createEventsHandler(hub, options);
  const basePath = (options.basePath ?? "/api/v1/events").replace(/\/+$/, "");
  const ours = Buffer.from(`GET ${basePath}`, "latin1");
  // Set from createServer's options (undeclared in @types/node); past it node:http answers 431.
  const maxHeadBytes = (server as { maxHeaderSize?: number }).maxHeaderSize ?? maxHeaderSize;
  const nodeHttp = server.listeners("connection") as ((socket: Socket) => void)[];
  server.removeAllListeners("connection");

  /**
   * The connections taken here and not handed over (node:http's own lists do not hold them):
   * each with the timer of its head until its stream opens, then with the stream's sink. One
   * table and one close listener per socket from its first byte to its stream's end: a listener
   * added and removed on the way would leave the socket's listener list at its grown size.
   */
  const held = new Map<Socket, SocketSink | NodeJS.Timeout>();
  function forget(this: Socket): void {
    const entry = held.get(this);
    held.delete(this);
    if (entry instanceof SocketSink) entry.closed();
    else clearTimeout(entry);
  }
  // What node:http's close functions do for its connections, done for these too: one that is
  // still sending its head, or answered, is idle (`server.close()` ends those); a stream is not.
  const closeIdle = server.closeIdleConnections.bind(server);
  const closeAll = server.closeAllConnections.bind(server);
  server.closeIdleConnections = () => {
    for (const [socket, entry] of held) if (!(entry instanceof SocketSink)) socket.destroy();
    closeIdle();
  };
  server.closeAllConnections = () => {
    for (const socket of held.keys()) socket.destroy();
    closeAll();
  };

  function handOver(socket: Socket, bytes: Buffer): void {
    held.delete(socket);
    socket.off("close", forget);
    socket.off("error", ignoreSocketError);
    // Paused so nothing is read between giving the bytes back and node:http listening.
    socket.pause();
    if (bytes.length > 0) socket.unshift(bytes);
    for (const listener of nodeHttp) listener.call(server, socket);
    socket.resume();
  }

  server.on("connection", (socket: Socket) => {
    let bytes: Buffer = Buffer.alloc(0);
    // Once the head is read nothing of its reading may stay on the socket: a listener left
    // there would keep this closure's context (the head's bytes, the timer) for the stream's life.
    // (A close meanwhile clears the timer in `forget`.)
    const stopReading = () => {
      socket.off("data", onData);
      clearTimeout(deadline);
    };
    const onData = (chunk: Buffer) => {
      bytes = bytes.length === 0 ? chunk : Buffer.concat([bytes, chunk]);
      if (hasBareLf(bytes, bytes.length - chunk.length)) {
        // node:http would refuse it too; here it would never end, so it is refused at once.
        stopReading();
        refuseHead(socket, 400, "the request head ends a line with a bare LF: end lines with CRLF");
        return;
      }
      const end = headEnd(bytes);
      const shown = Math.min(bytes.length, ours.length);
      if (
        bytes.compare(ours, 0, shown, 0, shown) !== 0 ||
        (end < 0 ? bytes.length : end) > maxHeadBytes
      ) {
        stopReading();
        handOver(socket, bytes);
        return;
      }
      if (end < 0) return;
      stopReading();
      const head = parsePlainGet(bytes.toString("latin1", 0, end));
      if (!head || !isUnder(head.target, basePath)) {
        handOver(socket, bytes);
        return;
      }
      socket.pause();
      serveStream(socket, head, bytes).catch((cause: unknown) => {
        socket.destroy();
        hub.reportError(
          new HeraldError("internal", "the hub failed to answer a stream request", { cause }),
        );
      });
    };
    // From the connection's start, not from its last byte: a head trickled a byte at a time
    // is cut like a silent one (node:http's headersTimeout does the same for its own).
    const deadline = setTimeout(() => {
      stopReading();
      refuseHead(socket, 408, "the request head did not arrive in time: send it at once");
    }, server.headersTimeout || 60_000);
    held.set(socket, deadline);
    socket.on("close", forget);
    // A connection reset: `close` follows, and whatever the connection held is let go there.
    socket.on("error", ignoreSocketError);
    socket.on("data", onData);
  });

  async function serveStream(socket: Socket, head: RequestHead, bytes: Buffer): Promise<void> {
    const unconfirmed = await handle({
      method: "GET",
      url: requestUrl(head.target),
      header: head.header,
      readBody: async () => new Uint8Array(0),
    });
    if (socket.destroyed) return;
    // A path that URL parsing led out of the hub's (a dot segment): node:http's to answer.
    if (!unconfirmed) return handOver(socket, bytes);
    const { answer, place } = admitStream(
      hub,
      confirmStream(hub, unconfirmed),
      options,
      socket.remoteAddress,
      head.header,
    );
    if (answer.kind === "body") {
      // One request per connection on this path: a client with more to ask opens another.
      const response = responseHead(answer.status, {
        ...answer.headers,
        "content-length": String(Buffer.byteLength(answer.body)),
        connection: "close",
      });
      socket.end(response + answer.body, () => socket.destroy());
      return;
    }
    socket.write(responseHead(200, { ...answer.headers, "transfer-encoding": "chunked" }));
    // What the client sends after its request means nothing to a stream; the end of it does.
    socket.on("data", ignoreData);
    socket.on("end", endSocket);
    socket.resume();
    const sink = openStream(hub, answer.request, socket, true, place as StreamPlace);
    // `forget`, on the socket since its first byte, closes the stream when the socket closes.
    if (sink) held.set(socket, sink);
  }
}

/** Whether a LF at or after `from` follows anything but a CR. */
function hasBareLf(bytes: Buffer, from: number): boolean {
  for (let at = bytes.indexOf(10, from); at >= 0; at = bytes.indexOf(10, at + 1)) {
    if (at === 0 || bytes[at - 1] !== 13) return true;
  }
  return false;
}

/** Answers a head this path will not read, with the hub's JSON error, and ends the connection. */
function refuseHead(socket: Socket, status: 400 | 408, message: string): void {
  const body = JSON.stringify(
    new HeraldError(status === 400 ? "invalid_request" : "request_timeout", message).toBody(),
  );
  const head = responseHead(status, {
    "content-type": "application/json; charset=utf-8",
    "x-content-type-options": "nosniff",
    "content-length": String(Buffer.byteLength(body)),
    connection: "close",
  });
  socket.end(head + body, () => socket.destroy());
}

function isUnder(target: string, basePath: string): boolean {
  if (!target.startsWith(basePath)) return false;
  const next = target.charAt(basePath.length);
  return next === "" || next === "/" || next === "?";
}

function responseHead(status: number, headers: Record<string, string>): string {
  let head = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? "Unknown"}\r\ndate: ${new Date().toUTCString()}\r\n`;
  for (const [name, value] of Object.entries(headers)) head += `${name}: ${value}\r\n`;
  return `${head}\r\n`;
}

function ignoreData(): void {}

function ignoreSocketError(): void {}

function endSocket(this: Socket): void {
  this.destroy();
}

/**
 * Opens a stream whose head is out, on its socket, and returns its sink, whose `closed()` the
 * caller calls when the socket closes; `undefined` where the client went meanwhile (the stream
 * is closed and its place under the stream caps given back).
 */
function openStream(
  hub: Hub,
  request: StreamRequest,
  socket: Socket,
  chunked: boolean,
  place: StreamPlace,
): SocketSink | undefined {
  // Frames are small and latency matters more than packet count.
  socket.setNoDelay(true);
  socket.setTimeout(0);
  const sink = new SocketSink(socket, chunked, place.admission, place.address);
  sink.stream = hub.openStream(request, sink);
  // The client may have gone while the stream opened.
  if (!socket.destroyed) return sink;
  sink.closed();
  return undefined;
}

/**
 * The sink of each open stream's socket that node:http served first, for the one `close`
 * listener all of them share (acceptEventStreams keeps its own in `held`).
 */
const sinks = new WeakMap<Socket, SocketSink>();

function closeStream(this: Socket): void {
  const sink = sinks.get(this);
  sinks.delete(this);
  sink?.closed();
}

/**
 * A stream's bytes, written straight to its socket once the head is out. `res.write` would
 * cork the socket, frame the chunk in four writes and uncork it on the next tick, per stream
 * and per write: most of the hub's own cost at a large fan-out. Here the chunked framing is made
 * once per buffer (the hub hands every stream of a channel the same one) and each stream costs
 * one `socket.write`. A class, not closures, keeps an idle stream's heap small.
 */
class SocketSink implements StreamSink {
  /** The hub's stream written here, once open. */
  stream: OpenStream | undefined = undefined;
  /**
   * Until the socket is destroyed here or closes. Read on every write instead of the socket's
   * `destroyed`, a getter through both stream states that cost a fanned-out write about 1 % of
   * its CPU (a write between a destroy elsewhere and its `close` fails harmlessly in Node).
   */
  private open = true;

  constructor(
    private readonly socket: Socket,
    /** Chunked transfer coding; not for an HTTP/1.0 client, whose body ends with the connection. */
    private readonly chunked: boolean,
    /** Where the stream counts under the stream caps (fields, not an object: one less per stream). */
    private readonly admission: StreamAdmission,
    private readonly address: string | undefined,
  ) {}

  /** The socket closed: the stream ends and gives its place back. */
  closed(): void {
    this.open = false;
    this.stream?.close();
    this.admission.release(this.address);
  }

  write(chunk: Uint8Array): void {
    if (this.open) this.socket.write(this.chunked ? framed(chunk) : chunk);
  }

  get bufferedBytes(): number {
    return this.socket.writableLength;
  }

  drained(): Promise<void> {
    const { socket } = this;
    return new Promise<void>((resolve) => {
      if (socket.destroyed || socket.writableLength === 0) return resolve();
      // Node emits `drain` only after a write past the high-water mark (16 KiB); the callback of
      // an empty write, queued behind every byte written so far, also fires below it, once the
      // kernel has taken them all (or with an error when the socket is destroyed meanwhile).
      socket.write(EMPTY, () => resolve());
    });
  }

  close(): void {
    this.open = false;
    this.socket.destroy();
  }

  end(): void {
    const { socket } = this;
    if (socket.destroyed) return;
    // The chunked coding's last chunk, then FIN once every byte has gone; a reader that takes
    // none of them does not hold the socket for ever.
    if (this.chunked) socket.end(LAST_CHUNK);
    else socket.end();
    socket.setTimeout(END_TIMEOUT_MS, destroySocket);
  }
}

const LAST_CHUNK = Buffer.from("0\r\n\r\n", "latin1");
/** How long an ended stream's last bytes may take to go before the socket is destroyed. */
const END_TIMEOUT_MS = 30_000;

function destroySocket(this: Socket): void {
  this.destroy();
}

const EMPTY = Buffer.alloc(0);
let lastChunk: Uint8Array | undefined;
let lastFramed: Buffer | undefined;
const CR = 0x0d;
const LF = 0x0a;

/**
 * One HTTP/1.1 chunk: size in hex, CRLF, the bytes, CRLF. The last one made is kept: the hub
 * writes the same buffer to every stream of a channel, one after another.
 */
function framed(chunk: Uint8Array): Buffer {
  if (chunk === lastChunk && lastFramed) return lastFramed;
  const length = chunk.byteLength;
  const size = length.toString(16);
  const frame = Buffer.allocUnsafe(size.length + length + 4);
  // Byte by byte: `Buffer.write` per piece cost more than the copy (370 -> 140 ns per
  // 230-byte frame).
  let at = 0;
  for (; at < size.length; at++) frame[at] = size.charCodeAt(at);
  frame[at++] = CR;
  frame[at++] = LF;
  frame.set(chunk, at);
  at += length;
  frame[at++] = CR;
  frame[at] = LF;
  lastChunk = chunk;
  lastFramed = frame;
  return frame;
}

function readNodeBody(req: IncomingMessage, maxBytes: number): Promise<Uint8Array> {
  const tooLarge = () =>
    new HeraldError(
      "payload_too_large",
      `the body is larger than ${maxBytes} bytes: send less, or a reference to it`,
    );
  const declared = Number(req.headers["content-length"]);
  if (declared > maxBytes) return Promise.reject(tooLarge());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        req.removeAllListeners("data");
        req.resume();
        reject(tooLarge());
        return;
      }
      chunks.push(chunk);
    });
    req.once("end", () => resolve(Buffer.concat(chunks)));
    req.once("error", (cause) =>
      reject(new HeraldError("invalid_message", "the body could not be read", { cause })),
    );
  });
}
