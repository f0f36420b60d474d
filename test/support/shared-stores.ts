/**
 * Suites about several nodes on one database run on each store that several nodes can share:
 * MariaDB, PostgreSQL and Redis (the SQLite store serves one node by design). Each variant gets a
 * fresh database (on Redis a key prefix) of its own, and a way to read it that the suite's
 * assertions use (queries written in MySQL's quoting, with backticks, which PostgreSQL reads with
 * double quotes; on Redis they run over a copy of the records, redis-rows.ts), and its event log.
 */
import { Redis } from "ioredis";
import mysql from "mysql2/promise";
import pg from "pg";
import type { EventDraft } from "../../server/src/domain/events.js";
import { BATCH_SPAN } from "../../server/src/store/sql/events/append-events.js";
import { createTestDatabase, describeMysql } from "./mysql.js";
import { createPostgresDatabase, describePostgres } from "./postgres.js";
import { createRedisStore, describeRedis, REDIS_URL } from "./redis.js";
import { redisEventLog, redisRows } from "./redis-rows.js";

/** An event of the log as stored, with its cursor. */
export type StoredEvent = EventDraft & { readonly cursor: number };

export interface SharedTestDatabase {
  readonly store: "mysql" | "postgres" | "redis";
  readonly url: string;
  /** The rows of a query (numbers may come back as strings: read them with Number). */
  rows<T>(sql: string): Promise<T[]>;
  /**
   * The event log as committed: the events with a cursor, in cursor order, and how many
   * committed events wait for one.
   */
  eventLog(): Promise<{ events: StoredEvent[]; unsequenced: number }>;
  /** Closes the query connection and drops the database. */
  drop(): Promise<void>;
}

/** The SQL stores' event log (batches of events per row) through `rows`. */
async function sqlEventLog(
  rows: <T>(sql: string) => Promise<T[]>,
): Promise<{ events: StoredEvent[]; unsequenced: number }> {
  const batches = await rows<{ cursor: unknown; events: string }>(
    "SELECT `cursor`, `events` FROM `event_log` WHERE `cursor` IS NOT NULL ORDER BY `cursor`",
  );
  const [waiting] = await rows<{ n: unknown }>(
    "SELECT COUNT(*) AS `n` FROM `event_log` WHERE `cursor` IS NULL",
  );
  return {
    events: batches.flatMap((r) =>
      (JSON.parse(r.events) as EventDraft[]).map((e, i) => ({
        ...e,
        cursor: Number(r.cursor) * BATCH_SPAN + i,
      })),
    ),
    unsequenced: Number(waiting?.n ?? 0),
  };
}

export async function mysqlDatabase(prefix?: string): Promise<SharedTestDatabase> {
  const db = await createTestDatabase(prefix);
  let conn: mysql.Connection | undefined;
  const rows = async <T>(sql: string): Promise<T[]> => {
    conn ??= await mysql.createConnection({ uri: db.url });
    const [found] = await conn.query(sql);
    return found as T[];
  };
  return {
    store: "mysql",
    url: db.url,
    rows,
    eventLog: () => sqlEventLog(rows),
    drop: async () => {
      await conn?.end();
      await db.drop();
    },
  };
}

export async function postgresDatabase(prefix?: string): Promise<SharedTestDatabase> {
  const db = await createPostgresDatabase(prefix);
  const pool = new pg.Pool({ connectionString: db.url, max: 1 });
  pool.on("error", () => undefined);
  const rows = async <T>(text: string): Promise<T[]> =>
    (await pool.query(text.replaceAll("`", '"'))).rows as T[];
  return {
    store: "postgres",
    url: db.url,
    rows,
    eventLog: () => sqlEventLog(rows),
    drop: async () => {
      await pool.end();
      await db.drop();
    },
  };
}

async function redisDatabase(prefix?: string): Promise<SharedTestDatabase> {
  const db = await createRedisStore(prefix);
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1, lazyConnect: true });
  redis.on("error", () => undefined);
  return {
    store: "redis",
    url: db.url,
    rows: (sql) => redisRows(redis, db.name, sql),
    eventLog: () => redisEventLog(redis, db.name),
    drop: async () => {
      redis.disconnect();
      await db.drop();
    },
  };
}

/**
 * The suite `body` once per shared store: `<name> on MariaDB`, `… on PostgreSQL` and `… on Redis`, each
 * skipped with a line saying so where its server does not answer (failing under CI=true). `body`
 * creates its database with the function it is given (a name prefix optional).
 */
export function describeEachSharedStore(
  name: string,
  body: (createDatabase: (prefix?: string) => Promise<SharedTestDatabase>) => void,
): void {
  describeMysql(`${name} on MariaDB`, () => {
    body(mysqlDatabase);
  });
  describePostgres(`${name} on PostgreSQL`, () => {
    body(postgresDatabase);
  });
  describeRedis(`${name} on Redis`, () => {
    body(redisDatabase);
  });
}
