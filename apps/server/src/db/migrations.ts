/**
 * The schema's history as plain SQL, applied in order by `runMigrations` and recorded in
 * `schema_migrations`. Hand-written rather than drizzle-kit output: the list is short, it needs
 * no files found at run time, and it keeps the lock below under our control.
 *
 * Rules: never edit a migration that has shipped, only add a new one with the next id; one
 * statement per string (PGlite runs each as one prepared statement, which cannot hold two).
 */
import { sql } from "drizzle-orm";
import type { PgDatabase, PgQueryResultHKT } from "drizzle-orm/pg-core";
import { schemaMigrations } from "./schema.ts";

export interface Migration {
  id: number;
  name: string;
  statements: readonly string[];
}

/**
 * Key of the transaction-level advisory lock that lets one server at a time migrate: several
 * servers sharing one PostgreSQL may start together, and even `CREATE TABLE IF NOT EXISTS`
 * fails when two sessions race on it. Any fixed number works; this one spells "HRLD".
 */
export const MIGRATION_LOCK_KEY = 0x48524c44;

const STATUSES = "'pending', 'in_progress', 'completed', 'error', 'cancelled'";
const KINDS = "'image', 'video'";

export const MIGRATIONS: readonly Migration[] = [
  {
    id: 1,
    name: "users, projects, files and tasks",
    statements: [
      `CREATE TABLE users (
        id text PRIMARY KEY,
        created_at timestamp(3) with time zone NOT NULL DEFAULT now()
      )`,
      `CREATE TABLE projects (
        id text PRIMARY KEY,
        user_id text NOT NULL REFERENCES users (id),
        created_at timestamp(3) with time zone NOT NULL DEFAULT now()
      )`,
      "CREATE INDEX projects_user_idx ON projects (user_id)",
      `CREATE TABLE files (
        id text PRIMARY KEY,
        user_id text NOT NULL REFERENCES users (id),
        project_id text NOT NULL REFERENCES projects (id),
        task_id text NOT NULL,
        type text NOT NULL CHECK (type IN (${KINDS})),
        status text NOT NULL CHECK (status IN (${STATUSES})),
        progress double precision NOT NULL DEFAULT 0,
        prompt text NOT NULL,
        settings jsonb NOT NULL,
        url text,
        content_type text,
        storage_key text,
        size_bytes bigint,
        duration_ms integer,
        error text,
        created_at timestamp(3) with time zone NOT NULL DEFAULT now(),
        updated_at timestamp(3) with time zone NOT NULL DEFAULT now(),
        deleted_at timestamp(3) with time zone
      )`,
      // The gallery: one user's files, newest first, optionally of one type.
      `CREATE INDEX files_gallery_idx ON files (user_id, created_at DESC, id DESC)
        WHERE deleted_at IS NULL`,
      "CREATE INDEX files_project_idx ON files (project_id)",
      `CREATE TABLE tasks (
        id text PRIMARY KEY,
        user_id text NOT NULL REFERENCES users (id),
        project_id text NOT NULL REFERENCES projects (id),
        file_id text NOT NULL REFERENCES files (id),
        kind text NOT NULL CHECK (kind IN (${KINDS})),
        status text NOT NULL CHECK (status IN (${STATUSES})),
        error text,
        attempts integer NOT NULL DEFAULT 0,
        created_at timestamp(3) with time zone NOT NULL DEFAULT now(),
        updated_at timestamp(3) with time zone NOT NULL DEFAULT now()
      )`,
      "CREATE INDEX tasks_project_idx ON tasks (project_id)",
      // Read at every start to take up what a stopped server left; small by construction.
      `CREATE INDEX tasks_unfinished_idx ON tasks (created_at, id)
        WHERE status IN ('pending', 'in_progress')`,
    ],
  },
];

/**
 * Applies the migrations this database has not had, all in one transaction under the advisory
 * lock: a server that waits for the lock then finds them applied and does nothing. Migrations
 * a newer server applied (ids this list does not know) are left alone.
 */
export async function runMigrations<H extends PgQueryResultHKT>(
  db: PgDatabase<H>,
  migrations: readonly Migration[] = MIGRATIONS,
): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.execute(sql.raw(`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`));
    await tx.execute(
      sql.raw(`CREATE TABLE IF NOT EXISTS schema_migrations (
        id integer PRIMARY KEY,
        name text NOT NULL,
        applied_at timestamp(3) with time zone NOT NULL DEFAULT now()
      )`),
    );
    const applied = new Set(
      (await tx.select({ id: schemaMigrations.id }).from(schemaMigrations)).map((row) => row.id),
    );
    for (const migration of migrations) {
      if (applied.has(migration.id)) continue;
      for (const statement of migration.statements) await tx.execute(sql.raw(statement));
      await tx.insert(schemaMigrations).values({ id: migration.id, name: migration.name });
    }
  });
}
