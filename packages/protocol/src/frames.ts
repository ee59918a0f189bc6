/**
 * Server-Sent Events framing, per the WHATWG HTML "event stream" format:
 * https://html.spec.whatwg.org/multipage/server-sent-events.html#parsing-an-event-stream
 *
 * Herald sends unnamed events, one `data:` line of JSON each, and one named event, the last
 * of a stream the server ends on purpose (`PLANNED_END_EVENT`). JSON.stringify escapes CR
 * and LF inside strings, so a message can never break its line; ids and comments are checked
 * because a CR, LF or NUL there would let a value inject a field of its own.
 */

/**
 * Whether `value` holds a CR, LF or NUL. Three `includes` rather than one regular expression:
 * on an event's JSON (a few hundred characters, once per published event) they take a third of
 * the time (docs/BENCHMARKS.md, "The publish path, step by step").
 */
function hasLineBreak(value: string): boolean {
  return value.includes("\n") || value.includes("\r") || value.includes("\0");
}

export function assertFieldValue(name: string, value: string): void {
  if (hasLineBreak(value)) {
    throw new TypeError(
      `SSE ${name} must not contain CR, LF or NUL: they would end the field early`,
    );
  }
}

/** One event: `id: <id>\ndata: <json>\n\n`. `json` must be the output of JSON.stringify. */
export function encodeEventFrame(id: string, json: string): string {
  assertFieldValue("id", id);
  if (hasLineBreak(json)) throw new TypeError("SSE data must be one line of JSON");
  return `id: ${id}\ndata: ${json}\n\n`;
}

/** A comment line, ignored by EventSource: used as the first bytes and as heartbeats. */
export function encodeComment(text = ""): string {
  assertFieldValue("comment", text);
  return text ? `: ${text}\n\n` : ":\n\n";
}

/** The reconnection delay EventSource should use, in milliseconds. */
export function encodeRetry(ms: number): string {
  if (!Number.isInteger(ms) || ms < 0)
    throw new TypeError(`retry must be a whole number of ms, got ${ms}`);
  return `retry: ${ms}\n\n`;
}

/**
 * The name of the event a server sends right before it ends a stream on purpose (a stream at
 * its maximum age): the client should resume at once, from the last id it received. Named, so
 * that `onmessage` never sees it; it carries no id, so the last id stays the client's cursor.
 */
export const PLANNED_END_EVENT = "end";

/** The end of a stream the server ends on purpose: a reconnection delay, then the end event. */
export function encodePlannedEnd(retryMs: number, reason: string): string {
  return `${encodeRetry(retryMs)}event: ${PLANNED_END_EVENT}\ndata: ${JSON.stringify({ reason })}\n\n`;
}

/**
 * The name of the event that gives a stream opened with no id (live from now) its cursor at
 * once, before any message: a client that reopens its stream (to add a channel, say) or loses
 * it before the first message then resumes from there instead of starting live again and
 * missing what was published meanwhile. Named, so that `onmessage` never sees it; its `id`
 * makes the browser's own reconnects resume from there too.
 */
export const CURSOR_EVENT = "cursor";

/** The opening cursor of a stream that starts live (see `CURSOR_EVENT`). */
export function encodeCursorEvent(id: string): string {
  assertFieldValue("id", id);
  return `event: ${CURSOR_EVENT}\nid: ${id}\ndata: {}\n\n`;
}
