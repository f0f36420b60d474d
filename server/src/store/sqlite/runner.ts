/**
 * Runs the SQL operations (sql/runner.ts) on the store's one better-sqlite3 connection: a
 * transaction's body runs synchronously inside one `BEGIN IMMEDIATE`, so no other JavaScript (an
 * API call on the same connection) runs in the middle.
 */
import type Database from "better-sqlite3";
import { timeLeft } from "../../lib/deadline.js";
import { StoreTimeoutError } from "../errors.js";
import type { EventDraft } from "../../domain/events.js";
import type { CommittedEventsListener, SqlRunner, Tx } from "../sql/runner.js";

export class SqliteRunner implements SqlRunner {
  private readonly statements = new Map<string, Database.Statement>();
  private eventsCommitted: CommittedEventsListener = () => undefined;
  /** The events runSync's statements wrote (taken after the transaction ends). */
  private wrote: EventDraft[] = [];

  constructor(private readonly db: Database.Database) {}

  onEventsCommitted(listener: CommittedEventsListener): void {
    this.eventsCommitted = listener;
  }

  private takeWrote(): EventDraft[] {
    const wrote = this.wrote;
    this.wrote = [];
    return wrote;
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

  private runSync<T>(body: Tx<T>): T {
    let step = body.next();
    while (!step.done) {
      const op = step.value;
      let result: unknown;
      try {
        const stmt = this.prepare(op.sql);
        result = op.kind === "all" ? stmt.all(...op.params) : stmt.run(...op.params).changes;
      } catch (err) {
        step = body.throw(err);
        continue;
      }
      if (op.events !== undefined) for (const e of op.events) this.wrote.push(e);
      step = body.next(result);
    }
    return step.value;
  }

  // async: a throw becomes a rejection, as callers of an async store expect.
  // eslint-disable-next-line @typescript-eslint/require-await
  async tx<T>(body: () => Tx<T>): Promise<T> {
    // A transaction here is synchronous and cannot outlast its deadline once started.
    if (timeLeft() <= 0) throw new StoreTimeoutError();
    this.takeWrote();
    let value: T;
    try {
      value = this.db.transaction(() => this.runSync(body())).immediate();
    } catch (err) {
      this.takeWrote(); // rolled back: its events are not
      throw err;
    }
    this.tellCommitted(this.takeWrote());
    return value;
  }

  // eslint-disable-next-line @typescript-eslint/require-await
  async autocommit<T>(body: () => Tx<T>): Promise<T> {
    this.takeWrote();
    try {
      return this.runSync(body());
    } finally {
      // Each statement committed on its own: the events of those that ran are recorded.
      this.tellCommitted(this.takeWrote());
    }
  }
}
