import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { assertFieldValue, encodeComment, encodeEventFrame, encodeRetry } from "./frames.ts";

/** What an EventSource would dispatch: the event's data, its last event id, and its type. */
interface ParsedEvent {
  data: string;
  lastEventId: string;
  type: string;
}

/**
 * A small, independent reading of the WHATWG "event stream" parser
 * (https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation),
 * fed chunk by chunk, so the frames are checked against the spec rather than against themselves.
 */
function createSpecParser() {
  const events: ParsedEvent[] = [];
  let retry: number | undefined;
  let buffer = "";
  // A CR ending one chunk may be the first half of a CRLF: its LF, first in the next chunk,
  // must not end a second (empty) line, or it would dispatch an event too early.
  let skipLeadingLf = false;
  let data = "";
  let type = "";
  let lastEventIdBuffer = "";
  let lastEventId = "";

  function processLine(line: string): void {
    if (line === "") {
      lastEventId = lastEventIdBuffer;
      if (data === "") {
        type = "";
        return;
      }
      events.push({
        data: data.endsWith("\n") ? data.slice(0, -1) : data,
        lastEventId,
        type: type || "message",
      });
      data = "";
      type = "";
      return;
    }
    if (line.startsWith(":")) return;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "data") data += `${value}\n`;
    else if (field === "event") type = value;
    else if (field === "id" && !value.includes("\0")) lastEventIdBuffer = value;
    else if (field === "retry" && /^[0-9]+$/.test(value)) retry = Number(value);
  }

  return {
    feed(chunk: string): void {
      if (chunk === "") return;
      let text = chunk;
      if (skipLeadingLf && text.startsWith("\n")) text = text.slice(1);
      skipLeadingLf = false;
      buffer += text;
      for (;;) {
        const end = buffer.search(/[\r\n]/);
        if (end < 0) break;
        const isCr = buffer[end] === "\r";
        if (isCr && end === buffer.length - 1) {
          skipLeadingLf = true;
          processLine(buffer.slice(0, end));
          buffer = "";
          break;
        }
        const breakLength = isCr && buffer[end + 1] === "\n" ? 2 : 1;
        processLine(buffer.slice(0, end));
        buffer = buffer.slice(end + breakLength);
      }
    },
    get events(): readonly ParsedEvent[] {
      return events;
    },
    get retry(): number | undefined {
      return retry;
    },
  };
}

function parseAll(chunks: readonly string[]) {
  const parser = createSpecParser();
  for (const chunk of chunks) parser.feed(chunk);
  return parser;
}

/** Cuts `text` at the given positions (any order, duplicates allowed). */
function chunk(text: string, cuts: readonly number[]): string[] {
  const points = [...new Set(cuts.map((cut) => cut % (text.length + 1)))].sort((a, b) => a - b);
  const chunks: string[] = [];
  let from = 0;
  for (const point of points) {
    chunks.push(text.slice(from, point));
    from = point;
  }
  chunks.push(text.slice(from));
  return chunks;
}

describe("encodeEventFrame", () => {
  it("writes an unnamed event: an id line, one data line and a blank line", () => {
    expect(encodeEventFrame("k3x9a0b1c2-17", '{"type":"task","n":1}')).toBe(
      'id: k3x9a0b1c2-17\ndata: {"type":"task","n":1}\n\n',
    );
  });

  it.each([
    ["LF", "a\nb"],
    ["CR", "a\rb"],
    ["CRLF", "a\r\nb"],
    ["NUL", "a\u0000b"],
    ["a trailing LF", "a-1\n"],
  ])("refuses an id with %s, which could inject a field", (_what, id) => {
    expect(() => encodeEventFrame(id, "{}")).toThrow(/id must not contain CR, LF or NUL/);
  });

  it.each([
    ["LF", '{"a":1}\ndata: {"b":2}'],
    ["CR", '{"a":1}\r'],
    ["NUL", '{"a":"\u0000"}'],
  ])("refuses data that is not one line (%s)", (_what, json) => {
    expect(() => encodeEventFrame("e-1", json)).toThrow(/one line of JSON/);
  });

  it("keeps a message with line breaks in its strings on one data line", () => {
    const json = JSON.stringify({ text: "line one\nline two\r\nthree\u0000", k: "id: x" });
    const frame = encodeEventFrame("e-1", json);
    expect(frame.split("\n")).toEqual(["id: e-1", `data: ${json}`, "", ""]);
    const [event] = parseAll([frame]).events;
    expect(JSON.parse(event?.data ?? "null")).toEqual({
      text: "line one\nline two\r\nthree\u0000",
      k: "id: x",
    });
  });

  it("passes U+2028 and U+2029 through, since they do not end an SSE line", () => {
    const json = JSON.stringify({ text: "a\u2028b\u2029c" });
    expect(json).toContain("\u2028");
    const frame = encodeEventFrame("e-2", json);
    expect(frame).toBe(`id: e-2\ndata: ${json}\n\n`);
    expect(parseAll([frame]).events).toEqual([{ data: json, lastEventId: "e-2", type: "message" }]);
  });
});

describe("encodeComment", () => {
  it("writes a comment line and a blank line", () => {
    expect(encodeComment("ok")).toBe(": ok\n\n");
    expect(encodeComment()).toBe(":\n\n");
    expect(encodeComment("")).toBe(":\n\n");
  });

  it.each([["\n"], ["\r"], ["\u0000"], ["ok\ndata: injected"]])(
    "refuses text with a line break or NUL (%j)",
    (text) => {
      expect(() => encodeComment(text)).toThrow(/comment must not contain CR, LF or NUL/);
    },
  );

  it("is ignored by an EventSource", () => {
    expect(parseAll([encodeComment("ok"), encodeComment()]).events).toEqual([]);
  });
});

describe("encodeRetry", () => {
  it("writes the retry field in whole milliseconds", () => {
    expect(encodeRetry(3000)).toBe("retry: 3000\n\n");
    expect(encodeRetry(0)).toBe("retry: 0\n\n");
    expect(parseAll([encodeRetry(2500)]).retry).toBe(2500);
  });

  it.each([[-1], [1.5], [Number.NaN], [Number.POSITIVE_INFINITY]])("refuses %s", (ms) => {
    expect(() => encodeRetry(ms)).toThrow(/retry must be a whole number of ms/);
  });
});

describe("assertFieldValue", () => {
  it("accepts a value without CR, LF or NUL and names the field otherwise", () => {
    expect(() => assertFieldValue("id", "k3x9-1 ok:\u2028")).not.toThrow();
    expect(() => assertFieldValue("event", "a\nb")).toThrow(/SSE event must not/);
  });
});

describe("frames read by a spec parser", () => {
  // Strings full of what could break a frame: line breaks, NUL, colons, spaces, the JS-only
  // line separators, non-BMP characters and lone surrogates.
  const trickyUnit = fc.oneof(
    fc.constantFrom("\r", "\n", "\r\n", "\u0000", ":", " ", "\u2028", "\u2029", "\ufeff", "🌊"),
    fc.string({ unit: "binary", minLength: 1, maxLength: 1 }),
    fc.constant("\ud800"),
  );
  const message = fc.record({
    body: fc.oneof(
      fc.object({ stringUnit: trickyUnit }),
      fc.jsonValue({ stringUnit: trickyUnit }).map((value) => ({ value })),
    ),
  });
  const id = fc
    .string({ unit: "binary", maxLength: 40 })
    .filter((value) => !/[\r\n\0]/.test(value));
  const lineEnding = fc.constantFrom("\n", "\r\n", "\r");
  const cuts = fc.array(fc.nat(), { maxLength: 20 });

  it("gives back the same JSON and id, however the stream is cut and its lines end", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(id, message), { minLength: 1, maxLength: 5 }),
        lineEnding,
        cuts,
        (frames, ending, at) => {
          const jsons = frames.map(([, { body }]) => JSON.stringify(body));
          const stream = [
            encodeRetry(1000),
            encodeComment("ok"),
            ...frames.map(([frameId], i) => encodeEventFrame(frameId, jsons[i] ?? "")),
          ]
            .join("")
            // A proxy may rewrite line endings; the frames must survive any of the three.
            .replace(/\n/g, ending);
          const parser = parseAll(chunk(stream, at));
          expect(parser.retry).toBe(1000);
          expect(parser.events.map((event) => event.data)).toEqual(jsons);
          expect(parser.events.map((event) => event.lastEventId)).toEqual(
            frames.map(([frameId]) => frameId),
          );
          for (const [i, event] of parser.events.entries()) {
            expect(JSON.parse(event.data)).toEqual(JSON.parse(jsons[i] ?? ""));
            expect(event.type).toBe("message");
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it("handles a CRLF split between two chunks as one line break", () => {
    const stream = encodeEventFrame("e-1", '{"a":1}').replace(/\n/g, "\r\n");
    const splits = [...stream].flatMap((char, i) => (char === "\r" ? [i + 1] : []));
    expect(splits.length).toBe(3);
    const parser = parseAll(chunk(stream, splits));
    expect(parser.events).toEqual([{ data: '{"a":1}', lastEventId: "e-1", type: "message" }]);
  });

  it("the reference parser skips blank lines without data and joins a CR/LF split across chunks", () => {
    // Guards the parser used above: were it to dispatch empty events, the round trip would
    // still compare equal lists only by luck of the counts.
    expect(parseAll(["\r\n\r\n", "id: x\n\n"]).events).toEqual([]);
    expect(parseAll(["data: a\r", "\ndata: b\n\n"]).events).toEqual([
      { data: "a\nb", lastEventId: "", type: "message" },
    ]);
  });
});
