/**
 * The few fragments in which the SQL of MySQL/MariaDB, SQLite and PostgreSQL differ. Statements
 * are written in MySQL's quoting (backticks, `?`); the PostgreSQL runner rewrites both
 * (postgres/statements.ts).
 */
export interface Dialect {
  readonly name: "mysql" | "sqlite" | "postgres";
  /** `INSERT IGNORE` / `INSERT OR IGNORE` / `INSERT` (with `onConflictIgnore`). */
  readonly insertIgnore: string;
  /** Appended to an `insertIgnore` statement: PostgreSQL's `ON CONFLICT DO NOTHING`. */
  readonly onConflictIgnore: string;
  /** Appended to a SELECT whose rows the transaction claims (empty on SQLite: one writer). */
  readonly lockSkipLocked: string;
  /** Appended to a SELECT of rows the transaction changes. */
  readonly lock: string;
}

export const MYSQL: Dialect = {
  name: "mysql",
  insertIgnore: "INSERT IGNORE",
  onConflictIgnore: "",
  lockSkipLocked: " FOR UPDATE SKIP LOCKED",
  lock: " FOR UPDATE",
};

export const SQLITE: Dialect = {
  name: "sqlite",
  insertIgnore: "INSERT OR IGNORE",
  onConflictIgnore: "",
  lockSkipLocked: "",
  lock: "",
};

export const POSTGRES: Dialect = {
  name: "postgres",
  insertIgnore: "INSERT",
  onConflictIgnore: " ON CONFLICT DO NOTHING",
  lockSkipLocked: " FOR UPDATE SKIP LOCKED",
  lock: " FOR UPDATE",
};
