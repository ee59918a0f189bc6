/**
 * The events route a Next.js app puts in front of Herald (`app/api/events/route.ts`), exactly
 * as docs/MIGRATING-FROM-WEBSOCKET.md shows it, and a small node:http host that runs a
 * Fetch-API route handler the way Next.js does: the request's `signal` aborts when the browser
 * goes, and the response body is written as it comes.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";

export interface EventsRouteOptions {
  /** Where Herald runs, for example `http://127.0.0.1:3000`. */
  hubUrl: string;
  /** The Herald token of the user making `request` (the app's own session decides who). */
  tokenFor: (request: Request) => string | Promise<string>;
}

// --- the route, as the migration guide shows it --------------------------------------------
export function createEventsRoute({ hubUrl, tokenFor }: EventsRouteOptions) {
  return async function GET(request: Request): Promise<Response> {
    // The channels and the resume cursor ride in the query: pass it on whole.
    const { search } = new URL(request.url);
    const headers = new Headers({
      accept: "text/event-stream",
      authorization: `Bearer ${await tokenFor(request)}`,
    });
    // The browser's own reconnects resume with this header.
    const lastEventId = request.headers.get("last-event-id");
    if (lastEventId) headers.set("last-event-id", lastEventId);
    const upstream = await fetch(`${hubUrl}/api/v1/events${search}`, {
      headers,
      // The browser left: end the stream to Herald too.
      signal: request.signal,
      cache: "no-store",
    });
    // Herald's answer as it is: a refusal keeps its status and JSON body (the client reads
    // them to decide whether to retry), a stream goes through unbuffered.
    return new Response(upstream.body, {
      status: upstream.status,
      headers: {
        "content-type": upstream.headers.get("content-type") ?? "text/event-stream",
        "cache-control": "no-cache, no-transform",
        "x-accel-buffering": "no",
      },
    });
  };
}
// --------------------------------------------------------------------------------------------

export interface AppServer {
  url: string;
  close(): Promise<void>;
}

type Route = (request: Request) => Promise<Response>;
type Page = (req: IncomingMessage, res: ServerResponse) => boolean;

/** An app server: `routes` by pathname (Fetch-API handlers), else `page` answers, else 404. */
export async function startAppServer(
  routes: Record<string, Route>,
  page: Page,
): Promise<AppServer> {
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://app.local");
    const route = routes[url.pathname];
    if (route) {
      void runRoute(route, req, res);
      return;
    }
    if (!page(req, res)) res.writeHead(404).end();
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  const address = server.address();
  if (typeof address !== "object" || address === null) throw new Error("no port was given");
  return {
    url: `http://127.0.0.1:${address.port}`,
    close: () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}

async function runRoute(route: Route, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const gone = new AbortController();
  res.on("close", () => gone.abort());
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (typeof value === "string") headers.set(name, value);
  }
  try {
    const response = await route(
      new Request(new URL(req.url ?? "/", `http://${req.headers.host}`), {
        headers,
        signal: gone.signal,
      }),
    );
    res.writeHead(response.status, Object.fromEntries(response.headers));
    res.flushHeaders();
    if (response.body) for await (const chunk of response.body) res.write(chunk);
    res.end();
  } catch (error) {
    // The browser closing the stream aborts the upstream fetch: the end we want, not a failure.
    if (gone.signal.aborted) return;
    res.destroy(error instanceof Error ? error : new Error(String(error)));
  }
}
