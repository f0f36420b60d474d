/**
 * Runs the SQL operations (sql/runner.ts) on the store's one better-sqlite3 connection: a
 * transaction's body runs synchronously inside one `BEGIN IMMEDIATE`, so no other JavaScript (an
 * API call on the same connection) runs in the middle.
 *
 * better-sqlite3 is synchronous: a statement waiting for SQLite's busy handler blocks the whole
 * event loop (no gRPC traffic, heartbeats or timers). So the busy timeout is short
 * (BUSY_TIMEOUT_MS), and while another process holds the file's write lock (`metronome migrate`,
 * `metronome reseal`) a call waits for it here, asynchronously: `BEGIN IMMEDIATE` is tried again
 * after a short pause, growing, until the call's deadline (calls without one, the engine's, until
 * LOCK_WAIT_MS), then the call fails as unavailable. Calls that arrive meanwhile queue behind the
 * first one in order, and only the first of them tries the lock. A write outside a transaction
 * (autocommit) takes the lock the same way, as a transaction of one statement. Every driver error
 * goes through storeError: a busy or locked file, a full disk, an I/O error or a read-only file
 * becomes StoreUnavailableError (UNAVAILABLE to API calls, an outage to the engine).
 */
import type Database from "better-sqlite3";
import { setTimeout as sleep } from "node:timers/promises";
import { currentDeadline, timeLeft } from "../../lib/deadline.js";
import {
  StoreTimeoutError,
  StoreUnavailableError,
  errorCode,
  isUnavailable,
  storeError,
} from "../errors.js";
import type { EventDraft } from "../../domain/events.js";
import type { CommittedEventsListener, Op, SqlRunner, Tx } from "../sql/runner.js";

/**
 * SQLite's busy timeout on the store's connection, in milliseconds: how long one statement may
 * block the event loop waiting for a lock another process holds. Short on purpose: the wait for
 * the write lock is done asynchronously by the runner (waitForLock), between attempts of this
 * length; the rare busy read (WAL recovery by another process) fails after it as unavailable.
 */
export const BUSY_TIMEOUT_MS = 50;

/** How long a call without a deadline (the engine's) waits for the write lock: the old busy timeout. */
export const LOCK_WAIT_MS = 5000;

/** The pause between two attempts at the write lock: from the first, doubling up to the last. */
const FIRST_PAUSE_MS = 5;
const MAX_PAUSE_MS = 100;

/** Another process (or connection) holds the lock: SQLITE_BUSY and its extended codes. */
function isBusy(err: unknown): boolean {
  const code = errorCode(err);
  return code === "SQLITE_BUSY" || (code?.startsWith("SQLITE_BUSY_") ?? false);
}

/** A call waiting for the write lock (see waitForLock). */
interface Waiter {
  /** Resolves when the waiter is first in line. */
  readonly turn: Promise<void>;
  wake(): void;
}

function waiter(): Waiter {
  let wake: () => void = () => undefined;
  const turn = new Promise<void>((resolve) => {
    wake = resolve;
  });
  return { turn, wake };
}

/** Resolves true when `turn` comes, false when `at` (epoch ms) passes first. */
async function turnBy(turn: Promise<void>, at: number): Promise<boolean> {
  const ac = new AbortController();
  try {
    return await Promise.race([
      turn.then(() => true),
      sleep(Math.max(0, at - Date.now()), false, { signal: ac.signal }),
    ]);
  } finally {
    ac.abort();
  }
}

export class SqliteRunner implements SqlRunner {
  private readonly statements = new Map<string, Database.Statement>();
  private eventsCommitted: CommittedEventsListener = () => undefined;
  private readonly begin: Database.Statement;
  private readonly commit: Database.Statement;
  private readonly rollback: Database.Statement;
  /** Calls waiting for the write lock, in arrival order; the first one tries to take it. */
  private readonly waiters: Waiter[] = [];

  constructor(private readonly db: Database.Database) {
    this.begin = db.prepare("BEGIN IMMEDIATE");
    this.commit = db.prepare("COMMIT");
    this.rollback = db.prepare("ROLLBACK");
  }

  onEventsCommitted(listener: CommittedEventsListener): void {
    this.eventsCommitted = listener;
  }

  private tellCommitted(events: readonly EventDraft[]): void {
    if (events.length > 0) this.eventsCommitted(events);
  }

  private prepare(sql: string): Database.Statement {
    let s = this.statements.get(sql);
    if (s === undefined) {
      if (this.statements.size >= 500) this.statements.clear();
      s = this.db.prepare(sql);
      this.statements.set(sql, s);
    }
    return s;
  }

  private static execute(stmt: Database.Statement, op: Op): unknown {
    return op.kind === "all" ? stmt.all(...op.params) : stmt.run(...op.params).changes;
  }

  /**
   * Drives `body` synchronously inside the transaction under way. A statement's error is thrown
   * into the body first; one that means the store is unavailable (a busy file, a full disk, an
   * I/O error: SQLite may have rolled the transaction back already) fails the transaction even if
   * the body catches it: no further statement runs.
   */
  private runSync<T>(body: Tx<T>, events: EventDraft[]): T {
    let step = body.next();
    while (!step.done) {
      const op = step.value;
      let result: unknown;
      try {
        result = SqliteRunner.execute(this.prepare(op.sql), op);
      } catch (err) {
        if (!isUnavailable(err)) {
          step = body.throw(err);
          continue;
        }
        try {
          if (!body.throw(err).done) body.return(undefined as T);
        } catch {
          // The body passed it on (its `finally` ran).
        }
        throw err;
      }
      if (op.events !== undefined) for (const e of op.events) events.push(e);
      step = body.next(result);
    }
    return step.value;
  }

  /**
   * `work` inside `BEGIN IMMEDIATE` … `COMMIT`, synchronously, if the write lock can be had now
   * (within BUSY_TIMEOUT_MS); null if another process holds it. On an error the transaction is
   * rolled back.
   */
  private attempt<T>(work: () => T): { readonly value: T } | null {
    try {
      this.begin.run();
    } catch (err) {
      if (isBusy(err)) return null;
      throw err;
    }
    try {
      const value = work();
      this.commit.run();
      return { value };
    } catch (err) {
      if (this.db.inTransaction)
        try {
          this.rollback.run();
        } catch {
          // The transaction's own error says more; SQLite ends the transaction either way.
        }
      throw err;
    }
  }

  /**
   * `work` in a write transaction: at once (synchronously, `value`) when no call is waiting for
   * the lock and it is free; otherwise in line (`later`, waitForLock).
   */
  private locked<T>(work: () => T): { readonly value: T } | { readonly later: Promise<T> } {
    if (this.waiters.length > 0) return { later: this.waitForLock(work, false) };
    return this.attempt(work) ?? { later: this.waitForLock(work, true) };
  }

  /**
   * Waits in line for the write lock without blocking the event loop, then runs `work` in a
   * transaction; gives up (StoreTimeoutError past the call's deadline, StoreUnavailableError
   * after LOCK_WAIT_MS without one) if the lock stays taken.
   */
  private async waitForLock<T>(work: () => T, triedNow: boolean): Promise<T> {
    const deadline = currentDeadline();
    const waited = Date.now() + LOCK_WAIT_MS;
    const giveUpAt = deadline === undefined ? waited : Math.min(deadline, waited);
    const gaveUp = (): Error =>
      deadline !== undefined && deadline <= waited
        ? new StoreTimeoutError()
        : new StoreUnavailableError(new Error("the database file is locked by another process"));
    const me = waiter();
    this.waiters.push(me);
    try {
      if (this.waiters[0] !== me && !(await turnBy(me.turn, giveUpAt))) throw gaveUp();
      let tried = triedNow;
      for (let pause = FIRST_PAUSE_MS; ; pause = Math.min(2 * pause, MAX_PAUSE_MS)) {
        if (!tried) {
          const done = this.attempt(work);
          if (done !== null) return done.value;
        }
        tried = false;
        const left = giveUpAt - Date.now();
        if (left <= 0) throw gaveUp();
        await sleep(Math.min(pause, left));
      }
    } finally {
      const i = this.waiters.indexOf(me);
      this.waiters.splice(i, 1);
      if (i === 0) this.waiters[0]?.wake();
    }
  }

  async tx<T>(body: () => Tx<T>): Promise<T> {
    // A transaction here is synchronous and cannot outlast its deadline once started.
    if (timeLeft() <= 0) throw new StoreTimeoutError();
    const events: EventDraft[] = [];
    let value: T;
    try {
      const done = this.locked(() => this.runSync(body(), events));
      value = "value" in done ? done.value : await done.later;
    } catch (err) {
      throw storeError(err); // rolled back: its events are not told
    }
    this.tellCommitted(events);
    return value;
  }

  /**
   * Reads run at once; a write takes the write lock as tx does, as a transaction of its one
   * statement (what SQLite does for a statement outside a transaction). Without a wait for the
   * lock, the body runs synchronously, as a transaction's does.
   */
  async autocommit<T>(body: () => Tx<T>): Promise<T> {
    // Each statement commits on its own: the events of those that ran are told.
    const events: EventDraft[] = [];
    try {
      const gen = body();
      let step = gen.next();
      while (!step.done) {
        const op = step.value;
        let result: unknown;
        try {
          const stmt = this.prepare(op.sql);
          if (stmt.readonly) result = SqliteRunner.execute(stmt, op);
          else {
            const done = this.locked(() => SqliteRunner.execute(stmt, op));
            result = "value" in done ? done.value : await done.later;
          }
        } catch (err) {
          step = gen.throw(err);
          continue;
        }
        if (op.events !== undefined) for (const e of op.events) events.push(e);
        step = gen.next(result);
      }
      return step.value;
    } catch (err) {
      throw storeError(err);
    } finally {
      this.tellCommitted(events);
    }
  }
}
