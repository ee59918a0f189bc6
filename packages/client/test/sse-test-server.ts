/**
 * A small real SSE server for the client's integration tests: it keeps the part of
 * PROTOCOL.md the client relies on (multi-channel streams, `<epoch>-<seq>` ids, resume from the
 * `Last-Event-ID` header or the `lastEventId` query parameter, JSON refusals) and can be told
 * to refuse requests or to cut its open connections.
 */
import { once } from "node:events";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { encodeComment, encodeEventFrame, encodeRetry, parseCursor } from "@herald/protocol";

export const EPOCH = "e1";

export interface SeenRequest {
  channels: string[];
  /** The `Last-Event-ID` header, as EventSource sends it on its own reconnects. */
  lastEventIdHeader: string | undefined;
  /** The `lastEventId` query parameter, as a new EventSource of the client sends it. */
  lastEventIdQuery: string | null;
  token: string | null;
  authorization: string | undefined;
  /** The status this request was answered with. */
  status: number;
}

interface Refusal {
  status: number;
  count: number;
  headers: Record<string, string>;
}

interface Stored {
  seq: number;
  channel: string;
  json: string;
}

interface OpenStream {
  channels: Set<string>;
  response: ServerResponse;
}

export interface SseTestServer {
  /** `http://127.0.0.1:<port>` */
  readonly baseUrl: string;
  readonly requests: SeenRequest[];
  /** Publishes to `channel`; returns the event id. */
  publish(channel: string, message: Record<string, unknown>): string;
  /** Answers the next `count` stream requests with `status` and a JSON error body. */
  refuseNext(status: number, count?: number, headers?: Record<string, string>): void;
  /** Only these `token` query values are let in (401 for others); undefined lets everyone in. */
  acceptTokens(tokens: readonly string[] | undefined): void;
  /** Destroys the socket of every open stream, as a network failure would. */
  dropConnections(): void;
  openStreams(): number;
  /** Resolves once `predicate` holds, checked after every request and every stream's end. */
  until(predicate: () => boolean): Promise<void>;
  close(): Promise<void>;
}

const ERROR_CODES: Record<number, string> = {
  401: "unauthorized",
  403: "forbidden",
  404: "not_found",
  429: "too_many_connections",
  503: "unavailable",
};

export async function startSseTestServer(): Promise<SseTestServer> {
  const requests: SeenRequest[] = [];
  const history: Stored[] = [];
  const streams = new Set<OpenStream>();
  const refusals: Refusal[] = [];
  const waiters = new Set<() => void>();
  let tokens: Set<string> | undefined;
  let seq = 0;

  const changed = () => {
    for (const check of [...waiters]) check();
  };

  const refuse = (response: ServerResponse, status: number, headers: Record<string, string>) => {
    const code = ERROR_CODES[status] ?? "internal";
    response.writeHead(status, { "content-type": "application/json", ...headers });
    response.end(JSON.stringify({ error: { code, message: `test server answers ${status}` } }));
  };

  const handle = (request: IncomingMessage, response: ServerResponse) => {
    const url = new URL(request.url ?? "/", "http://localhost");
    if (url.pathname !== "/api/v1/events") {
      refuse(response, 404, {});
      return;
    }
    const header = request.headers["last-event-id"];
    const seen: SeenRequest = {
      channels: url.searchParams.getAll("channel"),
      lastEventIdHeader: typeof header === "string" ? header : undefined,
      lastEventIdQuery: url.searchParams.get("lastEventId"),
      token: url.searchParams.get("token"),
      authorization: request.headers.authorization,
      status: 200,
    };
    requests.push(seen);

    const refusal = refusals[0];
    if (refusal) {
      refusal.count -= 1;
      if (refusal.count <= 0) refusals.shift();
      seen.status = refusal.status;
      refuse(response, refusal.status, refusal.headers);
      changed();
      return;
    }
    if (tokens && !tokens.has(seen.token ?? "")) {
      seen.status = 401;
      refuse(response, 401, {});
      changed();
      return;
    }

    response.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache, no-transform",
    });
    // A short retry keeps EventSource's own reconnects quick in tests.
    response.write(encodeRetry(10) + encodeComment("ok"));
    const stream: OpenStream = { channels: new Set(seen.channels), response };
    const from = parseCursor(seen.lastEventIdHeader ?? seen.lastEventIdQuery);
    if (from) {
      for (const event of history) {
        if (event.seq > from.seq && stream.channels.has(event.channel)) {
          response.write(encodeEventFrame(`${EPOCH}-${event.seq}`, event.json));
        }
      }
    }
    streams.add(stream);
    response.on("close", () => {
      streams.delete(stream);
      changed();
    });
    changed();
  };

  const server = createServer(handle);
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;

  return {
    baseUrl: `http://127.0.0.1:${port}`,
    requests,
    publish(channel, message) {
      seq += 1;
      const json = JSON.stringify({ ...message, channel, ts: Date.now() });
      history.push({ seq, channel, json });
      const id = `${EPOCH}-${seq}`;
      for (const stream of streams) {
        if (stream.channels.has(channel)) stream.response.write(encodeEventFrame(id, json));
      }
      return id;
    },
    refuseNext(status, count = 1, headers = {}) {
      refusals.push({ status, count, headers });
    },
    acceptTokens(list) {
      tokens = list ? new Set(list) : undefined;
    },
    dropConnections() {
      for (const stream of streams) stream.response.socket?.destroy();
    },
    openStreams: () => streams.size,
    until(predicate) {
      return new Promise<void>((resolve) => {
        const check = () => {
          if (!predicate()) return;
          waiters.delete(check);
          resolve();
        };
        waiters.add(check);
        check();
      });
    },
    async close() {
      for (const stream of streams) stream.response.socket?.destroy();
      server.closeAllConnections();
      server.close();
      await once(server, "close");
    },
  };
}
