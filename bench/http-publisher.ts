/**
 * A publisher in a process of its own, publishing to Herald over HTTP as an application server
 * would, at a fixed rate (`run.ts`'s `http-publish` scenario), in one of two ways:
 * - one event per POST (`POST /api/v1/events/{channel}`) on one keep-alive connection, each
 *   awaited (`herald-http`);
 * - through `@herald/client/publisher` (`herald-http-batch`): each publish made as its tick
 *   comes, not awaited, and the publisher gathers them into batch POSTs (`POST /api/v1/events`)
 *   over fetch's keep-alive connection, waiting `lingerMs` for more after the first.
 * It reports what the hub accepted, the POSTs it took and its own CPU time; the server's CPU
 * time per published event is the figure.
 */
import diagnostics from "node:diagnostics_channel";
import { Agent, request } from "node:http";
import type { Socket } from "node:net";
import { createPublisher, type Publisher } from "@herald/client/publisher";
import {
  type PublisherCommand,
  type PublisherReport,
  progressMessage,
  ticking,
} from "./lib/shared.ts";

const agent = new Agent({ keepAlive: true, maxSockets: 1 });
let connections = 0;
const seen = new WeakSet<Socket>();
let published = 0;
let total = 0;
let posts = 0;
let publisher: Publisher | undefined;
let errors = 0;
const problems: string[] = [];
let markCpu = process.cpuUsage();
let markWall = performance.now();
let stop: () => void = () => {};

function note(problem: string): void {
  errors++;
  if (problems.length < 5 && !problems.includes(problem)) problems.push(problem);
}

function post(port: number, token: string, channel: string, body: string): Promise<void> {
  return new Promise((resolve) => {
    const req = request(
      {
        host: "127.0.0.1",
        port,
        method: "POST",
        path: `/api/v1/events/${channel}`,
        agent,
        headers: {
          authorization: `Bearer ${token}`,
          "content-type": "application/json",
          "content-length": Buffer.byteLength(body),
        },
      },
      (res) => {
        res.resume();
        res.on("end", () => {
          posts++;
          if (res.statusCode === 201) {
            published++;
            total++;
          } else note(`HTTP ${res.statusCode}`);
          resolve();
        });
      },
    );
    req.on("socket", (socket) => {
      if (seen.has(socket)) return;
      seen.add(socket);
      connections++;
    });
    req.on("error", (error: NodeJS.ErrnoException) => {
      note(error.code ?? error.message);
      resolve();
    });
    req.end(body);
  });
}

/** The batch publisher, on fetch; its connections counted where fetch (undici) reports them. */
function startBatchPublisher(port: number, token: string, lingerMs: number): Publisher {
  diagnostics.subscribe("undici:client:connected", () => {
    connections++;
  });
  return createPublisher({
    url: `http://127.0.0.1:${port}/api/v1/events`,
    token,
    lingerMs,
    fetch: async (input, init) => {
      const response = await fetch(input, init);
      posts++;
      return response;
    },
  });
}

function report(): PublisherReport {
  const cpu = process.cpuUsage(markCpu);
  return {
    op: "report",
    published,
    total,
    posts,
    errors,
    problems,
    cpuUs: cpu.user + cpu.system,
    wallMs: performance.now() - markWall,
    connections,
  };
}

process.on("message", (command: PublisherCommand) => {
  switch (command.op) {
    case "setup": {
      const { port, token, channel, perSecond, batchLingerMs } = command;
      let n = 0;
      if (batchLingerMs === undefined) {
        stop = ticking(1000 / perSecond, () => {
          n++;
          return post(port, token, channel, JSON.stringify(progressMessage(n, "http")));
        });
      } else {
        const batches = startBatchPublisher(port, token, batchLingerMs);
        publisher = batches;
        stop = ticking(1000 / perSecond, async () => {
          n++;
          batches.publish(channel, progressMessage(n, "http") as { type: "render_progress" }).then(
            () => {
              published++;
              total++;
            },
            (error: { code?: string; message?: string }) => note(error.code ?? String(error)),
          );
        });
      }
      process.send?.(report());
      break;
    }
    case "mark":
      published = 0;
      posts = 0;
      markCpu = process.cpuUsage();
      markWall = performance.now();
      process.send?.(report());
      break;
    case "report":
      process.send?.(report());
      break;
    case "stop":
      stop();
      // What is queued goes out, so that every event numbered is published (or counted failed).
      void (publisher?.flush() ?? Promise.resolve()).then(() => process.send?.(report()));
      break;
    case "exit":
      stop();
      agent.destroy();
      process.exit(0);
  }
});

process.on("disconnect", () => process.exit(0));
