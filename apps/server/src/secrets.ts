/**
 * Secrets the server makes for itself, kept under DATA_DIR so a restart logs nobody out and
 * keeps event-stream tokens valid. Several servers sharing DATA_DIR share them too.
 */
import { randomBytes } from "node:crypto";
import { link, mkdir, readFile, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";

export interface Secrets {
  /** Signs session tokens (the herald_session cookie and bearer sessions). */
  session: string;
  /** Signs event-stream tokens (herald_token), unless HERALD_JWT_SECRET is set. */
  events: string;
}

export async function loadSecrets(dataDir: string): Promise<Secrets> {
  const path = join(dataDir, "secrets.json");
  const existing = await readSecrets(path);
  if (existing) return existing;
  const made: Secrets = {
    session: randomBytes(32).toString("hex"),
    events: randomBytes(32).toString("hex"),
  };
  await mkdir(dataDir, { recursive: true });
  // Written aside, then linked into place: link() fails if the file exists, so when several
  // servers start at once on one DATA_DIR exactly one secret wins and every server reads it.
  const temporary = `${path}.${process.pid}.${Date.now()}.tmp`;
  await writeFile(temporary, JSON.stringify(made), { mode: 0o600 });
  try {
    await link(temporary, path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  } finally {
    await unlink(temporary);
  }
  const kept = await readSecrets(path);
  if (!kept) throw new Error(`${path} vanished while the server was starting`);
  return kept;
}

async function readSecrets(path: string): Promise<Secrets | undefined> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  const parsed = JSON.parse(text) as Partial<Secrets>;
  if (typeof parsed.session !== "string" || typeof parsed.events !== "string") {
    throw new Error(
      `${path} is not a secrets file of Herald's: move it away and restart to make new secrets`,
    );
  }
  return { session: parsed.session, events: parsed.events };
}
