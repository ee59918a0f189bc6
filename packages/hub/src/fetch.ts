/**
 * The fetch-style adapter: `(Request) => Promise<Response>`, for route handlers such as
 * Next.js's. It answers 404 for paths that are not the hub's, so it can be mounted on a
 * catch-all route.
 *
 * Runtimes: Node.js 20 and later, which is what Next.js route handlers run on by default (the
 * "nodejs" runtime; not the Edge runtime). The hub needs Node's APIs (`Buffer`, `process`, and
 * prom-client's metrics), and a stream lives in this process's memory, so it needs a long-lived
 * server process, not a per-request isolate: Edge, Cloudflare Workers and other serverless
 * functions that end with the response are not supported.
 */
import { HeraldError } from "@herald/protocol";
import {
  admitStream,
  confirmStream,
  createEventsHandler,
  type EventsHandlerOptions,
  type HubRequest,
} from "./http.ts";
import type { Hub, OpenStream } from "./hub.ts";

export type FetchEventsHandler = (request: Request) => Promise<Response>;

export function createFetchHandler(hub: Hub, options: EventsHandlerOptions): FetchEventsHandler {
  const handle = createEventsHandler(hub, options);
  return async (request) => {
    const hubRequest = toHubRequest(request);
    const handled = await handle(hubRequest);
    if (!handled) {
      const body = {
        error: {
          code: "not_found",
          message: `nothing is served at ${new URL(request.url).pathname}`,
        },
      };
      return Response.json(body, { status: 404 });
    }
    // A Request carries no client address: the per-address cap needs `clientAddress`.
    const { answer, place } = admitStream(
      hub,
      confirmStream(hub, handled),
      options,
      undefined,
      hubRequest.header,
    );
    if (answer.kind === "body") {
      return new Response(request.method === "HEAD" ? null : answer.body, {
        status: answer.status,
        headers: answer.headers,
      });
    }
    // The stream's place under the caps goes back once, at the first of its ways to end: the
    // client going (abort, cancel), the hub closing or ending it.
    let held = place;
    const releasePlace = () => {
      held?.admission.release(held.address);
      held = undefined;
    };
    let close = releasePlace;
    let wakeUp: (() => void) | undefined;
    const body = new ReadableStream<Uint8Array>(
      {
        start(controller) {
          let stream: OpenStream;
          try {
            stream = hub.openStream(answer.request, {
              write(chunk) {
                controller.enqueue(chunk);
              },
              get bufferedBytes() {
                // desiredSize goes negative as unread bytes pile up past the high-water mark.
                return Math.max(0, -(controller.desiredSize ?? 0));
              },
              drained() {
                // Nothing unread: the reader already asked for more, and will not ask again.
                if ((controller.desiredSize ?? 0) >= 0) return Promise.resolve();
                return new Promise<void>((resolve) => {
                  wakeUp = resolve;
                });
              },
              close() {
                releasePlace();
                stream.close();
                controller.error(
                  new HeraldError("unavailable", "the stream was closed by the hub"),
                );
              },
              end() {
                releasePlace();
                // The reader still gets what is queued, then the end of the body.
                controller.close();
              },
            });
          } catch (error) {
            releasePlace();
            throw error;
          }
          close = () => {
            releasePlace();
            stream.close();
          };
          request.signal.addEventListener("abort", close, { once: true });
        },
        pull() {
          // The reader wants more: whatever was queued has been taken.
          wakeUp?.();
          wakeUp = undefined;
        },
        cancel() {
          close();
          wakeUp?.();
        },
      },
      new ByteLengthQueuingStrategy({ highWaterMark: 0 }),
    );
    return new Response(body, { status: 200, headers: answer.headers });
  };
}

function toHubRequest(request: Request): HubRequest {
  return {
    method: request.method,
    url: new URL(request.url),
    header: (name) => request.headers.get(name) ?? undefined,
    async readBody(maxBytes) {
      const tooLarge = new HeraldError(
        "payload_too_large",
        `the body is larger than ${maxBytes} bytes: send less`,
      );
      if (Number(request.headers.get("content-length")) > maxBytes) throw tooLarge;
      if (!request.body) return new Uint8Array();
      const chunks: Uint8Array[] = [];
      let size = 0;
      for await (const chunk of request.body) {
        size += chunk.byteLength;
        if (size > maxBytes) throw tooLarge;
        chunks.push(chunk);
      }
      return Buffer.concat(chunks);
    },
  };
}
