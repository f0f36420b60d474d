/** The two runners of engine transactions (see ops.ts). */
import type Database from "better-sqlite3";
import type { Pool, PoolConnection, ResultSetHeader } from "mysql2";
import { MYSQL, SQLITE, type EngineDb, type Op, type Param, type Tx } from "./ops.js";

const DEADLOCK_RETRIES = 5;

function query(conn: Pool | PoolConnection, op: Op): Promise<unknown> {
  return new Promise((resolve, reject) => {
    conn.query(op.sql, op.params as Param[], (err, result) => {
      if (err) {
        reject(err);
        return;
      }
      resolve(op.kind === "all" ? result : (result as ResultSetHeader).affectedRows);
    });
  });
}

function isDeadlock(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === "ER_LOCK_DEADLOCK";
}

async function drive<T>(body: Tx<T>, run: (op: Op) => Promise<unknown>): Promise<T> {
  let step = body.next();
  while (!step.done) {
    let result: unknown;
    try {
      result = await run(step.value);
    } catch (err) {
      // Let the body see the error (a `finally` in it runs), then propagate it.
      step = body.throw(err);
      continue;
    }
    step = body.next(result);
  }
  return step.value;
}

/**
 * MySQL: a pool of its own (the API's statements do not queue behind the engine's), every
 * connection in READ COMMITTED, so that claims take no gap locks that would block the inserts
 * of other nodes' runs. Deadlocks are retried.
 */
export class MysqlEngineDb implements EngineDb {
  readonly dialect = MYSQL;
  private eventsCommitted: () => void = () => undefined;

  constructor(
    private readonly pool: Pool,
    /** Maps driver errors (a lost connection becomes StoreUnavailableError). */
    private readonly mapError: (err: unknown) => unknown,
  ) {
    pool.on("connection", (conn) => {
      conn.on("error", () => undefined);
      // Queued before anything else on the new connection, so it applies before its first use;
      // a connection where it fails is destroyed rather than used in REPEATABLE READ.
      conn.query("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED", (err) => {
        if (err) conn.destroy();
      });
    });
  }

  onEventsCommitted(listener: () => void): void {
    this.eventsCommitted = listener;
  }

  /** Tells the event listener that events were committed outside `tx` (the API's hot path). */
  eventsWritten(): void {
    this.eventsCommitted();
  }

  async tx<T>(body: () => Tx<T>): Promise<T> {
    try {
      return await this.txOnce(body);
    } catch (err) {
      throw this.mapError(err);
    }
  }

  private async txOnce<T>(body: () => Tx<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const conn = await new Promise<PoolConnection>((resolve, reject) => {
        this.pool.getConnection((err, c) => {
          if (err) reject(err);
          else resolve(c);
        });
      });
      const state = { broken: false, events: false };
      try {
        await query(conn, { kind: "run", sql: "START TRANSACTION", params: [] });
        const value = await drive(body(), (op) => {
          if (op.events === true) state.events = true;
          return query(conn, op);
        });
        await query(conn, { kind: "run", sql: "COMMIT", params: [] });
        if (state.events) this.eventsCommitted();
        return value;
      } catch (err) {
        await query(conn, { kind: "run", sql: "ROLLBACK", params: [] }).catch(() => {
          state.broken = true;
        });
        if (isDeadlock(err) && attempt < DEADLOCK_RETRIES) continue;
        throw err;
      } finally {
        if (state.broken) conn.destroy();
        else conn.release();
      }
    }
  }

  async read<T>(body: () => Tx<T>): Promise<T> {
    const state = { events: false };
    try {
      return await drive(body(), async (op) => {
        const result = await query(this.pool, op);
        if (op.events === true) state.events = true;
        return result;
      });
    } catch (err) {
      throw this.mapError(err);
    } finally {
      if (state.events) this.eventsCommitted();
    }
  }

  end(): Promise<void> {
    return new Promise((resolve) => {
      this.pool.end(() => {
        resolve();
      });
    });
  }
}

/**
 * SQLite: the body runs synchronously inside one `BEGIN IMMEDIATE` transaction on the store's
 * connection, so no other JavaScript (an API call on the same connection) runs in the middle.
 */
export class SqliteEngineDb implements EngineDb {
  readonly dialect = SQLITE;
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

  /** After the store's own writes that include events (not through `tx`). */
  eventsWritten(): void {
    this.eventsCommitted();
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
      const stmt = this.prepare(op.sql);
      let result: unknown;
      try {
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
    this.wrote.events = false;
    try {
      return this.db.transaction(() => this.runSync(body())).immediate();
    } finally {
      // Committed or rolled back: either way the listener may look (it finds nothing new).
      if (this.takeWrote()) this.eventsCommitted();
    }
  }

  // eslint-disable-next-line @typescript-eslint/require-await
  async read<T>(body: () => Tx<T>): Promise<T> {
    this.wrote.events = false;
    try {
      return this.runSync(body());
    } finally {
      if (this.takeWrote()) this.eventsCommitted();
    }
  }
}
