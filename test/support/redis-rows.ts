/**
 * The multi-node suites check what the nodes stored with SQL over the SQL stores' tables. On
 * Redis the same records are hashes with the same column names (server/src/store/redis/codec.ts):
 * `redisRows` copies the jobs, runs and schedulers of a store's key space into an in-memory
 * SQLite database with those tables (and `__drizzle_migrations`, one row per schema version
 * migrate() recorded) and runs the query there, so a suite's assertions read the same on every
 * store. The event log is read with `redisEventLog`.
 */
import Database from "better-sqlite3";
import type { Cluster, Redis } from "ioredis";
import type { EventDraft } from "../../server/src/domain/events.js";
import { HOME_TAG } from "../../server/src/store/redis/home-shard.js";
import { Keys } from "../../server/src/store/redis/keys.js";
import { shardTags } from "../../server/src/store/redis/shards.js";

/**
 * Where a store's records are: the key layouts that hold schedulers (one on a Redis server, one
 * per shard on a cluster) and the one that holds the schema version and the event log.
 */
export interface RedisLayout {
  readonly parts: readonly Keys[];
  readonly home: Keys;
}

/** The layout of a store on one Redis server under `prefix`. */
export function serverLayout(prefix: string): RedisLayout {
  const keys = new Keys(prefix);
  return { parts: [keys], home: keys };
}

/** The layout of a store of `shards` shards on a Redis Cluster under `prefix`. */
export function clusterLayout(prefix: string, shards: number): RedisLayout {
  return {
    parts: shardTags(shards).map((tag) => new Keys(prefix, tag)),
    home: new Keys(prefix, HOME_TAG),
  };
}

type Fields = Record<string, string>;

async function hashesOf(redis: Redis | Cluster, keys: readonly string[]): Promise<Fields[]> {
  if (keys.length === 0) return [];
  const pipe = redis.pipeline();
  for (const k of keys) pipe.hgetall(k);
  const replies = (await pipe.exec()) ?? [];
  return replies.map(([, h]) => h as Fields).filter((h) => Object.keys(h).length > 0);
}

/** Rows of `table` in SQLite; every column NUMERIC, so `'1' = 1` as in the SQL stores. */
function fill(db: Database.Database, table: string, rows: readonly Fields[]): void {
  const columns = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  if (columns.length === 0) columns.push("id");
  db.exec(`CREATE TABLE \`${table}\` (${columns.map((c) => `\`${c}\` NUMERIC`).join(", ")})`);
  const insert = db.prepare(
    `INSERT INTO \`${table}\` (${columns.map((c) => `\`${c}\``).join(", ")}) VALUES (${columns.map(() => "?").join(", ")})`,
  );
  for (const r of rows) insert.run(...columns.map((c) => r[c] ?? null));
}

export async function redisRows<T>(
  redis: Redis | Cluster,
  layout: RedisLayout,
  sql: string,
  params: readonly (string | number)[] = [],
): Promise<T[]> {
  const jobs: Fields[] = [];
  const runs: Fields[] = [];
  const schedulers: Fields[] = [];
  for (const keys of layout.parts) {
    for (const s of await redis.smembers(keys.global("spaces"))) {
      const jobIds = await redis.zrange(keys.sched(s, "jobs"), 0, -1);
      // Pushed one by one: a spread of a large scheduler's records would overflow the stack.
      for (const h of await hashesOf(
        redis,
        jobIds.map((id) => keys.job(s, id)),
      ))
        jobs.push(h);
      const runIds = await redis.zrange(keys.sched(s, "runs"), 0, -1);
      for (const h of await hashesOf(
        redis,
        runIds.map((id) => keys.run(s, id)),
      ))
        runs.push(h);
    }
    const names = await redis.zrange(keys.global("scheduler-names"), 0, -1);
    for (const h of await hashesOf(
      redis,
      names.map((n) => keys.sched(n, "scheduler")),
    ))
      schedulers.push(h);
  }
  const version = Number((await redis.get(layout.home.global("schema"))) ?? 0);
  const db = new Database(":memory:");
  try {
    fill(db, "jobs", jobs);
    fill(db, "runs", runs);
    fill(db, "schedulers", schedulers);
    fill(
      db,
      "__drizzle_migrations",
      Array.from({ length: version }, (_, i) => ({ id: String(i + 1) })),
    );
    return db.prepare(sql).all(...params) as T[];
  } finally {
    db.close();
  }
}

/** The committed event log (events with cursors, in cursor order), and how many wait for one. */
export async function redisEventLog(
  redis: Redis | Cluster,
  layout: RedisLayout,
): Promise<{ events: (EventDraft & { cursor: number })[]; unsequenced: number }> {
  const entries = await redis.xrange(layout.home.events("log"), "-", "+");
  const events = entries.map(([id, fields]) => ({
    ...(JSON.parse(fields[fields.indexOf("e") + 1] ?? "{}") as EventDraft),
    cursor: Number(id.split("-")[1]),
  }));
  let unsequenced = await redis.llen(layout.home.events("inbox"));
  for (const keys of layout.parts)
    if (keys !== layout.home) unsequenced += await redis.llen(keys.events("inbox"));
  return { events, unsequenced };
}
