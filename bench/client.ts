/**
 * The load generator: one process holding many subscriber connections, forked by `run.ts`.
 *
 * It speaks just enough of each transport to count events, on plain `net` sockets, so that
 * one process can hold 10,000 connections and its cost per event stays far below a server's:
 *
 * - SSE (Herald, better-sse, bare): an HTTP/1.1 GET, a chunked-body decoder, and frames cut at
 *   `\n\n`; `id:` is read only to resume (reconnect-storm).
 * - WebSocket (ws): the upgrade, then unmasked server frames by their length header.
 * - Socket.IO: WebSocket plus the Engine.IO open/ping packets and the namespace connect.
 *
 * An event is any message carrying `"ts":<ms>`, the publish time every system puts in its
 * payload; `"n":<k>` before it numbers the events of a channel. Latency is now - ts, whole ms,
 * on the one clock of this machine.
 */
import { randomBytes } from "node:crypto";
import { connect, type Socket } from "node:net";
import {
  type ClientCommand,
  type ClientMessage,
  type ClientSetup,
  HISTOGRAM_BUCKETS,
  toSparse,
} from "./lib/shared.ts";

const TS = Buffer.from('"ts":');
const N = Buffer.from('"n":');
const FRAME_END = Buffer.from("\n\n");
const HEAD_END = Buffer.from("\r\n\r\n");
const ID_FIELD = Buffer.from("\nid: ");
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
  /** Bytes of an unfinished frame (SSE), WebSocket frame or response head. */
  rest: Buffer | undefined;
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
/** `Date.now()` once per read: events of one read arrive at the same moment. */
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
  const socket = connect({
    host: "127.0.0.1",
    port: setup.port,
    localAddress: setup.localAddress,
    noDelay: true,
    onread: {
      // A throttled connection reads in small pieces, so its pauses stay short and even.
      buffer: setup.throttleBytesPerSec ? Buffer.allocUnsafe(4096) : READ_BUFFER,
      callback(nread: number, buffer: Uint8Array) {
        now = Date.now();
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
    else sse(conn, data, 0, data.length);
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
        sse(conn, data, at, at + take);
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

/** Counts the events of the complete frames in `data[start, end)`, keeping the unfinished one. */
function sse(conn: Conn, input: Buffer, start: number, end: number): void {
  let data = input;
  let from = start;
  let to = end;
  if (conn.rest) {
    data = Buffer.concat([conn.rest, input.subarray(start, end)]);
    from = 0;
    to = data.length;
    conn.rest = undefined;
  }
  const last = to - from >= 2 ? data.lastIndexOf(FRAME_END, to - 2) : -1;
  if (last < from) {
    if (to > from) conn.rest = Buffer.from(data.subarray(from, to));
    return;
  }
  const complete = last + 2;
  events(conn, data, from, complete);
  if (setup.checkSequence) {
    // The id of the last complete frame is where this stream resumes from.
    const id = data.lastIndexOf(ID_FIELD, complete - 1);
    if (id >= from - 1 && id >= 0) {
      const lineEnd = data.indexOf(10, id + ID_FIELD.length);
      conn.lastId = data.toString("latin1", id + ID_FIELD.length, lineEnd);
    } else if (data.subarray(from, from + 4).toString("latin1") === "id: ") {
      const lineEnd = data.indexOf(10, from + 4);
      conn.lastId = data.toString("latin1", from + 4, lineEnd);
    }
  }
  if (complete < to) conn.rest = Buffer.from(data.subarray(complete, to));
}

/** Each `"ts":` in `data[from, to)` is one event. */
function events(conn: Conn, data: Buffer, from: number, to: number): void {
  let at = data.indexOf(TS, from);
  while (at >= 0 && at < to) {
    let digit = at + TS.length;
    let ts = 0;
    for (let byte = data[digit] as number; byte >= 48 && byte <= 57; byte = data[++digit] as number)
      ts = ts * 10 + byte - 48;
    const latency = now - ts;
    const bucket = latency < 0 ? 0 : latency < HISTOGRAM_BUCKETS ? latency : HISTOGRAM_BUCKETS - 1;
    histogram[bucket] = (histogram[bucket] as number) + 1;
    received++;
    total++;
    const nAt = data.lastIndexOf(N, at);
    if (nAt >= from) {
      let n = 0;
      for (
        let d = nAt + N.length, byte = data[d] as number;
        byte >= 48 && byte <= 57;
        byte = data[++d] as number
      )
        n = n * 10 + byte - 48;
      if (setup.checkSequence) {
        if (n <= conn.lastN) duplicates++;
        else if (n > conn.lastN + 1 && conn.lastN > 0) gaps += n - conn.lastN - 1;
      }
      if (n > conn.lastN) {
        conn.lastN = n;
        if (!conn.caughtUp && n > target) {
          conn.caughtUp = true;
          belowTarget--;
          if (belowTarget === 0) caughtUpAt = now;
        }
      }
    }
    at = data.indexOf(TS, digit);
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
      else events(conn, data, start, end);
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
    if (packet === 0x32 /* 2: event */) events(conn, data, start, end);
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
    open,
    failed,
    errors,
    gaps,
    duplicates,
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
        conns.push({
          index: setup.first + i,
          socket: undefined,
          phase: Phase.Head,
          chunked: false,
          chunk: Chunk.Size,
          chunkLeft: 0,
          rest: undefined,
          lastN: 0,
          lastId: undefined,
          ready: false,
          open: false,
          caughtUp: false,
        });
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
