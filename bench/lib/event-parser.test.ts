import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type BenchEvent,
  checkMessage,
  readJson,
  readSocketIoEvent,
  readWebSocketMessage,
  SseParser,
  Utf8Stream,
} from "./event-parser.ts";

interface Seen {
  events: Array<{ type: string; data: string; id: string }>;
  comments: string[];
  retries: number[];
}

function parserFor(): { parser: SseParser; seen: Seen } {
  const seen: Seen = { events: [], comments: [], retries: [] };
  const parser = new SseParser({
    onEvent: (type, data, id) => seen.events.push({ type, data, id }),
    onComment: (text) => seen.comments.push(text),
    onRetry: (ms) => seen.retries.push(ms),
  });
  return { parser, seen };
}

/** The bytes of `text`, pushed in pieces cut at `cuts` (byte offsets). */
function pushCut(parser: SseParser, bytes: Uint8Array, cuts: readonly number[]): void {
  let from = 0;
  for (const cut of [...cuts, bytes.length]) {
    parser.push(bytes.subarray(from, cut));
    from = cut;
  }
}

const encoder = new TextEncoder();
const STREAM = encoder.encode(
  ': ok\n\nretry: 2000\n\nid: 1\ndata: {"a":"é😀"}\n\n: hb\r\nid: 2\r\ndata: one\r\ndata: two\r\n\r\nid: 3\rdata: three\r\r',
);
const EXPECTED = [
  { type: "message", data: '{"a":"é😀"}', id: "1" },
  { type: "message", data: "one\ntwo", id: "2" },
  { type: "message", data: "three", id: "3" },
];

describe("SseParser", () => {
  it("parses events, ids, comments and retry with LF, CRLF and CR line ends", () => {
    const { parser, seen } = parserFor();
    parser.push(STREAM);
    expect(seen.events).toEqual(EXPECTED);
    expect(seen.comments).toEqual(["ok", "hb"]);
    expect(seen.retries).toEqual([2000]);
    expect(parser.lastEventId).toBe("3");
  });

  it("gives the same events whatever byte the input is cut at, inside lines, CRLFs and UTF-8 sequences", () => {
    for (let cut = 1; cut < STREAM.length; cut++) {
      const { parser, seen } = parserFor();
      pushCut(parser, STREAM, [cut]);
      expect(seen.events, `cut at byte ${cut}`).toEqual(EXPECTED);
      expect(seen.comments).toEqual(["ok", "hb"]);
    }
  });

  it("gives the same events when every byte arrives alone", () => {
    const { parser, seen } = parserFor();
    pushCut(
      parser,
      STREAM,
      Array.from({ length: STREAM.length - 1 }, (_, i) => i + 1),
    );
    expect(seen.events).toEqual(EXPECTED);
  });

  it("holds a multi-byte character cut between two reads until its last byte", () => {
    const { parser, seen } = parserFor();
    const bytes = encoder.encode("data: 😀\n\n");
    pushCut(parser, bytes, [7, 8, 9]); // inside the 4-byte sequence
    expect(seen.events).toEqual([{ type: "message", data: "😀", id: "" }]);
  });

  it("takes a CR at the end of one read and an LF at the start of the next as one line end", () => {
    const { parser, seen } = parserFor();
    parser.push(encoder.encode("data: a\r"));
    parser.push(encoder.encode("\ndata: b\r"));
    parser.push(encoder.encode("\n\r\n"));
    expect(seen.events).toEqual([{ type: "message", data: "a\nb", id: "" }]);
  });

  it("dispatches nothing for a blank line without data, and keeps the event type and last id as EventSource does", () => {
    const { parser, seen } = parserFor();
    parser.push(
      encoder.encode(
        "event: ignored\n\nid: 7\n\nevent: stream_reset\ndata: {}\n\ndata\n\nid: a\0b\ndata: x\n\n",
      ),
    );
    expect(seen.events).toEqual([
      { type: "stream_reset", data: "{}", id: "7" },
      { type: "message", data: "", id: "7" },
      { type: "message", data: "x", id: "7" }, // an id holding NUL is ignored
    ]);
  });

  it("strips one space after the colon only, ignores unknown fields and a retry that is not digits", () => {
    const { parser, seen } = parserFor();
    parser.push(encoder.encode("data:  two spaces\nfoo: bar\nretry: 1s\ndata:x:y\n\n"));
    expect(seen.events).toEqual([{ type: "message", data: " two spaces\nx:y", id: "" }]);
    expect(seen.retries).toEqual([]);
  });

  it("drops a leading BOM and never dispatches an unfinished event", () => {
    const { parser, seen } = parserFor();
    parser.push(new Uint8Array([0xef, 0xbb, 0xbf, ...encoder.encode("data: a\n\ndata: b\n")]));
    expect(seen.events).toEqual([{ type: "message", data: "a", id: "" }]);
  });
});

describe("Utf8Stream", () => {
  /** Bytes rich in what a decoder can get wrong: cut and bad sequences, and BOMs anywhere. */
  const awkwardBytes = fc.array(
    fc.oneof(
      fc.integer({ min: 0, max: 255 }).map((byte) => [byte]),
      fc.string({ unit: "grapheme", maxLength: 4 }).map((text) => [...encoder.encode(text)]),
      fc.constant([0xef, 0xbb, 0xbf]),
      // Prefixes of characters, and of sequences a decoder must reject at their second byte.
      fc.constantFrom(
        [0xf0, 0x9f, 0x98],
        [0xe2, 0x82],
        [0xc3],
        [0xe0, 0x80],
        [0xe0, 0xa0],
        [0xed, 0x9f],
        [0xed, 0xa0],
        [0xf0, 0x8f],
        [0xf4, 0x8f],
        [0xf4, 0x90, 0x80],
      ),
    ),
    { maxLength: 40 },
  );

  it("gives, read by read, the text a streaming TextDecoder gives, whatever the bytes and wherever they are cut", () => {
    fc.assert(
      fc.property(awkwardBytes, fc.array(fc.nat(), { maxLength: 8 }), (pieces, rawCuts) => {
        const bytes = Uint8Array.from(pieces.flat());
        const cuts = [...new Set(rawCuts.map((cut) => cut % (bytes.length + 1)))].sort(
          (a, b) => a - b,
        );
        const streaming = new TextDecoder("utf-8");
        const ours = new Utf8Stream();
        const expected: string[] = [];
        const actual: string[] = [];
        let from = 0;
        for (const cut of [...cuts, bytes.length]) {
          const piece = bytes.slice(from, cut);
          expected.push(streaming.decode(piece, { stream: true }));
          actual.push(ours.decode(piece));
          from = cut;
        }
        expect(actual).toEqual(expected);
      }),
      { numRuns: 2000 },
    );
  });

  it("drops the stream's first BOM only, even when it comes in pieces", () => {
    const stream = new Utf8Stream();
    expect(stream.decode(new Uint8Array([0xef, 0xbb]))).toBe("");
    expect(stream.decode(new Uint8Array([0xbf, 0x61, 0xef, 0xbb, 0xbf]))).toBe("a\ufeff");
  });

  it("holds a character cut between reads, not the reader's buffer (which is read into again)", () => {
    const stream = new Utf8Stream();
    const buffer = new Uint8Array([0x61, 0xf0, 0x9f]);
    expect(stream.decode(buffer)).toBe("a");
    buffer.set([0x98, 0x80, 0x62]);
    expect(stream.decode(buffer)).toBe("😀b");
  });
});

describe("the checks every event goes through", () => {
  const channels = new Set(["file.f1"]);
  const event = { type: "render_progress", channel: "file.f1", ts: Date.now(), sentUs: 12.5, n: 3 };

  function collect() {
    const events: BenchEvent[] = [];
    const problems: string[] = [];
    return {
      events,
      problems,
      sink: { event: (e: BenchEvent) => events.push(e), invalid: (p: string) => problems.push(p) },
    };
  }

  it("accepts an event with a type, a subscribed channel, ts, sentUs and n", () => {
    expect(checkMessage(event, channels)).toEqual(event);
  });

  it("names what is wrong with an event a page could not trust", () => {
    expect(checkMessage([], channels)).toBe("not an object");
    expect(checkMessage({ ...event, type: "" }, channels)).toBe("no type");
    expect(checkMessage({ ...event, channel: "file.f2" }, channels)).toBe(
      "a channel not subscribed to",
    );
    expect(checkMessage({ ...event, ts: 17 }, channels)).toBe("no ts");
    expect(checkMessage({ ...event, sentUs: "1" }, channels)).toBe("no sentUs");
    expect(checkMessage({ ...event, n: 1.5 }, channels)).toBe("no n");
  });

  it("reads one event or an array of them (a batching peer's message), and reports bad JSON", () => {
    const { events, problems, sink } = collect();
    readJson(JSON.stringify(event), channels, sink);
    readJson(JSON.stringify([event, { ...event, n: 4 }]), channels, sink);
    readJson("{", channels, sink);
    expect(events.map((e) => e.n)).toEqual([3, 3, 4]);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^not JSON/);
  });

  it("decodes WebSocket and Socket.IO payloads as UTF-8 before parsing them", () => {
    const { events, problems, sink } = collect();
    const withText = { ...event, stage: "dé😀" };
    readWebSocketMessage(encoder.encode(JSON.stringify(withText)), channels, sink);
    readSocketIoEvent(encoder.encode(JSON.stringify(["message", withText])), channels, sink);
    readSocketIoEvent(encoder.encode(JSON.stringify(["other", withText])), channels, sink);
    expect(events).toEqual([withText, withText]);
    expect(problems).toEqual(["not a Socket.IO message event"]);
  });
});
