/**
 * The MySQL store (MySQL 8.0+, MariaDB 10.6+) through Drizzle and mysql2. A lost or refused
 * connection surfaces as `StoreUnavailableError`; the pool reconnects by itself when the
 * database is back.
 */
import { and, asc, eq, sql } from "drizzle-orm";
import { drizzle, type MySql2Database } from "drizzle-orm/mysql2";
import { migrate } from "drizzle-orm/mysql2/migrator";
import { createPool as createCallbackPool, type Pool as CallbackPool } from "mysql2";
import mysql from "mysql2/promise";
import { updateJobLocked } from "../engine/queries.js";
import { MysqlEngineDb } from "../engine/runners.js";
import type { EventDraft } from "../../domain/events.js";
import type { Job, Scheduler } from "../../domain/jobs.js";
import { eventRows, updateJobWithEvents } from "../engine/events.js";
import { migrationsFolder } from "../../paths.js";
import { Batcher } from "../../lib/batcher.js";
import { jobListing, page } from "../paging.js";
import { jobFromRow, jobToRow, schedulerFromRow, schedulerToRow, type JobRow } from "../rows.js";
import { StoreUnavailableError, type ListJobsQuery, type Page, type Store } from "../store.js";
import {
  checkJobColumns,
  insertJobs,
  MAX_INSERT_BATCH,
  MAX_READ_BATCH,
  selectJobs,
  type JobInsert,
} from "./hot.js";
import { eventLog, jobs, schedulers } from "./schema.js";

const UNAVAILABLE_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "ENOTFOUND",
  "EHOSTUNREACH",
  "PROTOCOL_CONNECTION_LOST",
  "PROTOCOL_SEQUENCE_TIMEOUT",
  "ER_CON_COUNT_ERROR",
  "ER_SERVER_SHUTDOWN",
  "ER_LOCK_WAIT_TIMEOUT",
  "POOL_CLOSED",
]);

function errorCode(err: unknown): string | undefined {
  for (
    let e: unknown = err;
    e instanceof Error || (typeof e === "object" && e !== null);
    e = (e as { cause?: unknown }).cause
  ) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string") return code;
    if ((e as { cause?: unknown }).cause === undefined) break;
  }
  return undefined;
}

function isDuplicate(err: unknown): boolean {
  return errorCode(err) === "ER_DUP_ENTRY";
}

/** A lost or refused connection as StoreUnavailableError; other errors unchanged. */
export function storeError(err: unknown): unknown {
  const code = errorCode(err);
  return code !== undefined && UNAVAILABLE_CODES.has(code) ? new StoreUnavailableError(err) : err;
}

async function guard<T>(op: () => Promise<T>): Promise<T> {
  try {
    return await op();
  } catch (err) {
    throw storeError(err);
  }
}

export class MysqlStore implements Store {
  private readonly db: MySql2Database;

  /** Concurrent GetJob calls share queries, concurrent AddJob inserts share statements. */
  private readonly jobReads = new Batcher<{ scheduler: string; id: string }, JobRow | null>(
    (keys) => selectJobs(this.pool.pool, keys),
    2,
    MAX_READ_BATCH,
  );
  private readonly jobInserts = new Batcher<JobInsert, boolean>(
    async (items) => {
      const inserted = await insertJobs(this.insertPool(), items);
      if (items.some((it, i) => inserted[i] === true && it.events.length > 0))
        this.engineDb().eventsWritten();
      return inserted;
    },
    2,
    MAX_INSERT_BATCH,
  );

  /** AddJob's inserts: their transactions are sent as one multi-statement query each. */
  private insertPool(): CallbackPool {
    if (this.inserts === undefined) {
      // Values are escaped by mysql2 into the statement text here (no server-side prepare for
      // several statements): the escaping must mean what the server reads. The connection's
      // character set is fixed to utf8mb4 (no multi-byte sets where a backslash can hide in a
      // character) and the session's sql_mode loses NO_BACKSLASH_ESCAPES, so that a quote in a
      // job's name or arguments can never end the string.
      const pool = createCallbackPool({
        ...this.poolOptions,
        connectionLimit: 10,
        multipleStatements: true,
        charset: "UTF8MB4_BIN",
      });
      pool.on("connection", (conn) => {
        conn.on("error", () => undefined);
        conn.query(
          "SET SESSION sql_mode = REPLACE(@@SESSION.sql_mode, 'NO_BACKSLASH_ESCAPES', '')",
          (err) => {
            if (err) conn.destroy();
          },
        );
      });
      this.inserts = pool;
    }
    return this.inserts;
  }

  private inserts: CallbackPool | undefined;

  /** The API's hottest statements, built once (Drizzle otherwise rebuilds the SQL per call). */
  private readonly hot;

  private constructor(private readonly pool: mysql.Pool) {
    checkJobColumns();
    this.db = drizzle({ client: pool });
    const p = (name: string) => sql.placeholder(name);
    this.hot = {
      getScheduler: this.db
        .select()
        .from(schedulers)
        .where(eq(schedulers.name, p("name")))
        .prepare(),
    };
  }

  /** The engine's transactions (store/engine), on a pool of their own, opened on first use. */
  engineDb(): MysqlEngineDb {
    this.engine ??= new MysqlEngineDb(
      createCallbackPool({ ...this.poolOptions, connectionLimit: 10 }),
      storeError,
    );
    return this.engine;
  }

  private engine: MysqlEngineDb | undefined;

  eventsDb(): MysqlEngineDb {
    this.events ??= new MysqlEngineDb(
      createCallbackPool({ ...this.poolOptions, connectionLimit: 3 }),
      storeError,
    );
    return this.events;
  }

  private events: MysqlEngineDb | undefined;
  private poolOptions: mysql.PoolOptions = {};

  static open(url: string, options: { connectionLimit?: number } = {}): MysqlStore {
    const poolOptions: mysql.PoolOptions = {
      uri: url,
      connectionLimit: options.connectionLimit ?? 20,
      timezone: "Z",
      connectTimeout: 5000,
      enableKeepAlive: true,
    };
    const pool = mysql.createPool(poolOptions);
    // A pool emits errors of idle connections; they are not fatal (the next query reconnects).
    pool.on("connection", (conn) => {
      conn.on("error", () => undefined);
    });
    const store = new MysqlStore(pool);
    store.poolOptions = poolOptions;
    return store;
  }

  async migrate(): Promise<void> {
    await guard(async () => {
      // Drizzle's migrator takes no lock and DDL commits implicitly: serialise nodes starting at once.
      const lock = await this.pool.getConnection();
      try {
        const [rows] = await lock.query("SELECT GET_LOCK('metronome_migrate', 60) AS got");
        if ((rows as { got: number | null }[])[0]?.got !== 1)
          throw new Error("timed out waiting for the migration lock");
        try {
          await migrate(this.db, { migrationsFolder: migrationsFolder("mysql") });
        } finally {
          await lock.query("SELECT RELEASE_LOCK('metronome_migrate')");
        }
      } finally {
        lock.release();
      }
    });
  }

  async ping(): Promise<void> {
    await guard(() => this.pool.query("SELECT 1"));
  }

  async close(): Promise<void> {
    await Promise.all([
      this.pool.end(),
      this.engine?.end(),
      this.events?.end(),
      new Promise<void>((resolve) => {
        if (this.inserts === undefined) resolve();
        else
          this.inserts.end(() => {
            resolve();
          });
      }),
    ]);
  }

  async getScheduler(name: string): Promise<Scheduler | null> {
    const rows = await guard(() => this.hot.getScheduler.execute({ name }));
    return rows[0] ? schedulerFromRow(rows[0]) : null;
  }

  async listSchedulers(): Promise<Scheduler[]> {
    const rows = await guard(() => this.db.select().from(schedulers).orderBy(asc(schedulers.name)));
    return rows.map(schedulerFromRow);
  }

  async insertScheduler(s: Scheduler): Promise<boolean> {
    return guard(async () => {
      try {
        await this.db.insert(schedulers).values(schedulerToRow(s));
        return true;
      } catch (err) {
        if (isDuplicate(err)) return false;
        throw err;
      }
    });
  }

  async updateScheduler(
    name: string,
    change: (current: Scheduler) => Scheduler,
    events?: (before: Scheduler, after: Scheduler) => readonly EventDraft[],
  ): Promise<Scheduler | null> {
    const wrote = { events: false };
    const updated = await guard(() =>
      this.db.transaction(async (tx) => {
        const rows = await tx
          .select()
          .from(schedulers)
          .where(eq(schedulers.name, name))
          .for("update");
        if (!rows[0]) return null;
        const current = schedulerFromRow(rows[0]);
        const next = change(current);
        if (next !== current) {
          await tx.update(schedulers).set(schedulerToRow(next)).where(eq(schedulers.name, name));
          const evs = events?.(current, next) ?? [];
          if (evs.length > 0) {
            await tx.insert(eventLog).values(eventRows(evs));
            wrote.events = true;
          }
        }
        return next;
      }),
    );
    if (wrote.events) this.engineDb().eventsWritten();
    return updated;
  }

  async insertJob(job: Job, events: readonly EventDraft[] = []): Promise<boolean> {
    return guard(() => this.jobInserts.run({ row: jobToRow(job), events }));
  }

  async getJob(scheduler: string, id: string): Promise<Job | null> {
    const row = await guard(() => this.jobReads.run({ scheduler, id }));
    return row === null ? null : jobFromRow(row);
  }

  async listJobs(q: ListJobsQuery): Promise<Page<Job>> {
    const { where, order } = jobListing(q, jobs);
    const rows = await guard(() =>
      this.db
        .select()
        .from(jobs)
        .where(where)
        .orderBy(...order)
        .limit(q.pageSize + 1),
    );
    return page(rows, q);
  }

  async updateJob(
    scheduler: string,
    id: string,
    change: (current: Job) => Job,
    now?: number,
    events?: (after: Job) => readonly EventDraft[],
  ): Promise<Job | null> {
    const db = this.engineDb();
    return db.tx(() =>
      updateJobWithEvents(
        (c) => updateJobLocked(db.dialect, scheduler, id, c, now),
        change,
        events,
      ),
    );
  }

  async deleteJob(
    scheduler: string,
    id: string,
    expectedVersion?: number,
    events?: (deleted: Job) => readonly EventDraft[],
  ): Promise<boolean> {
    const version = expectedVersion === undefined ? undefined : eq(jobs.version, expectedVersion);
    const where = and(eq(jobs.scheduler, scheduler), eq(jobs.id, id), version);
    const wrote = { events: false };
    const deleted = await guard(() =>
      this.db.transaction(async (tx) => {
        const rows = await tx.select().from(jobs).where(where).for("update");
        const row = rows[0];
        if (row === undefined) return false;
        await tx.delete(jobs).where(where);
        const evs = events?.(jobFromRow(row)) ?? [];
        if (evs.length > 0) {
          await tx.insert(eventLog).values(eventRows(evs));
          wrote.events = true;
        }
        return true;
      }),
    );
    if (wrote.events) this.engineDb().eventsWritten();
    return deleted;
  }

  async deleteAllJobs(scheduler: string, events: readonly EventDraft[] = []): Promise<number> {
    const n = await guard(() =>
      this.db.transaction(async (tx) => {
        const [result] = await tx.delete(jobs).where(eq(jobs.scheduler, scheduler));
        if (events.length > 0) await tx.insert(eventLog).values(eventRows(events));
        return result.affectedRows;
      }),
    );
    if (events.length > 0) this.engineDb().eventsWritten();
    return n;
  }
}
