/**
 * The embedded SQLite store (better-sqlite3) for a single node: the default when no store URL is
 * configured. better-sqlite3 is synchronous; this class gives it the same async interface as the
 * MySQL store. WAL mode and a busy timeout let a second process (e.g. `metronome migrate`) share
 * the file.
 */
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import { and, asc, eq } from "drizzle-orm";
import { drizzle, type BetterSQLite3Database } from "drizzle-orm/better-sqlite3";
import { migrate } from "drizzle-orm/better-sqlite3/migrator";
import type { Job, Scheduler } from "../../domain/jobs.js";
import { migrationsFolder } from "../../paths.js";
import { jobListing, page } from "../paging.js";
import { jobFromRow, jobToRow, schedulerFromRow, schedulerToRow } from "../rows.js";
import { type ListJobsQuery, type Page, type Store } from "../store.js";
import type { EngineDb } from "../engine/ops.js";
import { updateJobLocked } from "../engine/queries.js";
import { SqliteEngineDb } from "../engine/runners.js";
import { jobs, schedulers } from "./schema.js";

function isDuplicate(err: unknown): boolean {
  const code =
    (err as { code?: unknown }).code ?? (err as { cause?: { code?: unknown } }).cause?.code;
  return code === "SQLITE_CONSTRAINT_PRIMARYKEY" || code === "SQLITE_CONSTRAINT_UNIQUE";
}

export class SqliteStore implements Store {
  private readonly db: BetterSQLite3Database;

  private readonly engine: SqliteEngineDb;

  private constructor(private readonly sqlite: Database.Database) {
    this.db = drizzle({ client: sqlite });
    this.engine = new SqliteEngineDb(sqlite);
  }

  /** The engine's transactions (store/engine) on the same connection. */
  engineDb(): EngineDb {
    return this.engine;
  }

  /** Open (creating the file and its folder if needed) a database file, or ":memory:". */
  static open(path: string): SqliteStore {
    if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
    const sqlite = new Database(path);
    sqlite.pragma("journal_mode = WAL");
    sqlite.pragma("synchronous = NORMAL");
    sqlite.pragma("busy_timeout = 5000");
    // Identifiers are case-sensitive: so are prefix filters (LIKE), as on MySQL's _bin columns.
    sqlite.pragma("case_sensitive_like = ON");
    return new SqliteStore(sqlite);
  }

  migrate(): Promise<void> {
    migrate(this.db, { migrationsFolder: migrationsFolder("sqlite") });
    return Promise.resolve();
  }

  ping(): Promise<void> {
    this.sqlite.prepare("SELECT 1").get();
    return Promise.resolve();
  }

  close(): Promise<void> {
    this.sqlite.close();
    return Promise.resolve();
  }

  getScheduler(name: string): Promise<Scheduler | null> {
    const row = this.db.select().from(schedulers).where(eq(schedulers.name, name)).get();
    return Promise.resolve(row ? schedulerFromRow(row) : null);
  }

  listSchedulers(): Promise<Scheduler[]> {
    return Promise.resolve(
      this.db.select().from(schedulers).orderBy(asc(schedulers.name)).all().map(schedulerFromRow),
    );
  }

  insertScheduler(s: Scheduler): Promise<boolean> {
    try {
      this.db.insert(schedulers).values(schedulerToRow(s)).run();
      return Promise.resolve(true);
    } catch (err) {
      if (isDuplicate(err)) return Promise.resolve(false);
      throw err;
    }
  }

  updateScheduler(
    name: string,
    change: (current: Scheduler) => Scheduler,
  ): Promise<Scheduler | null> {
    // One connection, synchronous: the transaction cannot interleave with another change.
    // (A throw inside the executor becomes a rejection, as callers of an async store expect.)
    return new Promise((resolve) => {
      resolve(
        this.db.transaction((tx) => {
          const row = tx.select().from(schedulers).where(eq(schedulers.name, name)).get();
          if (!row) return null;
          const current = schedulerFromRow(row);
          const next = change(current);
          if (next !== current)
            tx.update(schedulers).set(schedulerToRow(next)).where(eq(schedulers.name, name)).run();
          return next;
        }),
      );
    });
  }

  insertJob(job: Job): Promise<boolean> {
    try {
      this.db.insert(jobs).values(jobToRow(job)).run();
      return Promise.resolve(true);
    } catch (err) {
      if (isDuplicate(err)) return Promise.resolve(false);
      throw err;
    }
  }

  getJob(scheduler: string, id: string): Promise<Job | null> {
    const row = this.db
      .select()
      .from(jobs)
      .where(and(eq(jobs.scheduler, scheduler), eq(jobs.id, id)))
      .get();
    return Promise.resolve(row ? jobFromRow(row) : null);
  }

  listJobs(q: ListJobsQuery): Promise<Page<Job>> {
    const { where, order } = jobListing(q, jobs);
    const rows = this.db
      .select()
      .from(jobs)
      .where(where)
      .orderBy(...order)
      .limit(q.pageSize + 1)
      .all();
    return Promise.resolve(page(rows, q));
  }

  updateJob(
    scheduler: string,
    id: string,
    change: (current: Job) => Job,
    now?: number,
  ): Promise<Job | null> {
    return this.engine.tx(() => updateJobLocked(this.engine.dialect, scheduler, id, change, now));
  }

  deleteJob(scheduler: string, id: string, expectedVersion?: number): Promise<boolean> {
    const version = expectedVersion === undefined ? undefined : eq(jobs.version, expectedVersion);
    const result = this.db
      .delete(jobs)
      .where(and(eq(jobs.scheduler, scheduler), eq(jobs.id, id), version))
      .run();
    return Promise.resolve(result.changes === 1);
  }

  deleteAllJobs(scheduler: string): Promise<number> {
    return Promise.resolve(this.db.delete(jobs).where(eq(jobs.scheduler, scheduler)).run().changes);
  }
}
