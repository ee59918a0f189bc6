/**
 * Runs the Database contract against both implementations: PGlite in a temporary folder, and
 * the real PostgreSQL of this machine in a database made for this run and dropped after it.
 * PostgreSQL being unreachable fails the run: a skipped half would hide a broken store.
 */
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { getTableConfig, type PgTable } from "drizzle-orm/pg-core";
import { drizzle } from "drizzle-orm/pglite";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase } from "../../src/db/index.ts";
import { MIGRATIONS, runMigrations } from "../../src/db/migrations.ts";
import { files, projects, schemaMigrations, tasks, users } from "../../src/db/schema.ts";
import { describeDatabaseContract } from "./database-contract.ts";

/** Any database of the server will do: the run makes its own beside it. */
const ADMIN_URL = process.env.HERALD_TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";

describe("PGlite", () => {
  let dataDir: string;

  beforeAll(async () => {
    // A folder that does not exist yet: openDatabase must make it.
    dataDir = join(await mkdtemp(join(tmpdir(), "herald-db-")), "data");
  });

  afterAll(async () => {
    if (dataDir) await rm(join(dataDir, ".."), { recursive: true, force: true });
  });

  describeDatabaseContract("contract", () => openDatabase({ dataDir, migrate: false }));

  it("keeps its files under DATA_DIR/db", () => {
    expect(existsSync(join(dataDir, "db", "PG_VERSION"))).toBe(true);
  });
});

describe("PostgreSQL", () => {
  const created: string[] = [];
  let admin: pg.Client | undefined;

  async function createDatabase(): Promise<string> {
    if (!admin) throw new Error("the admin connection is not open");
    const name = `herald_test_${randomBytes(6).toString("hex")}`;
    await admin.query(`CREATE DATABASE ${name}`);
    created.push(name);
    const url = new URL(ADMIN_URL);
    url.pathname = `/${name}`;
    return url.toString();
  }

  beforeAll(async () => {
    const client = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 5000 });
    try {
      await client.connect();
    } catch (error) {
      throw new Error(
        `PostgreSQL is unreachable at ${ADMIN_URL} (${String(error)}). Start it, or point ` +
          "HERALD_TEST_DATABASE_URL at a server where this user may CREATE DATABASE.",
        { cause: error },
      );
    }
    admin = client;
  });

  afterAll(async () => {
    if (!admin) return;
    for (const name of created) await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  });

  let url = "";
  beforeAll(async () => {
    url = await createDatabase();
  });

  describeDatabaseContract("contract", () =>
    openDatabase({ databaseUrl: url, dataDir: tmpdir(), migrate: false }),
  );

  it("migrates a fresh database from several servers starting at once", async () => {
    const fresh = await createDatabase();
    const servers = await Promise.all(
      Array.from({ length: 4 }, () => openDatabase({ databaseUrl: fresh, dataDir: tmpdir() })),
    );
    try {
      await Promise.all(servers.map((server) => server.migrate()));
      await servers[0]?.createUser("user-1");
      for (const server of servers) expect(await server.getUser("user-1")).toBeDefined();

      const check = new pg.Client({ connectionString: fresh });
      await check.connect();
      try {
        const { rows } = await check.query("SELECT id FROM schema_migrations ORDER BY id");
        expect(rows.map((row: { id: number }) => row.id)).toEqual(MIGRATIONS.map((m) => m.id));
      } finally {
        await check.end();
      }
    } finally {
      await Promise.all(servers.map((server) => server.close()));
    }
  });

  it("fails to open with a connection error when the server is not there", async () => {
    // Port 1 on loopback: nothing listens, the refusal is immediate.
    const open = openDatabase({
      databaseUrl: "postgres://postgres@127.0.0.1:1/none",
      dataDir: tmpdir(),
    });
    await expect(open).rejects.toThrow(/ECONNREFUSED/);
  });
});

describe("schema", () => {
  it("the Drizzle tables match what the migrations create", async () => {
    const client = await PGlite.create();
    try {
      await runMigrations(drizzle({ client }));
      const tables: PgTable[] = [users, projects, files, tasks, schemaMigrations];
      for (const table of tables) {
        const config = getTableConfig(table);
        const { rows } = await client.query<{ name: string; type: string; not_null: boolean }>(
          `SELECT attname AS name, format_type(atttypid, atttypmod) AS type, attnotnull AS not_null
             FROM pg_attribute
            WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped
            ORDER BY attnum`,
          [config.name],
        );
        const declared = config.columns.map((column) => ({
          name: column.name,
          type: column.getSQLType().replace(" (", "("),
          not_null: column.notNull,
        }));
        expect(rows, config.name).toEqual(declared);
      }
    } finally {
      await client.close();
    }
  });
});
