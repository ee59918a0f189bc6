/**
 * The slow-link scenario of issue 14, run by `slow-link.test.ts` inside a network namespace of
 * its own with 4 KiB TCP buffers (on the host's loopback the kernel alone would buffer
 * megabytes before the hub saw an unsent byte). A hub on node:http, one channel, readers on raw
 * TCP sockets: one reading as fast as it can, the others about 5 KB/s in small chunks with
 * pauses. For `SCENARIO_SECONDS` a task's render_progress goes out 100 times a second, a second
 * task's 10 times, and a `task` event every second (each about 300 bytes); then a
 * render_result. Prints what each reader got, and the hub's figures, as one line of JSON.
 */
import { createServer } from "node:http";
import { type AddressInfo, Socket, type SocketConstructorOpts } from "node:net";
import { createHub, createJwtAuth, createMemoryStore } from "../../src/index.ts";
import { acceptEventStreams, createNodeHandler } from "../../src/node.ts";

const SECONDS = Number(process.env.SCENARIO_SECONDS ?? 30);
const SLOW_READERS = Number(process.env.SCENARIO_SLOW_READERS ?? 20);
/** Bytes per millisecond a slow reader takes: 5 KB/s. */
const SLOW_RATE = 5;
const CHANNEL = "project.p1";

/** What a reader got of one event: enough to check order, progress and timing. */
export interface ReceivedEvent {
  id: string;
  /** When the reader parsed it (ms since the epoch). */
  at: number;
  type: string;
  taskId?: string;
  progress?: number;
  /** A `task` event's number, in publish order. */
  n?: number;
}

export interface ReaderReport {
  slow: boolean;
  /** Whether the connection ended before the scenario did. */
  ended: boolean;
  events: ReceivedEvent[];
}

export interface ScenarioReport {
  seconds: number;
  published: { progressA: number; progressB: number; task: number };
  /** When the render_result was published (ms since the epoch). */
  resultAt: number;
  finalProgress: { a: number; b: number };
  readers: ReaderReport[];
  heapMiB: { afterStart: number; beforeResult: number };
  metrics: { conflated: number; slowConsumersDropped: number; behindAtEnd: number };
}

/** A reader of one SSE stream over raw TCP: HTTP/1.1, chunked coding, SSE frames. */
function openReader(port: number, token: string, slow: boolean): Promise<ReaderReport> {
  return new Promise((resolve) => {
    const report: ReaderReport = { slow, ended: false, events: [] };
    // A small read buffer: what the reader has not taken stays in the kernel's 4 KiB (Node
    // takes the option; its types do not declare it).
    const options = { readableHighWaterMark: 512 } as unknown as SocketConstructorOpts;
    const socket = new Socket(options).connect(port, "127.0.0.1");
    let head = true;
    let raw: Buffer = Buffer.alloc(0);
    let body = "";
    socket.on("connect", () => {
      socket.write(
        `GET /api/v1/events/${CHANNEL}?token=${token} HTTP/1.1\r\nhost: herald\r\naccept: text/event-stream\r\n\r\n`,
      );
    });
    socket.on("data", (chunk: Buffer) => {
      const at = Date.now();
      raw = raw.length === 0 ? chunk : Buffer.concat([raw, chunk]);
      if (head) {
        const end = raw.indexOf("\r\n\r\n");
        if (end < 0) return;
        raw = raw.subarray(end + 4);
        head = false;
        resolve(report);
      }
      // The chunked coding: size line, bytes, CRLF.
      for (;;) {
        const line = raw.indexOf("\r\n");
        if (line < 0) break;
        const size = Number.parseInt(raw.toString("latin1", 0, line), 16);
        if (raw.length < line + 2 + size + 2) break;
        body += raw.toString("utf8", line + 2, line + 2 + size);
        raw = raw.subarray(line + 2 + size + 2);
      }
      for (let end = body.indexOf("\n\n"); end >= 0; end = body.indexOf("\n\n")) {
        const frame = body.slice(0, end);
        body = body.slice(end + 2);
        const id = /^id: (.*)$/m.exec(frame)?.[1];
        const data = /^data: (.*)$/m.exec(frame)?.[1];
        // The opening cursor (PROTOCOL.md section 3) is not a message.
        const opening = frame.startsWith("event: cursor\n");
        if (id !== undefined && data !== undefined && !opening) {
          const message = JSON.parse(data) as { type: string; object?: Record<string, unknown> };
          const { taskId, progress, n } = message.object ?? {};
          report.events.push({
            id,
            at,
            type: message.type,
            ...(typeof taskId === "string" ? { taskId } : {}),
            ...(typeof progress === "number" ? { progress } : {}),
            ...(typeof n === "number" ? { n } : {}),
          });
        }
      }
      if (slow) {
        // About 5 KB/s: after each read, a pause as long as the bytes read take at that rate.
        socket.pause();
        setTimeout(() => socket.resume(), Math.max(1, chunk.length / SLOW_RATE));
      }
    });
    socket.on("close", () => {
      report.ended = true;
    });
  });
}

function heapMiB(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().heapUsed / 2 ** 20;
}

async function main(): Promise<void> {
  const auth = createJwtAuth({ secret: "slow-link-scenario-secret-long-enough!" });
  const hub = createHub({
    store: createMemoryStore(),
    limits: { maxStreamsPerSubject: SLOW_READERS + 10 },
  });
  const handle = createNodeHandler(hub, { auth });
  const server = createServer((req, res) => {
    void handle(req, res).then((handled) => {
      if (!handled) res.writeHead(404).end();
    });
  });
  acceptEventStreams(server, hub, { auth });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const token = await auth.sign({ sub: "reader", channels: ["project.*"] });
  const readers = await Promise.all([
    openReader(port, token, false),
    ...Array.from({ length: SLOW_READERS }, () => openReader(port, token, true)),
  ]);

  const note = "x".repeat(150);
  const published = { progressA: 0, progressB: 0, task: 0 };
  const progress = (taskId: string, value: number) => ({
    type: "render_progress",
    object: { taskId, fileId: `f-${taskId}`, progress: value, stage: "denoise", message: note },
    projectId: "p1",
  });
  const start = Date.now();
  const total = SECONDS * 100;
  let afterStart = 0;
  // Ticks of 10 ms; each publishes what is due by then, so a late tick catches up.
  for (let tick = 1; tick <= total; tick++) {
    const due = start + tick * 10;
    const wait = due - Date.now();
    // Late ticks too wait for a turn of the event loop, as publishes that come from I/O would:
    // the readers (in this process) read between them.
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    else await new Promise((resolve) => setImmediate(resolve));
    published.progressA++;
    await hub.publish(CHANNEL, progress("a", published.progressA / total));
    if (tick % 10 === 0) {
      published.progressB++;
      await hub.publish(CHANNEL, progress("b", published.progressB / (total / 10)));
    }
    if (tick % 100 === 0) {
      await hub.publish(CHANNEL, {
        type: "task",
        object: {
          id: "a",
          kind: "video",
          status: "in_progress",
          projectId: "p1",
          fileId: "f-a",
          n: published.task,
        },
        projectId: "p1",
        data: { note },
      });
      published.task++;
    }
    if (tick === 500) afterStart = heapMiB();
  }
  const beforeResult = heapMiB();
  const resultAt = Date.now();
  await hub.publish(CHANNEL, {
    type: "render_result",
    object: { taskId: "a", fileId: "f-a", url: "/files/f-a.mp4", contentType: "video/mp4" },
    projectId: "p1",
  });
  // Every reader gets the result, or 10 s pass (the test says which did not).
  const gotResult = (reader: ReaderReport) =>
    reader.events.some((event) => event.type === "render_result");
  const deadline = Date.now() + 10_000;
  while (!readers.every(gotResult) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const value = async (metric: { get(): Promise<{ values: Array<{ value: number }> }> }) =>
    (await metric.get()).values[0]?.value ?? 0;
  const report: ScenarioReport = {
    seconds: SECONDS,
    published,
    resultAt,
    finalProgress: { a: 1, b: 1 },
    readers,
    heapMiB: { afterStart, beforeResult },
    metrics: {
      conflated: await value(hub.metrics.conflated),
      slowConsumersDropped: await value(hub.metrics.slowConsumersDropped),
      behindAtEnd: await value(hub.metrics.streamsBehind),
    },
  };
  process.stdout.write(`${JSON.stringify(report)}\n`);
  await hub.close();
  server.closeAllConnections();
  server.close();
}

await main();
