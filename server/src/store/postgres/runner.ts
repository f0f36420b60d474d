/**
 * Runs the SQL operations (sql/runner.ts) on a node-postgres pool. Statements are the shared
 * MySQL-quoted text rewritten for PostgreSQL (statements.ts) and prepared once per connection
 * (named after their text). Transactions run in PostgreSQL's default READ COMMITTED; deadlocks
 * are retried; a lost or refused connection surfaces as StoreUnavailableError, and a connection
 * that failed in a transaction is discarded rather than reused. Within an API call, checkout and
 * statements are bounded by the call's deadline (bounded.ts): past it the connection is closed,
 * so PostgreSQL rolls the transaction back, and no COMMIT is sent after it.
 */
import { createHash } from "node:crypto";
import type { Pool, PoolClient } from "pg";
import { timeLeft } from "../../lib/deadline.js";
import { bounded } from "../bounded.js";
import { StoreTimeoutError, isDeadlock, storeError } from "../errors.js";
import type { EventDraft } from "../../domain/events.js";
import {
  drive,
  type CommittedEventsListener,
  type Op,
  type SqlRunner,
  type Tx,
} from "../sql/runner.js";
import { postgresText } from "./statements.js";

const DEADLOCK_RETRIES = 5;

/** Prepared statements are named after their text (the same name on every connection). */
const names = new Map<string, string>();

function statementName(text: string): string {
  let name = names.get(text);
  if (name === undefined) {
    name = `m${createHash("sha1").update(text).digest("hex").slice(0, 20)}`;
    if (names.size >= 5000) names.clear();
    names.set(text, name);
  }
  return name;
}

async function query(conn: Pool | PoolClient, op: Op): Promise<unknown> {
  const text = postgresText(op.sql, op.params);
  const result = await conn.query({ name: statementName(text), text, values: [...op.params] });
  return op.kind === "all" ? result.rows : (result.rowCount ?? 0);
}

export class PostgresRunner implements SqlRunner {
  private eventsCommitted: CommittedEventsListener = () => undefined;

  constructor(private readonly pool: Pool) {}

  onEventsCommitted(listener: CommittedEventsListener): void {
    this.eventsCommitted = listener;
  }

  async tx<T>(body: () => Tx<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.txOnce(body);
      } catch (err) {
        if (isDeadlock(err) && attempt < DEADLOCK_RETRIES) continue;
        throw storeError(err);
      }
    }
  }

  private async txOnce<T>(body: () => Tx<T>): Promise<T> {
    if (timeLeft() <= 0) throw new StoreTimeoutError();
    const waiting = { late: false };
    const conn = await bounded(
      this.pool.connect().then((c) => {
        if (waiting.late) c.release();
        return c;
      }),
      () => {
        waiting.late = true;
      },
    );
    const state: { broken: boolean; events: EventDraft[] } = { broken: false, events: [] };
    // The connection dropping while checked out emits "error" on it (the statement under way
    // fails too); without a listener the error would end the process.
    const lost = (): void => {
      state.broken = true;
    };
    conn.on("error", lost);
    // Late: the connection is closed in `finally` (release(true)), which rolls back.
    const run = <T>(work: Promise<T>) => bounded(work, lost);
    try {
      await run(conn.query("BEGIN"));
      const value = await drive(body(), (op) => {
        if (op.events !== undefined) for (const e of op.events) state.events.push(e);
        return run(query(conn, op));
      });
      if (timeLeft() <= 0) throw new StoreTimeoutError();
      await run(conn.query("COMMIT"));
      if (state.events.length > 0) this.eventsCommitted(state.events);
      return value;
    } catch (err) {
      if (!state.broken)
        await conn.query("ROLLBACK").catch(() => {
          state.broken = true;
        });
      throw err;
    } finally {
      conn.off("error", lost);
      // A connection that was lost or whose ROLLBACK failed is not given to anyone else.
      conn.release(state.broken);
    }
  }

  async autocommit<T>(body: () => Tx<T>): Promise<T> {
    const state: { events: EventDraft[] } = { events: [] };
    try {
      if (timeLeft() <= 0) throw new StoreTimeoutError();
      return await drive(body(), async (op) => {
        // A pool query cannot be withdrawn; past the deadline its answer is not waited for.
        const result = await bounded(query(this.pool, op), () => undefined);
        if (op.events !== undefined) for (const e of op.events) state.events.push(e);
        return result;
      });
    } catch (err) {
      throw storeError(err);
    } finally {
      if (state.events.length > 0) this.eventsCommitted(state.events);
    }
  }
}
