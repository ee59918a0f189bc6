/**
 * Opens the studio's database: PostgreSQL when `databaseUrl` is set (several servers may share
 * it), otherwise PGlite, an embedded PostgreSQL kept under `${dataDir}/db` that needs no server.
 */
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { drizzle as drizzleNodePostgres } from "drizzle-orm/node-postgres";
import { drizzle as drizzlePglite } from "drizzle-orm/pglite";
import pg from "pg";
import { createDrizzleDatabase } from "./drizzle-database.ts";
import type { Database } from "./types.ts";

export { createDrizzleDatabase } from "./drizzle-database.ts";
export * from "./types.ts";

export interface OpenDatabaseOptions {
  /** `postgres://…`; when absent, the embedded database under `dataDir` is used. */
  databaseUrl?: string | undefined;
  /** Folder of the server's state; the embedded database lives in its `db` subfolder. */
  dataDir: string;
  /** Run `migrate()` before answering (default true). */
  migrate?: boolean | undefined;
  /** PostgreSQL only: connections kept by this server (default 10). */
  poolSize?: number | undefined;
  /**
   * PostgreSQL only: told when an idle pooled connection fails (the server restarted, the
   * network dropped). The pool replaces the connection by itself; this is for the log.
   */
  onConnectionError?: ((error: Error) => void) | undefined;
}

export async function openDatabase(options: OpenDatabaseOptions): Promise<Database> {
  const database = options.databaseUrl
    ? openPostgres(options.databaseUrl, options)
    : await openPglite(join(options.dataDir, "db"));
  if (options.migrate ?? true) {
    try {
      await database.migrate();
    } catch (error) {
      // Do not leave a pool or a PGlite instance open behind an error the caller cannot close.
      await database.close();
      throw error;
    }
  }
  return database;
}

async function openPglite(directory: string): Promise<Database> {
  await mkdir(directory, { recursive: true });
  // One PGlite instance per folder: two processes on the same folder would corrupt it.
  const client = await PGlite.create(directory);
  return createDrizzleDatabase(drizzlePglite({ client }), () => client.close());
}

function openPostgres(databaseUrl: string, options: OpenDatabaseOptions): Database {
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max: options.poolSize ?? 10,
    // Fail a request in seconds rather than hang it when PostgreSQL is unreachable.
    connectionTimeoutMillis: 10_000,
  });
  // Without a listener an idle connection's error would crash the process.
  pool.on("error", (error) => {
    if (options.onConnectionError) options.onConnectionError(error);
    else process.emitWarning(error);
  });
  return createDrizzleDatabase(drizzleNodePostgres({ client: pool }), () => pool.end());
}
