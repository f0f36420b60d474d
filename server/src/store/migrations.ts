/**
 * Whether a store's schema is this build's: drizzle's migrator records each applied migration
 * (its folder time) in `__drizzle_migrations` and applies those newer than the last recorded, so
 * the migrations of this build that are newer than that record are the pending ones.
 */
import { readMigrationFiles } from "drizzle-orm/migrator";
import { migrationsFolder } from "../paths.js";
import { all, type EngineDb } from "./engine/ops.js";

/** How many of this build's migrations the store has not applied. */
export async function pendingMigrations(db: EngineDb): Promise<number> {
  const files = readMigrationFiles({ migrationsFolder: migrationsFolder(db.dialect.name) });
  let last = Number.NEGATIVE_INFINITY;
  try {
    const rows = await db.read(() =>
      all<{ last: unknown }>("SELECT MAX(`created_at`) AS `last` FROM `__drizzle_migrations`"),
    );
    const value = rows[0]?.last;
    if (value !== null && value !== undefined) last = Number(value);
  } catch (err) {
    // No migration table: nothing was ever applied. Anything else (a lost connection) is thrown.
    if (!isMissingTable(err)) throw err;
  }
  return files.filter((f) => f.folderMillis > last).length;
}

function isMissingTable(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown } | null;
  return (
    e?.code === "ER_NO_SUCH_TABLE" ||
    (e?.code === "SQLITE_ERROR" && String(e.message).includes("no such table"))
  );
}
