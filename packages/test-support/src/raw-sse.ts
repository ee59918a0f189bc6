/**
 * A byte-level SSE reader for tests, independent of any EventSource: it sees exactly what the
 * server wrote (the first bytes, comments, retry lines), parsed by the WHATWG rules.
 */
import { request as httpRequest, type IncomingMessage } from "node:http";

export interface RawEvent {
  id: string | undefined;
  event: string | undefined;
  data: string;
}

export interface RawStream {
  status: number;
  headers: IncomingMessage["headers"];
  /** Everything received, as text. */
  readonly text: string;
  /** The events, but for the opening cursor event (`cursors`). */
  readonly events: RawEvent[];
  /** The ids of the opening `cursor` events (PROTOCOL.md section 3): not messages. */
  readonly cursors: string[];
  readonly comments: string[];
  readonly retries: number[];
  /** Resolves once `predicate` holds for what has been received (checked on every chunk). */
  until(predicate: (stream: RawStream) => boolean, what?: string): Promise<void>;
  /** Resolves when the server ends the connection. */
  readonly ended: Promise<void>;
  response: IncomingMessage;
  close(): void;
}

export function openRawStream(
  url: string,
  headers: Record<string, string> = {},
): Promise<RawStream> {
  return new Promise((resolve, reject) => {
    // agent: false gives every stream a connection of its own, as a browser tab would have.
    const req = httpRequest(
      url,
      { agent: false, headers: { accept: "text/event-stream", ...headers } },
      (response) => {
        let text = "";
        let buffer = "";
        let data: string[] = [];
        let id: string | undefined;
        let eventName: string | undefined;
        const waiters: Array<{ predicate: (s: RawStream) => boolean; resolve: () => void }> = [];
        let endResolve: () => void = () => {};
        const ended = new Promise<void>((r) => {
          endResolve = r;
        });
        const stream: RawStream = {
          status: response.statusCode ?? 0,
          headers: response.headers,
          get text() {
            return text;
          },
          events: [],
          cursors: [],
          comments: [],
          retries: [],
          until(predicate, what = "a condition") {
            if (predicate(stream)) return Promise.resolve();
            return new Promise((resolveWait, rejectWait) => {
              const waiter = { predicate, resolve: resolveWait };
              waiters.push(waiter);
              ended.then(() => {
                if (waiters.includes(waiter))
                  rejectWait(new Error(`the stream ended before ${what}`));
              });
            });
          },
          ended,
          response,
          close() {
            req.destroy();
          },
        };
        response.setEncoding("utf8");
        response.on("data", (chunk: string) => {
          text += chunk;
          buffer += chunk;
          for (;;) {
            const match = /\r\n|\r|\n/.exec(buffer);
            // A CR at the very end may be the first half of a CRLF split across chunks.
            if (!match || (match[0] === "\r" && match.index === buffer.length - 1)) break;
            const line = buffer.slice(0, match.index);
            buffer = buffer.slice(match.index + match[0].length);
            if (line === "") {
              if (data.length > 0 && eventName === "cursor") stream.cursors.push(id ?? "");
              else if (data.length > 0)
                stream.events.push({ id, event: eventName, data: data.join("\n") });
              data = [];
              eventName = undefined;
              continue;
            }
            if (line.startsWith(":")) {
              stream.comments.push(line.slice(1).trimStart());
              continue;
            }
            const colon = line.indexOf(":");
            const field = colon < 0 ? line : line.slice(0, colon);
            let value = colon < 0 ? "" : line.slice(colon + 1);
            if (value.startsWith(" ")) value = value.slice(1);
            if (field === "data") data.push(value);
            else if (field === "id" && !value.includes("\0")) id = value;
            else if (field === "event") eventName = value;
            else if (field === "retry" && /^\d+$/.test(value)) stream.retries.push(Number(value));
          }
          for (const waiter of [...waiters]) {
            if (waiter.predicate(stream)) {
              waiters.splice(waiters.indexOf(waiter), 1);
              waiter.resolve();
            }
          }
        });
        response.on("close", endResolve);
        response.on("error", endResolve);
        resolve(stream);
      },
    );
    req.on("error", reject);
    req.end();
  });
}

/** The messages of a stream's events, parsed. */
export function messagesOf(stream: RawStream): Array<Record<string, unknown>> {
  return stream.events.map((event) => JSON.parse(event.data) as Record<string, unknown>);
}
