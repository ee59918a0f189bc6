/**
 * The Node `http` adapter: the fast path. `(req, res)` in, and `false` when the request is not
 * the hub's, so it fits in front of any other handler.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { HeraldError } from "@herald/protocol";
import {
  confirmStream,
  createEventsHandler,
  type EventsHandlerOptions,
  type HubRequest,
  type HubResponse,
} from "./http.ts";
import type { Hub } from "./hub.ts";

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
  const stream = hub.openStream(answer.request, {
    write: (chunk) => {
      res.write(chunk);
    },
    get bufferedBytes() {
      return res.writableLength;
    },
    drained: () =>
      new Promise<void>((resolve) => {
        if (res.closed || res.writableLength === 0) return resolve();
        const done = () => {
          res.off("drain", done);
          res.off("close", done);
          resolve();
        };
        res.on("drain", done);
        res.on("close", done);
      }),
    close: () => {
      res.destroy();
    },
  });
  // The client may have gone while its token was being checked.
  if (res.closed) stream.close();
  else res.once("close", () => stream.close());
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
