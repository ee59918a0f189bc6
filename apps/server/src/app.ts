/**
 * Studio's backend. For now: the hub at /api/v1/events on the in-memory store, the operations
 * endpoints, and a short page at `/`. The generation API and the web app mount here later.
 */
import { createHub, createJwtAuth, createMemoryStore, type Hub, type JwtAuth } from "@herald/hub";
import { heraldPlugin } from "@herald/hub/fastify";
import Fastify, { type FastifyInstance } from "fastify";

export interface AppOptions {
  logger?: boolean;
  /** HS256 secret for event-stream tokens; default HERALD_JWT_SECRET, else random. */
  jwtSecret?: string;
}

export interface App {
  fastify: FastifyInstance;
  hub: Hub;
  auth: JwtAuth;
}

export async function createApp(options: AppOptions = {}): Promise<App> {
  const fastify = Fastify({
    logger: options.logger
      ? {
          serializers: {
            // Tokens may ride in the query string; they never reach a log.
            req: (req) => ({ method: req.method, url: redactToken(req.url) }),
          },
        }
      : false,
  });
  const auth = createJwtAuth(options.jwtSecret === undefined ? {} : { secret: options.jwtSecret });
  const hub = createHub({
    store: createMemoryStore(),
    onError: (error) => fastify.log.error({ err: error }, error.message),
  });
  await fastify.register(heraldPlugin, { hub, auth });

  fastify.get("/", async (_request, reply) => {
    reply.type("text/html; charset=utf-8");
    return INDEX_PAGE;
  });
  fastify.addHook("onClose", async () => {
    await hub.close();
    await hub.store.close();
  });
  return { fastify, hub, auth };
}

export function redactToken(url: string): string {
  return url.replace(/([?&]token=)[^&]*/g, "$1[redacted]");
}

const INDEX_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Herald</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font: 16px/1.5 system-ui, sans-serif; max-width: 40rem; margin: 3rem auto; padding: 0 1rem">
<h1>Herald</h1>
<p>This server runs the Herald event hub over Server-Sent Events.</p>
<ul>
<li><code>GET /api/v1/events/{channel}</code> and <code>GET /api/v1/events?channel=…</code>: event streams</li>
<li><code>POST /api/v1/events/{channel}</code>: publish (needs a token with a <code>publish</code> claim)</li>
<li><a href="/healthz">/healthz</a>, <a href="/readyz">/readyz</a>, <a href="/metrics">/metrics</a></li>
</ul>
<p>Herald Studio, the image and video generators, will be served here.</p>
</body></html>
`;
