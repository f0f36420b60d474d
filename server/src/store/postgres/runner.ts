/**
 * Runs the SQL operations (sql/runner.ts) on a postgres.js pool. Statements are the shared
 * MySQL-quoted text rewritten for PostgreSQL (statements.ts) and prepared once per connection.
 * Transactions run in PostgreSQL's default READ COMMITTED; deadlocks are retried; a lost or
 * refused connection surfaces as StoreUnavailableError.
 */
import type postgres from "postgres";
import { isDeadlock, storeError } from "../errors.js";
import { drive, type Op, type SqlRunner, type Tx } from "../sql/runner.js";
import { postgresText } from "./statements.js";

const DEADLOCK_RETRIES = 5;

/** A pool or a transaction's connection. */
type Connection = postgres.Sql | postgres.TransactionSql;

async function query(conn: Connection, op: Op): Promise<unknown> {
  const result = await conn.unsafe(postgresText(op.sql, op.params), op.params as never[], {
    prepare: true,
  });
  return op.kind === "all" ? result : result.count;
}

export class PostgresRunner implements SqlRunner {
  private eventsCommitted: () => void = () => undefined;

  constructor(private readonly sql: postgres.Sql) {}

  onEventsCommitted(listener: () => void): void {
    this.eventsCommitted = listener;
  }

  async tx<T>(body: () => Tx<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const state = { events: false };
      try {
        const value = await this.sql.begin((t) =>
          drive(body(), (op) => {
            if (op.events === true) state.events = true;
            return query(t, op);
          }),
        );
        if (state.events) this.eventsCommitted();
        return value as T;
      } catch (err) {
        if (isDeadlock(err) && attempt < DEADLOCK_RETRIES) continue;
        throw storeError(err);
      }
    }
  }

  async autocommit<T>(body: () => Tx<T>): Promise<T> {
    const state = { events: false };
    try {
      return await drive(body(), async (op) => {
        const result = await query(this.sql, op);
        if (op.events === true) state.events = true;
        return result;
      });
    } catch (err) {
      throw storeError(err);
    } finally {
      if (state.events) this.eventsCommitted();
    }
  }
}
