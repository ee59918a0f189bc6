/**
 * Event ids (PROTOCOL.md section 3). Clients treat them as opaque; inside Herald an id is
 * `<epoch>-<seq>`: `seq` counts every event of one event store, and `epoch` names that store's
 * history, changing whenever the history is lost. One number then covers every channel of a
 * stream, so a stream's last id is enough to resume all of its channels.
 */

export interface Cursor {
  epoch: string;
  seq: number;
}

const CURSOR_PATTERN = /^([A-Za-z0-9]{1,32})-(0|[1-9][0-9]{0,15})$/;

export function formatCursor(cursor: Cursor): string {
  return `${cursor.epoch}-${cursor.seq}`;
}

/** Reads an id; `undefined` for anything Herald did not make (never throws). */
export function parseCursor(id: string | null | undefined): Cursor | undefined {
  if (!id || id.length > 50) return undefined;
  const match = CURSOR_PATTERN.exec(id);
  if (!match) return undefined;
  const seq = Number(match[2]);
  if (!Number.isSafeInteger(seq)) return undefined;
  return { epoch: match[1] as string, seq };
}

/** A new random epoch: 10 base-36 characters. */
export function newEpoch(): string {
  const bytes = new Uint8Array(8);
  globalThis.crypto.getRandomValues(bytes);
  let out = "";
  for (const byte of bytes) out += (byte % 36).toString(36);
  return `${Date.now().toString(36).slice(-2)}${out}`;
}
