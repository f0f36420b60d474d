/**
 * Runs the SQL operations (sql/runner.ts) on the store's one better-sqlite3 connection: a
 * transaction's body runs synchronously inside one `BEGIN IMMEDIATE`, so no other JavaScript (an
 * API call on the same connection) runs in the middle.
 */
import type Database from "better-sqlite3";
import { timeLeft } from "../../lib/deadline.js";
import { StoreTimeoutError } from "../errors.js";
import type { SqlRunner, Tx } from "../sql/runner.js";

export class SqliteRunner implements SqlRunner {
  private readonly statements = new Map<string, Database.Statement>();
  private eventsCommitted: () => void = () => undefined;
  /** Set by runSync when a statement wrote events (read after the transaction ends). */
  private readonly wrote = { events: false };

  constructor(private readonly db: Database.Database) {}

  onEventsCommitted(listener: () => void): void {
    this.eventsCommitted = listener;
  }

  private takeWrote(): boolean {
    const wrote = this.wrote.events;
    this.wrote.events = false;
    return wrote;
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
      if (op.events === true) this.wrote.events = true;
      let result: unknown;
      try {
        const stmt = this.prepare(op.sql);
        result = op.kind === "all" ? stmt.all(...op.params) : stmt.run(...op.params).changes;
      } catch (err) {
        step = body.throw(err);
        continue;
      }
      step = body.next(result);
    }
    return step.value;
  }

  // async: a throw becomes a rejection, as callers of an async store expect.
  // eslint-disable-next-line @typescript-eslint/require-await
  async tx<T>(body: () => Tx<T>): Promise<T> {
    // A transaction here is synchronous and cannot outlast its deadline once started.
    if (timeLeft() <= 0) throw new StoreTimeoutError();
    this.wrote.events = false;
    try {
      return this.db.transaction(() => this.runSync(body())).immediate();
    } finally {
      // Committed or rolled back: either way the listener may look (it finds nothing new).
      if (this.takeWrote()) this.eventsCommitted();
    }
  }

  // eslint-disable-next-line @typescript-eslint/require-await
  async autocommit<T>(body: () => Tx<T>): Promise<T> {
    this.wrote.events = false;
    try {
      return this.runSync(body());
    } finally {
      if (this.takeWrote()) this.eventsCommitted();
    }
  }
}
