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
import type { EventDraft } from "../../domain/events.js";
import type { Job, Scheduler } from "../../domain/jobs.js";
import { eventRows, updateJobWithEvents } from "../engine/events.js";
import { migrationsFolder } from "../../paths.js";
import { jobListing, page } from "../paging.js";
import { jobFromRow, jobToRow, schedulerFromRow, schedulerToRow } from "../rows.js";
import { type ListJobsQuery, type Page, type Store } from "../store.js";
import type { EngineDb } from "../engine/ops.js";
import { updateJobLocked } from "../engine/queries.js";
import { SqliteEngineDb } from "../engine/runners.js";
import { eventLog, jobs, schedulers } from "./schema.js";

type Tx = Parameters<Parameters<BetterSQLite3Database["transaction"]>[0]>[0];

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

  eventsDb(): EngineDb {
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

  /**
   * Runs `body` in one transaction (one connection, synchronous: it cannot interleave with
   * another change; a throw becomes a rejection, as callers of an async store expect), then
   * tells the event log if it wrote events.
   */
  private transaction<T>(
    body: (tx: Tx, write: (events: readonly EventDraft[]) => void) => T,
  ): Promise<T> {
    const wrote = { events: false };
    return new Promise<T>((resolve) => {
      resolve(
        this.db.transaction((tx) =>
          body(tx, (events) => {
            if (events.length === 0) return;
            tx.insert(eventLog).values(eventRows(events)).run();
            wrote.events = true;
          }),
        ),
      );
    }).finally(() => {
      if (wrote.events) this.engine.eventsWritten();
    });
  }

  updateScheduler(
    name: string,
    change: (current: Scheduler) => Scheduler,
    events?: (before: Scheduler, after: Scheduler) => readonly EventDraft[],
  ): Promise<Scheduler | null> {
    return this.transaction((tx, write) => {
      const row = tx.select().from(schedulers).where(eq(schedulers.name, name)).get();
      if (!row) return null;
      const current = schedulerFromRow(row);
      const next = change(current);
      if (next !== current) {
        tx.update(schedulers).set(schedulerToRow(next)).where(eq(schedulers.name, name)).run();
        write(events?.(current, next) ?? []);
      }
      return next;
    });
  }

  async insertJob(job: Job, events: readonly EventDraft[] = []): Promise<boolean> {
    try {
      return await this.transaction((tx, write) => {
        tx.insert(jobs).values(jobToRow(job)).run();
        write(events);
        return true;
      });
    } catch (err) {
      if (isDuplicate(err)) return false;
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
    events?: (after: Job) => readonly EventDraft[],
  ): Promise<Job | null> {
    return this.engine.tx(() =>
      updateJobWithEvents(
        (c) => updateJobLocked(this.engine.dialect, scheduler, id, c, now),
        change,
        events,
      ),
    );
  }

  deleteJob(
    scheduler: string,
    id: string,
    expectedVersion?: number,
    events?: (deleted: Job) => readonly EventDraft[],
  ): Promise<boolean> {
    const version = expectedVersion === undefined ? undefined : eq(jobs.version, expectedVersion);
    const where = and(eq(jobs.scheduler, scheduler), eq(jobs.id, id), version);
    return this.transaction((tx, write) => {
      const row = tx.select().from(jobs).where(where).get();
      if (row === undefined) return false;
      tx.delete(jobs).where(where).run();
      write(events?.(jobFromRow(row)) ?? []);
      return true;
    });
  }

  deleteAllJobs(scheduler: string, events: readonly EventDraft[] = []): Promise<number> {
    return this.transaction((tx, write) => {
      const n = tx.delete(jobs).where(eq(jobs.scheduler, scheduler)).run().changes;
      write(events);
      return n;
    });
  }
}
