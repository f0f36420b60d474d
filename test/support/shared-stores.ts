/**
 * Suites about several nodes on one database run on each store that several nodes can share:
 * MariaDB, PostgreSQL and Redis (the SQLite store serves one node by design). Each variant gets a
 * fresh database (on Redis a key prefix) of its own, and a way to read it that the suite's
 * assertions use (queries written in MySQL's quoting, with backticks, which PostgreSQL reads with
 * double quotes; on Redis they run over a copy of the records, redis-rows.ts), and its event log.
 */
import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import mysql from "mysql2/promise";
import pg from "pg";
import type { EventDraft } from "../../server/src/domain/events.js";
import { BATCH_SPAN } from "../../server/src/store/sql/events/append-events.js";
import { eventsOfText } from "../../server/src/store/sql/events/batch-text.js";
import { createTestDatabase, describeMysql } from "./mysql.js";
import { createPostgresDatabase, describePostgres } from "./postgres.js";
import { createRedisStore, describeRedis, REDIS_URL } from "./redis.js";
import { describeRedisCluster, startRedisCluster } from "./redis-cluster.js";
import { clusterLayout, redisEventLog, redisRows, serverLayout } from "./redis-rows.js";

/** An event of the log as stored, with its cursor. */
export type StoredEvent = EventDraft & { readonly cursor: number };

export interface SharedTestDatabase {
  readonly store: "mysql" | "postgres" | "redis" | "redis-cluster";
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
      eventsOfText(r.events).map((e, i) => ({
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
    rows: (sql) => redisRows(redis, serverLayout(db.name), sql),
    eventLog: () => redisEventLog(redis, serverLayout(db.name)),
    drop: async () => {
      redis.disconnect();
      await db.drop();
    },
  };
}

/** Shards of the cluster suites' stores (fewer than the default 16: the suites start quicker). */
const CLUSTER_SHARDS = 8;

/**
 * A store on a Redis Cluster of its own: three masters started for it (redis-cluster.ts), and
 * stopped with `drop()`.
 */
async function redisClusterDatabase(prefix = "metronome_test"): Promise<SharedTestDatabase> {
  const cluster = await startRedisCluster();
  const name = `${prefix}_${randomBytes(4).toString("hex")}:`;
  const layout = clusterLayout(name, CLUSTER_SHARDS);
  const client = cluster.client();
  return {
    store: "redis-cluster",
    url: `${cluster.url}?prefix=${name}&shards=${String(CLUSTER_SHARDS)}`,
    rows: (sql) => redisRows(client, layout, sql),
    eventLog: () => redisEventLog(client, layout),
    drop: async () => {
      client.disconnect();
      await cluster.stop();
    },
  };
}

/**
 * The suite `body` once per shared store: `<name> on MariaDB`, `… on PostgreSQL` and `… on Redis`, each
 * skipped with a line saying so where its server does not answer (failing under CI=true), and with
 * `cluster: true` also `… on a Redis Cluster` (three masters started for the suite). `body`
 * creates its database with the function it is given (a name prefix optional).
 */
export function describeEachSharedStore(
  name: string,
  body: (createDatabase: (prefix?: string) => Promise<SharedTestDatabase>) => void,
  options: { readonly cluster?: boolean } = {},
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
  if (options.cluster === true) {
    describeRedisCluster(`${name} on a Redis Cluster`, () => {
      body(redisClusterDatabase);
    });
  }
}
