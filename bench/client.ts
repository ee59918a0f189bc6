/**
 * One load generator process: `count` subscribers on plain sockets, every event handled as a
 * browser would handle it (`lib/event-parser.ts`: SSE parsing over a streaming UTF-8 decoder,
 * or a WebSocket message's UTF-8 decode, then `JSON.parse` and the checks a page makes).
 *
 * - SSE (Herald, better-sse, bare, bare-batch): an HTTP/1.1 GET and a chunked-body decoder (a
 *   browser's network stack, not its page), the body handed to the SSE parser; the last
 *   `id:` is where the stream resumes from (reconnect-storm).
 * - WebSocket (ws, ws-batch): the upgrade, then unmasked server frames by their length header;
 *   a message is one event or a JSON array of them.
 * - Socket.IO: WebSocket plus the Engine.IO open/ping packets and the namespace connect.
 *
 * Every event carries `sentUs`, its publish time on the machine's monotonic clock (`nowUs()`,
 * shared by every process of the machine): latency is `nowUs()` at the read that completed the
 * event, minus `sentUs`, in µs.
 */
import { randomBytes } from "node:crypto";
import { connect, type Socket } from "node:net";
import {
  type BenchEvent,
  type MessageSink,
  readJson,
  readSocketIoEvent,
  readWebSocketMessage,
  SseParser,
} from "./lib/event-parser.ts";
import {
  bucketOf,
  type ClientCommand,
  type ClientMessage,
  type ClientSetup,
  HISTOGRAM_BUCKETS,
  nowUs,
  toSparse,
} from "./lib/shared.ts";

const HEAD_END = Buffer.from("\r\n\r\n");
/** One read buffer for every socket: reads are handled one at a time, to completion. */
const READ_BUFFER = Buffer.allocUnsafe(256 * 1024);

enum Phase {
  Head,
  Body,
}
enum Chunk {
  Size,
  SizeLf,
  Data,
  DataCr,
  DataLf,
}

interface Conn {
  index: number;
  socket: Socket | undefined;
  phase: Phase;
  chunked: boolean;
  chunk: Chunk;
  chunkLeft: number;
  /** Bytes of an unfinished WebSocket frame or response head. */
  rest: Buffer | undefined;
  /** The channels this subscriber asked for: an event on any other fails the checks. */
  channels: Set<string>;
  /** SSE: this connection's parser (a new one per connection, as EventSource has). */
  parser: SseParser | undefined;
  sink: MessageSink;
  lastN: number;
  lastId: string | undefined;
  /** Socket.IO: the namespace connect was acknowledged. */
  ready: boolean;
  open: boolean;
  /** Passed the `target` of a reconnect storm. */
  caughtUp: boolean;
}

let setup: ClientSetup;
const conns: Conn[] = [];
const histogram = new Uint32Array(HISTOGRAM_BUCKETS);
let received = 0;
/** Events received since the connections opened, whatever `mark` said. */
let total = 0;
let gaps = 0;
let duplicates = 0;
let failed = 0;
let opened = 0;
let reconnected = 0;
const errors: string[] = [];
let markCpu = process.cpuUsage();
let markWall = performance.now();
let target = Number.POSITIVE_INFINITY;
let belowTarget = 0;
let caughtUpAt = 0;
let droppedAt = 0;
let invalid = 0;
let control = 0;
const problems: string[] = [];
let maxUs = 0;
/** `nowUs()` once per read: the events a read completes arrive at the same moment. */
let now = 0;

function send(message: ClientMessage): void {
  process.send?.(message);
}

function note(error: string): void {
  if (errors.length < 5 && !errors.includes(error)) errors.push(error);
}

function requestFor(conn: Conn): string {
  const path = setup.path.replaceAll("{i}", String(conn.index));
  const host = `Host: 127.0.0.1:${setup.port}\r\n`;
  if (setup.transport === "sse") {
    const resume = conn.lastId === undefined ? "" : `Last-Event-ID: ${conn.lastId}\r\n`;
    return `GET ${path} HTTP/1.1\r\n${host}Accept: text/event-stream\r\n${resume}\r\n`;
  }
  const key = randomBytes(16).toString("base64");
  return `GET ${path} HTTP/1.1\r\n${host}Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${key}\r\n\r\n`;
}

/** Opens the connections of `list`, `concurrency` at a time; resolves when all are settled. */
function openAll(list: Conn[], onSettled: () => void): void {
  let next = 0;
  let pending = list.length;
  if (pending === 0) onSettled();
  const settle = () => {
    pending--;
    if (next < list.length) start(list[next++] as Conn);
    if (pending === 0) onSettled();
  };
  const start = (conn: Conn) => openConn(conn, settle);
  while (next < list.length && next < setup.concurrency) start(list[next++] as Conn);
}

function openConn(conn: Conn, settled: () => void): void {
  let done = false;
  const settle = (ok: boolean) => {
    if (done) return;
    done = true;
    if (ok) opened++;
    else failed++;
    settled();
  };
  conn.phase = Phase.Head;
  conn.rest = undefined;
  conn.chunked = false;
  conn.chunk = Chunk.Size;
  conn.chunkLeft = 0;
  conn.ready = setup.transport !== "socket.io";
  conn.parser =
    setup.transport === "sse"
      ? new SseParser({
          onEvent(type, data, lastEventId) {
            if (lastEventId) conn.lastId = lastEventId;
            // stream_reset and other control events: not the data this bench counts.
            if (type !== "message") control++;
            else readJson(data, conn.channels, conn.sink);
          },
        })
      : undefined;
  const socket = connect({
    host: "127.0.0.1",
    port: setup.port,
    localAddress: setup.localAddress,
    noDelay: true,
    onread: {
      // A throttled connection reads in small pieces, so its pauses stay short and even.
      buffer: setup.throttleBytesPerSec ? Buffer.allocUnsafe(4096) : READ_BUFFER,
      callback(nread: number, buffer: Uint8Array) {
        now = nowUs();
        onRead(conn, buffer as Buffer, nread, settle);
        const rate = setup.throttleBytesPerSec ?? 0;
        if (rate <= 0) return true;
        // A slow link: after each read, nothing more is read for as long as it takes at `rate`
        // (returning false pauses the socket).
        setTimeout(() => socket.resume(), (nread * 1000) / rate);
        return false;
      },
    },
  });
  conn.socket = socket;
  socket.on("connect", () => socket.write(requestFor(conn)));
  socket.on("error", (error: NodeJS.ErrnoException) => {
    note(error.code ?? error.message);
    settle(false);
  });
  socket.on("close", () => {
    if (conn.open) opened--;
    conn.open = false;
    settle(false);
  });
}

function onRead(conn: Conn, buffer: Buffer, nread: number, settle: (ok: boolean) => void): void {
  let data = buffer.subarray(0, nread);
  if (conn.phase === Phase.Head) {
    if (conn.rest) data = Buffer.concat([conn.rest, data]);
    const end = data.indexOf(HEAD_END);
    if (end < 0) {
      conn.rest = Buffer.from(data);
      return;
    }
    conn.rest = undefined;
    const head = data.toString("latin1", 0, end);
    const status = Number(head.slice(9, 12));
    const expected = setup.transport === "sse" ? 200 : 101;
    if (status !== expected) {
      note(`HTTP ${status}`);
      conn.socket?.destroy();
      settle(false);
      return;
    }
    conn.chunked = /\r\ntransfer-encoding:\s*chunked/i.test(head);
    conn.phase = Phase.Body;
    if (conn.ready) {
      conn.open = true;
      settle(true);
    }
    data = data.subarray(end + 4);
    if (data.length === 0) return;
    // The head was read into the shared buffer's copy; the rest must outlive this read.
  }
  if (setup.transport === "sse") {
    if (conn.chunked) dechunk(conn, data, 0, data.length);
    else conn.parser?.push(data);
  } else {
    webSocket(conn, data, settle);
  }
}

/** Takes the chunked transfer coding off, handing each piece of body to `sse`. */
function dechunk(conn: Conn, data: Buffer, start: number, end: number): void {
  let at = start;
  while (at < end) {
    switch (conn.chunk) {
      case Chunk.Size: {
        const byte = data[at++] as number;
        if (byte === 13) conn.chunk = Chunk.SizeLf;
        else if (byte >= 48 && byte <= 57) conn.chunkLeft = conn.chunkLeft * 16 + byte - 48;
        else if (byte >= 97 && byte <= 102) conn.chunkLeft = conn.chunkLeft * 16 + byte - 87;
        else if (byte >= 65 && byte <= 70) conn.chunkLeft = conn.chunkLeft * 16 + byte - 55;
        break;
      }
      case Chunk.SizeLf:
        at++;
        conn.chunk = conn.chunkLeft === 0 ? Chunk.Size : Chunk.Data;
        break;
      case Chunk.Data: {
        const take = Math.min(conn.chunkLeft, end - at);
        conn.parser?.push(data.subarray(at, at + take));
        at += take;
        conn.chunkLeft -= take;
        if (conn.chunkLeft === 0) conn.chunk = Chunk.DataCr;
        break;
      }
      case Chunk.DataCr:
        at++;
        conn.chunk = Chunk.DataLf;
        break;
      case Chunk.DataLf:
        at++;
        conn.chunk = Chunk.Size;
        break;
    }
  }
}

function problem(text: string): void {
  invalid++;
  if (problems.length < 5 && !problems.includes(text)) problems.push(text);
}

/** An event that passed the checks: its latency, and its place in its channel's sequence. */
function record(conn: Conn, event: BenchEvent): void {
  const latency = now - event.sentUs;
  const bucket = bucketOf(latency);
  histogram[bucket] = (histogram[bucket] as number) + 1;
  if (latency > maxUs) maxUs = latency;
  received++;
  total++;
  const n = event.n;
  if (setup.checkSequence) {
    if (n <= conn.lastN) duplicates++;
    else if (n > conn.lastN + 1 && conn.lastN > 0) gaps += n - conn.lastN - 1;
  }
  if (n > conn.lastN) {
    conn.lastN = n;
    if (!conn.caughtUp && n > target) {
      conn.caughtUp = true;
      belowTarget--;
      if (belowTarget === 0) caughtUpAt = Date.now();
    }
  }
}

/** Server-to-client WebSocket frames: never masked, never fragmented by these servers. */
function webSocket(conn: Conn, input: Buffer, settle: (ok: boolean) => void): void {
  let data = input;
  if (conn.rest) {
    data = Buffer.concat([conn.rest, input]);
    conn.rest = undefined;
  }
  let at = 0;
  while (data.length - at >= 2) {
    const opcode = (data[at] as number) & 0x0f;
    let length = (data[at + 1] as number) & 0x7f;
    let header = 2;
    if (length === 126) {
      if (data.length - at < 4) break;
      length = data.readUInt16BE(at + 2);
      header = 4;
    } else if (length === 127) {
      if (data.length - at < 10) break;
      length = data.readUInt32BE(at + 6);
      header = 10;
    }
    if (data.length - at < header + length) break;
    const start = at + header;
    const end = start + length;
    if (opcode === 1 || opcode === 2) {
      if (setup.transport === "socket.io") engineIo(conn, data, start, end, settle);
      else readWebSocketMessage(data.subarray(start, end), conn.channels, conn.sink);
    } else if (opcode === 9) {
      sendFrame(conn, 0x8a, data.subarray(start, end));
    } else if (opcode === 8) {
      conn.socket?.destroy();
    }
    at = end;
  }
  if (at < data.length) conn.rest = Buffer.from(data.subarray(at));
}

/** Engine.IO packets: `0` open, `2` ping, `4` message; Socket.IO `40` connect, `42` event. */
function engineIo(
  conn: Conn,
  data: Buffer,
  start: number,
  end: number,
  settle: (ok: boolean) => void,
): void {
  const type = data[start];
  if (type === 0x34 /* 4 */) {
    const packet = data[start + 1];
    if (packet === 0x32 /* 2: event */)
      readSocketIoEvent(data.subarray(start + 2, end), conn.channels, conn.sink);
    else if (packet === 0x30 /* 0: connect */ && !conn.ready) {
      conn.ready = true;
      conn.open = true;
      settle(true);
    }
  } else if (type === 0x32 /* 2: ping */) {
    sendFrame(conn, 0x81, Buffer.from("3"));
  } else if (type === 0x30 /* 0: open */) {
    sendFrame(conn, 0x81, Buffer.from("40"));
  }
}

/** A client frame, masked as clients must. */
function sendFrame(conn: Conn, first: number, payload: Buffer): void {
  if (payload.length > 125) throw new Error("control and handshake frames here are short");
  const frame = Buffer.allocUnsafe(6 + payload.length);
  frame[0] = first;
  frame[1] = 0x80 | payload.length;
  const mask = randomBytes(4);
  mask.copy(frame, 2);
  for (let i = 0; i < payload.length; i++)
    frame[6 + i] = (payload[i] as number) ^ (mask[i % 4] as number);
  conn.socket?.write(frame);
}

function minN(): number {
  let min = Number.POSITIVE_INFINITY;
  for (const conn of conns) if (conn.lastN < min) min = conn.lastN;
  return conns.length === 0 ? 0 : min;
}

function report(): ClientMessage {
  const cpu = process.cpuUsage(markCpu);
  let open = 0;
  let maxN = 0;
  for (const conn of conns) {
    if (conn.open) open++;
    if (conn.lastN > maxN) maxN = conn.lastN;
  }
  return {
    op: "report",
    received,
    total,
    cpuUs: cpu.user + cpu.system,
    wallMs: performance.now() - markWall,
    histogram: toSparse(histogram),
    maxUs,
    open,
    failed,
    errors,
    gaps,
    duplicates,
    invalid,
    problems,
    control,
    minN: minN(),
    maxN,
    caughtUpAt,
    droppedAt,
    reconnected,
  };
}

function drop(): void {
  droppedAt = Date.now();
  for (const conn of conns) {
    conn.socket?.removeAllListeners("close");
    conn.socket?.destroy();
    conn.open = false;
    conn.caughtUp = false;
  }
  opened = 0;
  send({ op: "dropped", at: droppedAt });
  // Every subscriber comes back at once with its cursor: the storm.
  openAll(conns, () => {
    reconnected = conns.filter((conn) => conn.open).length;
  });
}

process.on("message", (command: ClientCommand) => {
  switch (command.op) {
    case "setup": {
      setup = command.setup;
      for (let i = 0; i < setup.count; i++) {
        const index = setup.first + i;
        const query = new URL(setup.path.replaceAll("{i}", String(index)), "http://bench.invalid");
        const conn: Conn = {
          index,
          socket: undefined,
          phase: Phase.Head,
          chunked: false,
          chunk: Chunk.Size,
          chunkLeft: 0,
          rest: undefined,
          channels: new Set(query.searchParams.getAll("channel")),
          parser: undefined,
          sink: undefined as never,
          lastN: 0,
          lastId: undefined,
          ready: false,
          open: false,
          caughtUp: false,
        };
        conn.sink = { event: (event) => record(conn, event), invalid: problem };
        conns.push(conn);
      }
      openAll(conns, () => send({ op: "connected", open: opened, failed, errors }));
      if (setup.ackEveryMs > 0) {
        let last = -1;
        setInterval(() => {
          const n = minN();
          if (n !== last) {
            last = n;
            send({ op: "progress", minN: n });
          }
        }, setup.ackEveryMs);
      }
      break;
    }
    case "mark":
      received = 0;
      maxUs = 0;
      histogram.fill(0);
      markCpu = process.cpuUsage();
      markWall = performance.now();
      send(report());
      break;
    case "report":
      send(report());
      break;
    case "drop":
      drop();
      break;
    case "target": {
      target = command.n;
      belowTarget = 0;
      for (const conn of conns) {
        conn.caughtUp = conn.lastN > target;
        if (!conn.caughtUp) belowTarget++;
      }
      if (belowTarget === 0) caughtUpAt = Date.now();
      send(report());
      break;
    }
    case "sequence":
      // The publisher stopped at n: whatever a connection has not reached is lost.
      for (const conn of conns) if (conn.lastN < command.n) gaps += command.n - conn.lastN;
      send(report());
      break;
    case "exit":
      for (const conn of conns) conn.socket?.destroy();
      process.exit(0);
  }
});

process.on("disconnect", () => process.exit(0));
