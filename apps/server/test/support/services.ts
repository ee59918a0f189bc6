/**
 * The machine's PostgreSQL and Redis for multi-server tests: a database and a key prefix of
 * the test's own, removed afterwards, so runs never see each other's state.
 */
import { randomBytes } from "node:crypto";
import { deleteKeys } from "@herald/test-support/redis-server";
import { Redis } from "ioredis";
import pg from "pg";

const ADMIN_URL = process.env.HERALD_TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const REDIS_URL = process.env.HERALD_TEST_REDIS_URL ?? "redis://127.0.0.1:6379";

export interface TestServices {
  databaseUrl: string;
  redisUrl: string;
  redisPrefix: string;
  remove(): Promise<void>;
}

export async function createTestServices(): Promise<TestServices> {
  const name = `herald_scale_${randomBytes(6).toString("hex")}`;
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  try {
    await admin.connect();
  } catch (cause) {
    throw new Error(`PostgreSQL does not answer at ${ADMIN_URL}: start it (bash .ci/run does)`, {
      cause,
    });
  }
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const databaseUrl = new URL(ADMIN_URL);
  databaseUrl.pathname = `/${name}`;
  const redisPrefix = `herald-test-${randomBytes(6).toString("hex")}:`;
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
  } catch (cause) {
    throw new Error(`Redis does not answer at ${REDIS_URL}: start it (bash .ci/run does)`, {
      cause,
    });
  }
  return {
    databaseUrl: databaseUrl.toString(),
    redisUrl: REDIS_URL,
    redisPrefix,
    async remove() {
      await deleteKeys(redis, redisPrefix);
      await redis.quit();
      const cleanup = new pg.Client({ connectionString: ADMIN_URL });
      await cleanup.connect();
      await cleanup.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await cleanup.end();
    },
  };
}
