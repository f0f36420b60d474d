/** The few fragments in which the SQL of MySQL/MariaDB and SQLite differ. */
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
