/**
 * The PostgreSQL schema's migrations, applied as Drizzle's migrator applies them (the same files,
 * the same record: `__drizzle_migrations` with each migration's hash and folder time, every
 * pending migration in one transaction), with the record kept beside the tables: in the
 * connection's current schema (`current_schema()`, the first schema of its `search_path` that
 * exists), not in a schema of its own.
 *
 * Drizzle's own migrator starts with `CREATE SCHEMA IF NOT EXISTS`, which PostgreSQL refuses to a
 * role without the CREATE privilege on the database even when the schema exists: a role that
 * owns only its schema (least privilege) could not migrate. Here nothing is created outside
 * the current schema.
 */
import { readMigrationFiles } from "drizzle-orm/migrator";
import pg from "pg";
import { migrationsFolder } from "../../paths.js";

/** The record's table (Drizzle's name, so that databases migrated by Drizzle's migrator go on). */
export const MIGRATIONS_TABLE = "__drizzle_migrations";

/** Said when no schema of the search_path exists (current_schema() is null). */
export const NO_SCHEMA =
  "no schema of the connection's search_path exists: create it, or set search_path to one";

/** The schema new tables go to on `client`'s connection (its current schema). */
async function currentSchema(client: pg.ClientBase): Promise<string> {
  const { rows } = await client.query<{ schema: string | null }>(
    "SELECT current_schema() AS schema",
  );
  const schema = rows[0]?.schema ?? null;
  if (schema === null) throw new Error(NO_SCHEMA);
  return schema;
}

/**
 * Applies the migrations newer than the last one recorded, in one transaction, on `client` (a
 * connection of its own: the caller holds the migration lock). Answers how many it applied.
 */
export async function applyMigrations(client: pg.ClientBase): Promise<number> {
  const schema = await currentSchema(client);
  const record = `${pg.escapeIdentifier(schema)}.${pg.escapeIdentifier(MIGRATIONS_TABLE)}`;
  await adoptPublicRecord(client, schema);
  await client.query(
    `CREATE TABLE IF NOT EXISTS ${record} (id SERIAL PRIMARY KEY, hash text NOT NULL, created_at bigint)`,
  );
  const { rows } = await client.query<{ created_at: string | null }>(
    `SELECT created_at FROM ${record} ORDER BY created_at DESC LIMIT 1`,
  );
  const last = rows[0]?.created_at;
  const lastMillis = last === undefined || last === null ? Number.NEGATIVE_INFINITY : Number(last);
  const pending = readMigrationFiles({ migrationsFolder: migrationsFolder("postgres") }).filter(
    (m) => m.folderMillis > lastMillis,
  );
  if (pending.length === 0) return 0;
  await client.query("BEGIN");
  try {
    for (const migration of pending) {
      for (const statement of migration.sql) await client.query(statement);
      await client.query(`INSERT INTO ${record} (hash, created_at) VALUES ($1, $2)`, [
        migration.hash,
        migration.folderMillis,
      ]);
    }
    await client.query("COMMIT");
  } catch (err) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw err;
  }
  return pending.length;
}

/**
 * Earlier versions kept the record in `public` whatever the current schema: where the
 * tables are in the current schema with no record beside them and `public` has one, that record
 * is theirs, and is copied beside them (once; `public`'s stays for any other installation).
 */
async function adoptPublicRecord(client: pg.ClientBase, schema: string): Promise<void> {
  if (schema === "public") return;
  const q = (name: string) => `${pg.escapeIdentifier(schema)}.${pg.escapeIdentifier(name)}`;
  const { rows } = await client.query<{
    record: string | null;
    jobs: string | null;
    old: string | null;
  }>("SELECT to_regclass($1) AS record, to_regclass($2) AS jobs, to_regclass($3) AS old", [
    q(MIGRATIONS_TABLE),
    q("jobs"),
    `public.${pg.escapeIdentifier(MIGRATIONS_TABLE)}`,
  ]);
  const found = rows[0];
  if (found === undefined || found.record !== null || found.jobs === null || found.old === null)
    return;
  await client.query("BEGIN");
  try {
    await client.query(
      `CREATE TABLE ${q(MIGRATIONS_TABLE)} (id SERIAL PRIMARY KEY, hash text NOT NULL, created_at bigint)`,
    );
    await client.query(
      `INSERT INTO ${q(MIGRATIONS_TABLE)} (hash, created_at) SELECT hash, created_at FROM public.${pg.escapeIdentifier(MIGRATIONS_TABLE)} ORDER BY id`,
    );
    await client.query("COMMIT");
  } catch (err) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw err;
  }
}
