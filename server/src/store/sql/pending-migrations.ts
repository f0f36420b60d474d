/**
 * Whether a store's schema is this build's: drizzle's migrator records each applied migration
 * (its folder time) in `__drizzle_migrations` and applies those newer than the last recorded, so
 * the migrations of this build that are newer than that record are the pending ones.
 */
import { readMigrationFiles } from "drizzle-orm/migrator";
import { migrationsFolder } from "../../paths.js";
import { errorCode } from "../errors.js";
import type { Dialect } from "./dialect.js";
import { all, type Tx } from "./runner.js";

/**
 * The time of the newest migration applied (-Infinity: none, or no migration table yet).
 * `schema`: the schema of the record on PostgreSQL (beside the tables, postgres/migrate.ts);
 * without it, the connection's database (MySQL, SQLite).
 */
export function* lastMigration(schema?: string): Tx<number> {
  // The runner turns backticks into PostgreSQL's double quotes, doubled inside a name; a
  // backtick, quote or question mark in it would be read as syntax.
  if (schema !== undefined && /[`'?]/.test(schema))
    throw new Error(`a schema name with a backtick, quote or question mark: ${schema}`);
  const table =
    schema === undefined
      ? "`__drizzle_migrations`"
      : `\`${schema.replaceAll('"', '""')}\`.\`__drizzle_migrations\``;
  const rows = yield* all<{ last: unknown }>(
    `SELECT MAX(\`created_at\`) AS \`last\` FROM ${table}`,
  );
  const value = rows[0]?.last;
  return value === null || value === undefined ? Number.NEGATIVE_INFINITY : Number(value);
}

/** How many of this build's migrations are newer than `last` (see lastMigration). */
export function migrationsAfter(dialect: Dialect["name"], last: number): number {
  const files = readMigrationFiles({ migrationsFolder: migrationsFolder(dialect) });
  return files.filter((f) => f.folderMillis > last).length;
}

/** No migration table: nothing was ever applied. Anything else (a lost connection) is not. */
export function isMissingTable(err: unknown): boolean {
  const code = errorCode(err);
  return (
    code === "ER_NO_SUCH_TABLE" ||
    code === "42P01" || // PostgreSQL's undefined_table
    (code === "SQLITE_ERROR" &&
      String((err as { message?: unknown }).message).includes("no such table"))
  );
}
