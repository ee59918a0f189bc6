/**
 * What a browser does with every event it receives, for every transport of the bench: the one
 * parser module the load generator (`bench/client.ts`) uses, so that no system is measured with
 * a client that skips work another system's client does.
 *
 * - SSE: the WHATWG event-stream rules (HTML, "Server-sent events", "Parsing an event stream"):
 *   UTF-8 decoded as a streaming `TextDecoder` decodes it (`Utf8Stream`: a sequence cut between
 *   two reads is held, a leading BOM dropped), lines ended by CRLF, LF or CR (a CRLF cut between
 *   two reads is one line end), `data:` lines joined with LF, `id:` (ignored when it holds NUL),
 *   `event:`, `retry:` (ASCII digits only), comments, and an event dispatched at a blank line
 *   only when it has data.
 * - WebSocket and Socket.IO: the message's bytes decoded as UTF-8 (what `message.data` of a text
 *   frame, or `TextDecoder` on a binary one, costs a browser).
 * - Then, for all: `JSON.parse`, and the checks a page makes before it trusts an event
 *   (`checkMessage`).
 */

export interface SseHandlers {
  /** A dispatched event: its type (`message` unless `event:` said otherwise), data, last id. */
  onEvent(type: string, data: string, lastEventId: string): void;
  /** A comment line, without its colon (and without one space after it). */
  onComment?(text: string): void;
  /** A valid `retry:` field, in ms. */
  onRetry?(ms: number): void;
}

const LF = 10;
const COLON = 58;
const SPACE = 32;

/**
 * A stream's bytes as text, as a streaming `TextDecoder("utf-8")` gives them (a sequence cut
 * between two reads held until its last byte, one leading BOM dropped, U+FFFD for bad bytes),
 * by way of one-shot decodes. Node's streaming decode goes through ICU: about 400 ns against 150
 * for this of a 274-byte Herald frame, and 7.5 % of the load generator's CPU on `rate-1k`, a cost
 * of Node's, not of the stream, that a browser's native decoder does not have and that the
 * WebSocket systems' one-shot decode (`readWebSocketMessage`) never paid.
 */
export class Utf8Stream {
  /** The bytes of a character the last read cut, until the next one completes it. */
  private held: Uint8Array | undefined = undefined;
  private started = false;

  decode(bytes: Uint8Array): string {
    let input = bytes;
    if (this.held) {
      input = new Uint8Array(this.held.length + bytes.length);
      input.set(this.held);
      input.set(bytes, this.held.length);
      this.held = undefined;
    }
    const end = completeEnd(input);
    // A copy: the caller's buffer is read into again.
    if (end < input.length) this.held = input.slice(end);
    let text = oneShot.decode(end < input.length ? input.subarray(0, end) : input);
    if (!this.started && text.length > 0) {
      this.started = true;
      if (text.charCodeAt(0) === BOM) text = text.slice(1);
    }
    return text;
  }
}

/** Keeps every BOM: `Utf8Stream` drops the stream's first one only. */
const oneShot = new TextDecoder("utf-8", { ignoreBOM: true });
const BOM = 0xfeff;

/**
 * Where the bytes that may still become a character start, as a streaming decoder holds them: a
 * lead byte in the last three that announces more bytes than follow it, and whose second byte,
 * if any, is one that lead allows (Encoding, "UTF-8 decoder"). Anything else decodes now, to
 * text or to U+FFFD.
 */
function completeEnd(bytes: Uint8Array): number {
  const length = bytes.length;
  for (let back = 1; back <= 3 && back <= length; back++) {
    const lead = bytes[length - back] as number;
    if ((lead & 0xc0) === 0x80) continue; // a continuation byte: its lead is further back
    const size = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc2 ? 2 : 1;
    // Whole already, or no lead at all (C0, C1 and F5 to FF begin no character).
    if (size <= back || lead > 0xf4) return length;
    if (back > 1) {
      const second = bytes[length - back + 1] as number;
      if (lead === 0xe0 && second < 0xa0) return length;
      if (lead === 0xed && second > 0x9f) return length;
      if (lead === 0xf0 && second < 0x90) return length;
      if (lead === 0xf4 && second > 0x8f) return length;
    }
    return length - back;
  }
  return length;
}

export class SseParser {
  private readonly decoder = new Utf8Stream();
  /** The text of a line not ended yet. */
  private partial = "";
  /** The last read ended with CR: an LF opening the next read ends no second line. */
  private afterCr = false;
  private data = "";
  private hasData = false;
  private eventType = "";
  /** The stream's last event id, kept across events as EventSource keeps it. */
  lastEventId = "";

  constructor(private readonly handlers: SseHandlers) {}

  /** Bytes of the response body, as they arrived (any cut, anywhere). */
  push(bytes: Uint8Array): void {
    const text = this.decoder.decode(bytes);
    if (text.length > 0) this.feed(text);
  }

  private feed(text: string): void {
    const input = this.partial.length > 0 ? this.partial + text : text;
    this.partial = "";
    let start = 0;
    if (this.afterCr) {
      this.afterCr = false;
      if (input.charCodeAt(0) === LF) start = 1;
    }
    const length = input.length;
    // Line ends found by the engine's own search, not a loop over each character: a browser's
    // parser is native code, and the generator's own cost should not weigh on what it measures.
    let nextLf = input.indexOf("\n", start);
    let nextCr = input.indexOf("\r", start);
    while (nextLf >= 0 || nextCr >= 0) {
      let at = nextCr < 0 || (nextLf >= 0 && nextLf < nextCr) ? nextLf : nextCr;
      this.line(input, start, at);
      if (at === nextCr) {
        if (at + 1 === length) this.afterCr = true;
        else if (input.charCodeAt(at + 1) === LF) at++;
      }
      start = at + 1;
      if (nextLf >= 0 && nextLf < start) nextLf = input.indexOf("\n", start);
      if (nextCr >= 0 && nextCr < start) nextCr = input.indexOf("\r", start);
    }
    if (start < length) this.partial = input.slice(start);
  }

  private line(input: string, start: number, end: number): void {
    if (start === end) {
      this.dispatch();
      return;
    }
    if (input.charCodeAt(start) === COLON) {
      const from = input.charCodeAt(start + 1) === SPACE && start + 1 < end ? start + 2 : start + 1;
      this.handlers.onComment?.(input.slice(from, end));
      return;
    }
    let colon = input.indexOf(":", start);
    if (colon > end) colon = -1;
    const field = input.slice(start, colon < 0 ? end : colon);
    let value = "";
    if (colon >= 0) {
      const from = input.charCodeAt(colon + 1) === SPACE && colon + 1 < end ? colon + 2 : colon + 1;
      value = input.slice(from, end);
    }
    switch (field) {
      case "data":
        this.data = this.hasData ? `${this.data}\n${value}` : value;
        this.hasData = true;
        break;
      case "id":
        if (!value.includes("\0")) this.lastEventId = value;
        break;
      case "event":
        this.eventType = value;
        break;
      case "retry":
        if (/^[0-9]+$/.test(value)) this.handlers.onRetry?.(Number(value));
        break;
      // Any other field is ignored, as EventSource ignores it.
    }
  }

  private dispatch(): void {
    if (!this.hasData) {
      this.eventType = "";
      return;
    }
    const type = this.eventType || "message";
    const data = this.data;
    this.data = "";
    this.hasData = false;
    this.eventType = "";
    this.handlers.onEvent(type, data, this.lastEventId);
  }
}

/** An event as every system of the bench sends it (see `lib/shared.ts`, `progressMessage`). */
export interface BenchEvent {
  type: string;
  channel: string;
  /** Publish time, ms since the epoch (Herald's envelope; the peers add the same). */
  ts: number;
  /** Publish time on the machine's monotonic clock, µs (`nowUs()` in the publisher). */
  sentUs: number;
  /** The event's number on its channel, from 1. */
  n: number;
}

/** The earliest `ts` taken as a time (2020-01-01): a smaller number is not one in ms. */
const EARLIEST_TS = 1_577_836_800_000;

/**
 * The checks a page makes before it uses an event: an object with a `type`, the `channel` it
 * subscribed to, and a publish time. Returns the event, or what is wrong with it.
 */
export function checkMessage(value: unknown, channels: ReadonlySet<string>): BenchEvent | string {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return "not an object";
  const message = value as Record<string, unknown>;
  if (typeof message.type !== "string" || message.type.length === 0) return "no type";
  if (typeof message.channel !== "string" || !channels.has(message.channel))
    return "a channel not subscribed to";
  if (typeof message.ts !== "number" || !(message.ts >= EARLIEST_TS)) return "no ts";
  if (typeof message.sentUs !== "number" || !Number.isFinite(message.sentUs)) return "no sentUs";
  if (typeof message.n !== "number" || !Number.isInteger(message.n)) return "no n";
  return message as unknown as BenchEvent;
}

export interface MessageSink {
  event(event: BenchEvent): void;
  invalid(problem: string): void;
}

/**
 * A message's JSON text: one event, or an array of events (the peers that batch a turn's events
 * into one message). Every event is checked before `sink.event` sees it.
 */
export function readJson(text: string, channels: ReadonlySet<string>, sink: MessageSink): void {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    sink.invalid(`not JSON (${(error as Error).message})`);
    return;
  }
  if (Array.isArray(value)) {
    for (const item of value) deliver(checkMessage(item, channels), sink);
  } else {
    deliver(checkMessage(value, channels), sink);
  }
}

function deliver(result: BenchEvent | string, sink: MessageSink): void {
  if (typeof result === "string") sink.invalid(result);
  else sink.event(result);
}

const utf8 = new TextDecoder("utf-8");

/** A WebSocket message (text or binary frame): decoded as UTF-8, then `readJson`. */
export function readWebSocketMessage(
  payload: Uint8Array,
  channels: ReadonlySet<string>,
  sink: MessageSink,
): void {
  readJson(utf8.decode(payload), channels, sink);
}

/**
 * A Socket.IO event packet's text after its `42` prefix: `["message", <event>]`, as
 * socket.io-client decodes it (UTF-8, `JSON.parse`), then the event's checks.
 */
export function readSocketIoEvent(
  payload: Uint8Array,
  channels: ReadonlySet<string>,
  sink: MessageSink,
): void {
  let value: unknown;
  try {
    value = JSON.parse(utf8.decode(payload));
  } catch (error) {
    sink.invalid(`not JSON (${(error as Error).message})`);
    return;
  }
  if (!Array.isArray(value) || value[0] !== "message") {
    sink.invalid("not a Socket.IO message event");
    return;
  }
  deliver(checkMessage(value[1], channels), sink);
}
