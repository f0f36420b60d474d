/**
 * Fresh MySQL and PostgreSQL databases for tests and benchmarks (no test-runner dependency): each
 * test file or benchmark run creates its own and drops it afterwards.
 */
import { randomBytes } from "node:crypto";
import mysql from "mysql2/promise";
import { Redis } from "ioredis";
import pg from "pg";

export const MYSQL_URL = process.env.METRONOME_TEST_MYSQL_URL ?? "mysql://root@127.0.0.1:3306/test";

/** A fresh database; `drop()` removes it. */
export async function createTestDatabase(prefix = "metronome_test"): Promise<{
  name: string;
  url: string;
  drop: () => Promise<void>;
}> {
  const name = `${prefix}_${randomBytes(6).toString("hex")}`;
  const admin = await mysql.createConnection({ uri: MYSQL_URL });
  try {
    await admin.query(`CREATE DATABASE \`${name}\``);
  } finally {
    await admin.end();
  }
  const url = new URL(MYSQL_URL);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    drop: async () => {
      const conn = await mysql.createConnection({ uri: MYSQL_URL });
      try {
        await conn.query(`DROP DATABASE IF EXISTS \`${name}\``);
      } finally {
        await conn.end();
      }
    },
  };
}

export const POSTGRES_URL =
  process.env.METRONOME_TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

/** Runs one statement on POSTGRES_URL's server (creating and dropping databases). */
async function postgresAdmin(statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 5000 });
  client.on("error", () => undefined);
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

/** A fresh PostgreSQL database; `drop()` removes it (ending any connection left to it). */
export async function createPostgresDatabase(prefix = "metronome_test"): Promise<{
  name: string;
  url: string;
  drop: () => Promise<void>;
}> {
  const name = `${prefix}_${randomBytes(6).toString("hex")}`;
  await postgresAdmin(`CREATE DATABASE "${name}"`);
  const url = new URL(POSTGRES_URL);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    drop: () => postgresAdmin(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`),
  };
}

export const REDIS_URL = process.env.METRONOME_TEST_REDIS_URL ?? "redis://127.0.0.1:6379/0";

/**
 * A fresh Redis key space: the URL of REDIS_URL's database with a key prefix of its own
 * (`?prefix=`), so test files share the server's databases without seeing each other's keys;
 * `drop()` deletes every key under the prefix.
 */
export function createRedisStore(prefix = "metronome_test"): Promise<{
  name: string;
  url: string;
  drop: () => Promise<void>;
}> {
  const name = `${prefix}_${randomBytes(6).toString("hex")}:`;
  const url = new URL(REDIS_URL);
  url.searchParams.set("prefix", name);
  return Promise.resolve({
    name,
    url: url.toString(),
    drop: async () => {
      const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1, lazyConnect: true });
      redis.on("error", () => undefined);
      try {
        let cursor = "0";
        do {
          const [next, keys] = await redis.scan(cursor, "MATCH", `${name}*`, "COUNT", 1000);
          cursor = next;
          if (keys.length > 0) await redis.unlink(...keys);
        } while (cursor !== "0");
      } finally {
        redis.disconnect();
      }
    },
  });
}
