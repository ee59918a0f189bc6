/**
 * The `listFiles` cursor: the position of the last file of a page in the gallery's order
 * (createdAt, then id, both descending). Opaque to clients; base64url so it travels in a query
 * string untouched.
 */
import { HeraldError } from "@herald/protocol";

export interface FileCursor {
  createdAt: Date;
  id: string;
}

/** The furthest a JavaScript Date reaches either side of 1970 (ECMA-262, "Time Values"). */
const MAX_DATE_MS = 8.64e15;

export function encodeFileCursor(cursor: FileCursor): string {
  return Buffer.from(`${cursor.createdAt.getTime()}:${cursor.id}`, "utf8").toString("base64url");
}

/** Throws `invalid_cursor` for anything `encodeFileCursor` did not make. */
export function decodeFileCursor(cursor: string): FileCursor {
  const text = Buffer.from(cursor, "base64url").toString("utf8");
  const colon = text.indexOf(":");
  const millis = Number(text.slice(0, colon));
  const id = text.slice(colon + 1);
  // Only what encodeFileCursor makes: a time a Date can hold, and an id as the API makes them.
  if (
    colon <= 0 ||
    !Number.isSafeInteger(millis) ||
    Math.abs(millis) > MAX_DATE_MS ||
    !/^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/.test(id)
  ) {
    throw new HeraldError(
      "invalid_cursor",
      "cursor: not one this server gave out; ask for the first page again without it",
      { field: "cursor" },
    );
  }
  return { createdAt: new Date(millis), id };
}
