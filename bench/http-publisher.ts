/**
 * A publisher in a process of its own, publishing to Herald over HTTP as an application server
 * would: `POST /api/v1/events/{channel}` on one keep-alive connection, one event at a time,
 * each awaited, at a fixed rate (`run.ts`'s `http-publish` scenario). It reports what the hub
 * accepted and its own CPU time; the server's CPU time per published event is the figure.
 */
import { Agent, request } from "node:http";
import type { Socket } from "node:net";
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

function report(): PublisherReport {
  const cpu = process.cpuUsage(markCpu);
  return {
    op: "report",
    published,
    total,
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
      const { port, token, channel, perSecond } = command;
      let n = 0;
      stop = ticking(1000 / perSecond, () => {
        n++;
        return post(port, token, channel, JSON.stringify(progressMessage(n, "http")));
      });
      process.send?.(report());
      break;
    }
    case "mark":
      published = 0;
      markCpu = process.cpuUsage();
      markWall = performance.now();
      process.send?.(report());
      break;
    case "report":
      process.send?.(report());
      break;
    case "stop":
      stop();
      process.send?.(report());
      break;
    case "exit":
      stop();
      agent.destroy();
      process.exit(0);
  }
});

process.on("disconnect", () => process.exit(0));
