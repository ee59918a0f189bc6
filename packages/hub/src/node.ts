/**
 * The Node `http` adapter: the fast path. `(req, res)` in, and `false` when the request is not
 * the hub's, so it fits in front of any other handler.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { HeraldError } from "@herald/protocol";
import {
  confirmStream,
  createEventsHandler,
  type EventsHandlerOptions,
  type HubRequest,
  type HubResponse,
} from "./http.ts";
import type { Hub, OpenStream, StreamSink } from "./hub.ts";

export type NodeEventsHandler = (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;

export function createNodeHandler(hub: Hub, options: EventsHandlerOptions): NodeEventsHandler {
  const handle = createEventsHandler(hub, options);
  return async (req, res) => {
    const answer = await handle(toHubRequest(req));
    if (!answer) return false;
    sendNodeResponse(hub, answer, req, res);
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
): void {
  const answer = confirmStream(hub, unconfirmed);
  if (answer.kind === "body") {
    res.writeHead(answer.status, {
      ...answer.headers,
      "content-length": Buffer.byteLength(answer.body),
    });
    res.end(req.method === "HEAD" ? undefined : answer.body);
    return;
  }
  res.writeHead(200, answer.headers);
  // Frames are small and latency matters more than packet count.
  req.socket.setNoDelay(true);
  req.socket.setTimeout(0);
  const stream = hub.openStream(answer.request, new NodeSink(res));
  // The client may have gone while its token was being checked.
  if (res.closed) stream.close();
  else {
    openStreams.set(res, stream);
    res.on("close", closeStream);
  }
}

/** The stream of each open response, for the one `close` listener all of them share. */
const openStreams = new WeakMap<ServerResponse, OpenStream>();

function closeStream(this: ServerResponse): void {
  openStreams.get(this)?.close();
  openStreams.delete(this);
}

/**
 * A stream's bytes, written straight to its socket once the head is out. `res.write` would
 * cork the socket, frame the chunk in four writes and uncork it on the next tick, per stream
 * and per write: most of the hub's own cost at a large fan-out. Here the chunked framing is made
 * once per buffer (the hub hands every stream of a channel the same one) and each stream costs
 * one `socket.write`. A class, not closures, keeps an idle stream's heap small.
 */
class NodeSink implements StreamSink {
  private readonly socket: Socket | null;
  private readonly chunked: boolean;

  constructor(private readonly res: ServerResponse) {
    // Out now, so that every later byte can go to the socket behind the response's back.
    res.flushHeaders();
    this.socket = res.socket;
    this.chunked = res.chunkedEncoding;
  }

  write(chunk: Uint8Array): void {
    const { socket } = this;
    if (!socket) {
      this.res.write(chunk);
      return;
    }
    if (socket.destroyed) return;
    socket.write(this.chunked ? framed(chunk) : chunk);
  }

  get bufferedBytes(): number {
    // The response's own unsent bytes plus its socket's, where it still has one.
    return this.res.writableLength;
  }

  drained(): Promise<void> {
    const { res } = this;
    const emitter = this.socket ?? res;
    return new Promise<void>((resolve) => {
      if (res.closed || this.bufferedBytes === 0) return resolve();
      const done = () => {
        emitter.off("drain", done);
        res.off("close", done);
        resolve();
      };
      emitter.on("drain", done);
      res.on("close", done);
    });
  }

  close(): void {
    this.res.destroy();
  }
}

let lastChunk: Uint8Array | undefined;
let lastFramed: Buffer | undefined;
const CRLF = "\r\n";

/**
 * One HTTP/1.1 chunk: size in hex, CRLF, the bytes, CRLF. The last one made is kept: the hub
 * writes the same buffer to every stream of a channel, one after another.
 */
function framed(chunk: Uint8Array): Buffer {
  if (chunk === lastChunk && lastFramed) return lastFramed;
  const size = chunk.byteLength.toString(16);
  const frame = Buffer.allocUnsafe(size.length + chunk.byteLength + 4);
  let at = frame.write(size, 0, "latin1");
  at += frame.write(CRLF, at, "latin1");
  frame.set(chunk, at);
  frame.write(CRLF, at + chunk.byteLength, "latin1");
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
