/**
 * Runs the SQL operations (sql/runner.ts) on a MySQL pool. Every connection works in READ
 * COMMITTED, so that claims take no gap locks that would block the inserts of other nodes' runs.
 * Deadlocks are retried; a lost connection surfaces as StoreUnavailableError.
 */
import type { Pool, PoolConnection, ResultSetHeader } from "mysql2";
import { isDeadlock, storeError } from "../errors.js";
import { drive, type Op, type Param, type SqlRunner, type Tx } from "../sql/runner.js";

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

/** Sets READ COMMITTED on each new connection of a pool (and keeps idle errors quiet). */
export function readCommitted(pool: Pool): Pool {
  pool.on("connection", (conn) => {
    conn.on("error", () => undefined);
    // Queued before anything else on the new connection, so it applies before its first use;
    // a connection where it fails is destroyed rather than used in REPEATABLE READ.
    conn.query("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED", (err) => {
      if (err) conn.destroy();
    });
  });
  return pool;
}

export class MysqlRunner implements SqlRunner {
  private eventsCommitted: () => void = () => undefined;

  /** `pool`: its connections set up with readCommitted. */
  constructor(private readonly pool: Pool) {}

  onEventsCommitted(listener: () => void): void {
    this.eventsCommitted = listener;
  }

  async tx<T>(body: () => Tx<T>): Promise<T> {
    try {
      return await this.txOnce(body);
    } catch (err) {
      throw storeError(err);
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

  async autocommit<T>(body: () => Tx<T>): Promise<T> {
    const state = { events: false };
    try {
      return await drive(body(), async (op) => {
        const result = await query(this.pool, op);
        if (op.events === true) state.events = true;
        return result;
      });
    } catch (err) {
      throw storeError(err);
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
