/**
 * The head of a plain HTTP/1.1 GET, read strictly: what `node.ts` needs to take an event stream
 * on a fresh connection without node:http. Anything it does not read as exactly such a request
 * (another method or version, a body, an upgrade, a bare LF, a folded or malformed header) is
 * `undefined`, and the connection goes to node:http, whose parser answers it as it always has.
 */

export interface RequestHead {
  readonly target: string;
  /** A header by its lower-case name; repeated ones joined as node:http joins them. */
  header(name: string): string | undefined;
}

/** Where the head ends: the index just past its blank line, or -1 while it is incomplete. */
export function headEnd(bytes: Buffer): number {
  const at = bytes.indexOf("\r\n\r\n", 0, "latin1");
  return at < 0 ? -1 : at + 4;
}

const REQUEST_LINE = /^GET (\/[\x21-\x7e]*) HTTP\/1\.1$/;
const HEADER_LINE = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+):[\t ]*([\t\x20-\x7e\x80-\xff]*?)[\t ]*$/;
/** Headers that mean more than a plain GET: node:http deals with those. */
const NOT_PLAIN = new Set(["content-length", "transfer-encoding", "upgrade", "expect"]);
/** Headers node:http keeps the first of when repeated (the others it joins). */
const FIRST_ONLY = new Set([
  "age",
  "authorization",
  "content-type",
  "etag",
  "expires",
  "from",
  "host",
  "if-modified-since",
  "if-unmodified-since",
  "last-modified",
  "location",
  "max-forwards",
  "proxy-authorization",
  "referer",
  "retry-after",
  "server",
  "user-agent",
]);

/** Reads a complete head (up to and including its blank line), as latin1 as node:http does. */
export function parsePlainGet(head: string): RequestHead | undefined {
  const lines = head.split("\r\n");
  // The head ends in CRLF CRLF, so the split leaves two empty strings at the end.
  if (lines.length < 3 || lines.pop() !== "" || lines.pop() !== "") return undefined;
  const target = REQUEST_LINE.exec(lines[0] as string)?.[1];
  if (target === undefined) return undefined;
  const headers = new Map<string, string>();
  for (let i = 1; i < lines.length; i++) {
    const match = HEADER_LINE.exec(lines[i] as string);
    if (!match) return undefined;
    const name = (match[1] as string).toLowerCase();
    if (NOT_PLAIN.has(name)) return undefined;
    const value = match[2] as string;
    const earlier = headers.get(name);
    if (earlier !== undefined && FIRST_ONLY.has(name)) continue;
    headers.set(
      name,
      earlier === undefined ? value : `${earlier}${name === "cookie" ? "; " : ", "}${value}`,
    );
  }
  // node:http refuses an HTTP/1.1 request without a Host: leave that answer to it.
  if (!headers.has("host")) return undefined;
  return { target, header: (name) => headers.get(name) };
}
