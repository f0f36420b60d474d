/**
 * Everything a store holds, as raw text, read past Metronome: for SQLite the database file's
 * bytes (and its write-ahead log's), for MySQL/MariaDB and PostgreSQL every row of every table
 * of the test's database, for Redis every key under the test's prefix (hashes, streams, sorted
 * sets, sets, lists and strings). A test searches it for what must not be stored in clear.
 */
import { existsSync, readFileSync } from "node:fs";
import { Redis } from "ioredis";
import mysql from "mysql2/promise";
import pg from "pg";
import { REDIS_URL } from "./database.js";

function text(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    Buffer.isBuffer(v) ? v.toString("utf8") : typeof v === "bigint" ? String(v) : v,
  );
}

function sqliteText(url: string): string {
  const path = url.slice("sqlite://".length);
  return ["", "-wal", "-journal"]
    .map((suffix) => path + suffix)
    .filter((p) => existsSync(p))
    .map((p) => readFileSync(p).toString("latin1"))
    .join("\n");
}

async function mysqlText(url: string): Promise<string> {
  const conn = await mysql.createConnection({ uri: url });
  try {
    const [tables] = await conn.query(
      "SELECT `table_name` AS `t` FROM `information_schema`.`tables` WHERE `table_schema` = DATABASE()",
    );
    const out: string[] = [];
    for (const { t } of tables as { t: string }[]) {
      const [rows] = await conn.query(`SELECT * FROM \`${t}\``);
      out.push(`${t}: ${text(rows)}`);
    }
    return out.join("\n");
  } finally {
    await conn.end();
  }
}

async function postgresText(url: string): Promise<string> {
  const client = new pg.Client({ connectionString: url });
  client.on("error", () => undefined);
  await client.connect();
  try {
    const tables = await client.query<{ s: string; t: string }>(
      "SELECT table_schema AS s, table_name AS t FROM information_schema.tables " +
        "WHERE table_schema NOT IN ('pg_catalog', 'information_schema') AND table_type = 'BASE TABLE'",
    );
    const out: string[] = [];
    for (const { s, t } of tables.rows) {
      const rows = await client.query(`SELECT * FROM "${s}"."${t}"`);
      out.push(`${s}.${t}: ${text(rows.rows)}`);
    }
    return out.join("\n");
  } finally {
    await client.end();
  }
}

async function redisText(url: string): Promise<string> {
  const prefix = new URL(url).searchParams.get("prefix") ?? "";
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1, lazyConnect: true });
  redis.on("error", () => undefined);
  try {
    const out: string[] = [];
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
      cursor = next;
      for (const key of keys) {
        const type = await redis.type(key);
        const value =
          type === "hash"
            ? await redis.hgetall(key)
            : type === "stream"
              ? await redis.xrange(key, "-", "+")
              : type === "zset"
                ? await redis.zrange(key, 0, -1, "WITHSCORES")
                : type === "set"
                  ? await redis.smembers(key)
                  : type === "list"
                    ? await redis.lrange(key, 0, -1)
                    : type === "string"
                      ? await redis.get(key)
                      : `(${type})`;
        out.push(`${key}: ${text(value)}`);
      }
    } while (cursor !== "0");
    return out.join("\n");
  } finally {
    redis.disconnect();
  }
}

/** All that the store at `url` (a test store's URL) holds, as text. */
export async function rawStoreText(url: string): Promise<string> {
  if (url.startsWith("sqlite:")) return sqliteText(url);
  if (url.startsWith("mysql:")) return mysqlText(url);
  if (url.startsWith("postgres")) return postgresText(url);
  if (url.startsWith("redis:")) return redisText(url);
  throw new Error(`no raw reader for ${url}`);
}
