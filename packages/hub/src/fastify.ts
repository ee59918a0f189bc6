/**
 * The Fastify plugin. Its routes take the request over in `onRequest`, before Fastify parses a
 * body, and answer through the Node adapter, so streams and publishing behave exactly as there.
 *
 *   await app.register(heraldPlugin, { hub, auth });
 */
import type { FastifyPluginAsync, onRequestAsyncHookHandler } from "fastify";
import { createEventsHandler, type EventsHandlerOptions } from "./http.ts";
import type { Hub } from "./hub.ts";
import { acceptEventStreams, sendNodeResponse, toHubRequest } from "./node.ts";

export interface HeraldPluginOptions extends EventsHandlerOptions {
  hub: Hub;
  /**
   * Take stream requests on fresh connections before Fastify sees them (`acceptEventStreams`),
   * which saves most of an idle stream's memory (default true). Those requests then skip the
   * app's own hooks and request log: set false where a global hook must see every stream.
   */
  acceptConnections?: boolean;
}

export const heraldPlugin: FastifyPluginAsync<HeraldPluginOptions> = async (fastify, options) => {
  const { hub, acceptConnections = true, ...handlerOptions } = options;
  const handle = createEventsHandler(hub, handlerOptions);
  if (acceptConnections) acceptEventStreams(fastify.server, hub, handlerOptions);
  const basePath = (options.basePath ?? "/api/v1/events").replace(/\/+$/, "");

  const takeOver: onRequestAsyncHookHandler = async (request, reply) => {
    const answer = await handle(toHubRequest(request.raw));
    if (!answer) return;
    reply.hijack();
    sendNodeResponse(hub, answer, request.raw, reply.raw, handlerOptions);
  };
  const unreachable = async () => {
    throw new Error("the hub answers these routes in onRequest");
  };
  const methods = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"] as const;
  for (const url of [basePath, `${basePath}/*`]) {
    fastify.route({ method: [...methods], url, onRequest: takeOver, handler: unreachable });
  }
  if (options.operations ?? true) {
    for (const url of ["/healthz", "/readyz", "/metrics"]) {
      fastify.route({ method: "GET", url, onRequest: takeOver, handler: unreachable });
    }
  }
};
