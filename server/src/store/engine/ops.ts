/**
 * The engine's transactions are written once, as generators that yield SQL statements, and run
 * by a store-specific runner: asynchronously on a MySQL connection, synchronously inside one
 * better-sqlite3 transaction. A transaction body therefore never yields to other JavaScript
 * between its statements on SQLite (whose single connection the API shares), and the SQL of
 * both stores is one text with two small dialect fragments.
 */

export type Param = string | number | null;

export interface Op {
  readonly kind: "all" | "run";
  readonly sql: string;
  readonly params: readonly Param[];
  /** The statement writes events: the runner tells its event listener once they commit. */
  readonly events?: true;
}

/** A transaction body: yields statements, receives their results, returns a value. */
export type Tx<T> = Generator<Op, T, unknown>;

export type Row = Record<string, unknown>;

/** Rows of a SELECT. */
export function* all<T = Row>(sql: string, params: readonly Param[] = []): Tx<T[]> {
  return (yield { kind: "all", sql, params }) as T[];
}

/** The number of rows an INSERT, UPDATE or DELETE changed. */
export function* exec(sql: string, params: readonly Param[] = []): Tx<number> {
  return (yield { kind: "run", sql, params }) as number;
}

export interface Dialect {
  readonly name: "mysql" | "sqlite";
  /** `INSERT IGNORE` / `INSERT OR IGNORE`. */
  readonly insertIgnore: string;
  /** Appended to a SELECT whose rows the transaction claims (empty on SQLite: one writer). */
  readonly lockSkipLocked: string;
  /** Appended to a SELECT of rows the transaction changes. */
  readonly lock: string;
}

export const MYSQL: Dialect = {
  name: "mysql",
  insertIgnore: "INSERT IGNORE",
  lockSkipLocked: " FOR UPDATE SKIP LOCKED",
  lock: " FOR UPDATE",
};

export const SQLITE: Dialect = {
  name: "sqlite",
  insertIgnore: "INSERT OR IGNORE",
  lockSkipLocked: "",
  lock: "",
};

/** Runs transaction bodies against one store. */
export interface EngineDb {
  readonly dialect: Dialect;
  /**
   * Called after a transaction (or statement) that wrote events commits: the event log then
   * gives them their cursors (see events/log.ts). One listener; a later call replaces it.
   */
  onEventsCommitted(listener: () => void): void;
  /** Runs `body` in a transaction (retried on deadlock); its statements commit together. */
  tx<T>(body: () => Tx<T>): Promise<T>;
  /** Runs `body`'s statements outside a transaction (each on its own). */
  read<T>(body: () => Tx<T>): Promise<T>;
}

export function placeholders(n: number): string {
  return Array.from({ length: n }, () => "?").join(", ");
}
