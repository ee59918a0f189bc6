/**
 * Studio's backend: sessions, the generation API, the task queue and runner, storage, and the
 * hub at /api/v1/events. `createApp` builds it all from a config; `main.ts` runs it.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import fastifyCookie from "@fastify/cookie";
import fastifyStatic from "@fastify/static";
import {
  createHub,
  createJwtAuth,
  createMemoryStore,
  type EventStore,
  type Hub,
} from "@herald/hub";
import { heraldPlugin } from "@herald/hub/fastify";
import { createRedisStore } from "@herald/hub/redis";
import { type ErrorCode, HeraldError } from "@herald/protocol";
import Fastify, {
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from "fastify";
import { registerFiles } from "./api/files.ts";
import { openApiDocument } from "./api/openapi.ts";
import { registerApi } from "./api/routes.ts";
import { registerSecurity } from "./api/security.ts";
import { clientAddress, trustedProxies } from "./client-address.ts";
import type { ServerConfig } from "./config.ts";
import { openDatabase } from "./db/index.ts";
import type { Database } from "./db/types.ts";
import { createGenerationEvents } from "./events.ts";
import { loggableError, redactToken } from "./log.ts";
import { render } from "./render/index.ts";
import { loadSecrets } from "./secrets.ts";
import { createSessions, ownershipAuthorizer, type Sessions } from "./sessions.ts";
import { createLocalStorage } from "./storage.ts";
import { createBullMqQueue } from "./tasks/bullmq-queue.ts";
import { createTaskLifecycle } from "./tasks/lifecycle.ts";
import { createInProcessQueue, type TaskQueue } from "./tasks/queue.ts";
import { createTaskRunner } from "./tasks/runner.ts";

export interface AppOptions extends ServerConfig {
  logger?: boolean;
  /** The studio's build to serve at `/`; default apps/studio/dist where it was built. */
  studioDir?: string;
}

/** Where `npm run build --workspace @herald/studio` writes the web app. */
const STUDIO_DIST = fileURLToPath(new URL("../../studio/dist/", import.meta.url));

export interface App {
  fastify: FastifyInstance;
  hub: Hub;
  db: Database;
  queue: TaskQueue;
  sessions: Sessions;
  /** Queues the tasks a stop left pending or running; call once the server listens. */
  resumeUnfinished(): Promise<number>;
}

const FASTIFY_CODES: Record<number, ErrorCode> = {
  400: "invalid_request",
  404: "not_found",
  405: "method_not_allowed",
  413: "payload_too_large",
  415: "unsupported_media_type",
};

export async function createApp(config: AppOptions): Promise<App> {
  const trusted = trustedProxies(config.trustProxy);
  const fastify = Fastify({
    logger: config.logger
      ? {
          // Tokens may ride in the query string; they never reach a log.
          serializers: {
            req: (req) => ({ method: req.method, url: redactToken(req.url) }),
            err: loggableError,
          },
        }
      : false,
    bodyLimit: 64 * 1024,
    // A request's head, and then its whole body, must arrive within the timeout (408 past it),
    // counted from the connection's start, however slowly it trickles. node:http checks every
    // connectionsCheckingInterval, so that is kept a small part of the timeout.
    requestTimeout: config.requestTimeoutMs,
    http: {
      headersTimeout: config.requestTimeoutMs,
      connectionsCheckingInterval: Math.max(100, Math.min(1000, config.requestTimeoutMs / 20)),
    },
    // X-Forwarded-For / -Proto / -Host count only from these (TRUST_PROXY): the client's
    // address for the per-address limits, and https for Secure cookies.
    trustProxy: (address: string) => trusted(address),
  });
  const db = await openDatabase({ dataDir: config.dataDir, databaseUrl: config.databaseUrl });
  await db.migrate();
  const secrets = await loadSecrets(config.dataDir);
  const eventsAuth = createJwtAuth({ secret: config.jwtSecret ?? secrets.events });
  const store: EventStore = config.redisUrl
    ? await createRedisStore({
        url: config.redisUrl,
        keyPrefix: config.redisPrefix,
        onError: (error) => fastify.log.error({ err: error }, error.message),
      })
    : createMemoryStore();
  const hub = createHub({
    store,
    maxStreamAgeMs: config.streamMaxAgeMs || undefined,
    coalesceMs: config.coalesceMs,
    onError: (error) => fastify.log.error({ err: error }, error.message),
  });
  const sessions = createSessions({
    secret: secrets.session,
    eventsAuth,
    db,
    sessionsPerMinute: config.sessionsPerMinute,
  });
  const storage = await createLocalStorage(join(config.dataDir, "files"));
  const events = createGenerationEvents(hub);
  let queue: TaskQueue | undefined;
  const lifecycle = createTaskLifecycle({
    db,
    events,
    limits: {
      maxTasksPerUser: config.maxTasksPerUser,
      storageQuotaBytes: config.storageQuotaBytes,
    },
    queue: () => {
      if (!queue) throw new Error("the task queue is used before it was made");
      return queue;
    },
  });
  const queueOptions = {
    concurrency: config.workers,
    handler: createTaskRunner({
      db,
      storage,
      events,
      lifecycle,
      render,
      renderPace: config.renderPace,
    }),
    onError: (taskId: string, error: unknown) =>
      fastify.log.error({ err: error, taskId }, "a task failed outside its render"),
  };
  const taskQueue: TaskQueue = config.redisUrl
    ? await createBullMqQueue({
        ...queueOptions,
        redisUrl: config.redisUrl,
        prefix: `${config.redisPrefix}tasks`,
      })
    : createInProcessQueue(queueOptions);
  queue = taskQueue;

  // Before any route, so that every one of them (the hub's too) is covered.
  registerSecurity(fastify);
  await fastify.register(fastifyCookie);
  // The API speaks JSON only: a text body is refused with 415, not read as a string.
  fastify.removeContentTypeParser("text/plain");
  fastify.setErrorHandler((error: FastifyError | HeraldError, request, reply) => {
    if (error instanceof HeraldError) return reply.code(error.status).send(error.toBody());
    const status = error.statusCode ?? 500;
    const code = FASTIFY_CODES[status];
    if (status < 500 && code)
      return reply.code(status).send(new HeraldError(code, error.message).toBody());
    request.log.error({ err: error }, "request failed");
    return reply
      .code(500)
      .send(
        new HeraldError("internal", "the server failed to answer; it has been logged").toBody(),
      );
  });
  fastify.setNotFoundHandler((request, reply) => {
    reply
      .code(404)
      .send(
        new HeraldError(
          "not_found",
          `nothing is served at ${request.method} ${request.url.split("?")[0]}`,
        ).toBody(),
      );
  });
  await fastify.register(heraldPlugin, {
    hub,
    auth: sessions.authenticator,
    authorizeSubscribe: ownershipAuthorizer(db),
    readinessChecks: { database: () => db.check() },
    streamCaps: {
      maxOpenStreams: config.maxStreams,
      maxStreamsPerAddress: config.maxStreamsPerAddress,
    },
    clientAddress: (remoteAddress, header) =>
      clientAddress(trusted, remoteAddress, header("x-forwarded-for")),
  });
  await registerApi(fastify, { db, storage, lifecycle, sessions });
  await registerFiles(fastify, storage);
  const openApi = openApiDocument();
  fastify.get("/api/v1/openapi.json", async () => openApi);
  await registerStudio(fastify, config.studioDir ?? STUDIO_DIST);

  // Streams never end by themselves: end them before the server waits for its connections.
  fastify.addHook("preClose", async () => {
    await taskQueue.close();
    await hub.close();
  });
  // Sessions that never generated anything are removed once they are idleSessionTtlS old.
  const sweepIdleSessions = () => {
    const cutoff = new Date(Date.now() - config.idleSessionTtlS * 1000);
    db.deleteIdleUsers(cutoff).catch((error: unknown) =>
      fastify.log.error({ err: error }, "removing idle sessions failed"),
    );
  };
  const idleSweep = setInterval(
    sweepIdleSessions,
    Math.max(1000, Math.min(3600, config.idleSessionTtlS / 2) * 1000),
  );
  idleSweep.unref();
  fastify.addHook("onClose", async () => {
    clearInterval(idleSweep);
    await hub.store.close();
    await db.close();
  });

  return {
    fastify,
    hub,
    db,
    queue: taskQueue,
    sessions,
    async resumeUnfinished() {
      const tasks = await db.listUnfinishedTasks();
      for (const task of tasks) await taskQueue.enqueue(task.id, task.userId);
      return tasks.length;
    },
  };
}

/**
 * The studio at `/`, its assets with long caching (their names change with their content),
 * and index.html for every /tools/* path, so the app's own routes survive a reload. Without a
 * build (the server's tests, an `npm run start` inside apps/server) `/` is a small page instead.
 */
async function registerStudio(fastify: FastifyInstance, root: string): Promise<void> {
  if (!existsSync(join(root, "index.html"))) {
    fastify.get("/", async (_request, reply) => {
      reply.type("text/html; charset=utf-8");
      return INDEX_PAGE;
    });
    return;
  }
  await fastify.register(fastifyStatic, {
    root,
    wildcard: false,
    index: false,
    globIgnore: ["index.html"],
    maxAge: "365d",
    immutable: true,
  });
  // index.html is never cached: it names the assets of the current build.
  const sendIndex = (_request: FastifyRequest, reply: FastifyReply) =>
    reply.sendFile("index.html", { maxAge: 0, immutable: false });
  fastify.get("/", sendIndex);
  fastify.get("/tools/*", sendIndex);
}

const INDEX_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Herald Studio</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body>
<h1>Herald Studio</h1>
<p>This server runs the Herald event hub and the generation API.</p>
<ul>
<li><a href="/api/v1/openapi.json">/api/v1/openapi.json</a>: the generation API</li>
<li><code>GET /api/v1/events/{channel}</code>: event streams (Server-Sent Events)</li>
<li><a href="/healthz">/healthz</a>, <a href="/readyz">/readyz</a>, <a href="/metrics">/metrics</a></li>
</ul>
</body></html>
`;
