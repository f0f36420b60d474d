/**
 * Where the PostgreSQL store puts its tables and its migration record: both in the connection's
 * current schema (the first schema of its search_path that exists). A role that owns only its
 * schema migrates (no CREATE on the database), two installations in two schemas of one database
 * each have their own, and a database migrated by an earlier version (tables and record in
 * `public`, or the record in `public` beside tables in the current schema) goes on as it is.
 */
import { randomBytes } from "node:crypto";
import { drizzle } from "drizzle-orm/node-postgres";
import { migrate } from "drizzle-orm/node-postgres/migrator";
import pg from "pg";
import { afterEach, expect, it } from "vitest";
import { migrationsFolder } from "../../server/src/paths.js";
import { PostgresStore } from "../../server/src/store/postgres/store.js";
import { job, T0 } from "./contract/fixtures.js";
import { createPostgresDatabase, describePostgres, POSTGRES_URL } from "../support/postgres.js";

/** The number of PostgreSQL migrations of this build. */
const MIGRATIONS = 6;

/** `url` with a user and a search_path of its own (`options`), as an operator would write it. */
function urlOf(url: string, { user, searchPath }: { user?: string; searchPath?: string }): string {
  const u = new URL(url);
  if (user !== undefined) u.username = user;
  if (searchPath !== undefined) u.searchParams.set("options", `-c search_path=${searchPath}`);
  return u.toString();
}

describePostgres("PostgreSQL: the schema of the tables and of their migration record", () => {
  const cleanups: (() => Promise<void>)[] = [];

  afterEach(async () => {
    // Every one runs (a database is dropped even if a store failed to close); the first failure
    // is reported.
    const results = await cleanups
      .splice(0)
      .reverse()
      .reduce<Promise<unknown[]>>(
        async (done, c) => [...(await done), await c().catch((err: unknown) => err)],
        Promise.resolve([]),
      );
    const failed = results.find((r) => r instanceof Error);
    if (failed !== undefined) throw failed;
  });

  async function database(): Promise<{ url: string; admin: pg.Client }> {
    const db = await createPostgresDatabase();
    const admin = new pg.Client({ connectionString: db.url });
    admin.on("error", () => undefined);
    await admin.connect();
    cleanups.push(async () => {
      await admin.end();
      await db.drop();
    });
    return { url: db.url, admin };
  }

  function open(url: string): PostgresStore {
    const store = PostgresStore.open(url);
    cleanups.push(() => store.close());
    return store;
  }

  /** The tables of `schema` (their names, sorted). */
  async function tables(admin: pg.Client, schema: string): Promise<string[]> {
    const { rows } = await admin.query<{ name: string }>(
      "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1",
      [schema],
    );
    return rows.map((r) => r.name);
  }

  async function recorded(admin: pg.Client, schema: string): Promise<number> {
    const { rows } = await admin.query<{ n: string }>(
      `SELECT count(*) AS n FROM ${pg.escapeIdentifier(schema)}.__drizzle_migrations`,
    );
    return Number(rows[0]?.n);
  }

  it("a role that owns only its schema (no CREATE on the database) migrates there and has nothing pending", async () => {
    const { url, admin } = await database();
    const role = `metronome_tenant_${randomBytes(4).toString("hex")}`;
    await admin.query(`CREATE ROLE ${role} LOGIN`);
    cleanups.unshift(async () => {
      // Last, after the database is dropped: the role owns nothing then.
      const server = new pg.Client({ connectionString: POSTGRES_URL });
      await server.connect();
      await server.query(`DROP ROLE IF EXISTS ${role}`);
      await server.end();
    });
    await admin.query(`CREATE SCHEMA tenant_a AUTHORIZATION ${role}`);
    await admin.query(
      `REVOKE CREATE ON DATABASE ${pg.escapeIdentifier(new URL(url).pathname.slice(1))} FROM PUBLIC`,
    );

    const store = open(urlOf(url, { user: role, searchPath: "tenant_a" }));
    expect(await store.pendingMigrations()).toBe(MIGRATIONS);
    await store.migrate();
    expect(await store.pendingMigrations()).toBe(0);
    expect(await tables(admin, "tenant_a")).toEqual(
      expect.arrayContaining(["__drizzle_migrations", "jobs", "runs", "schedulers"]),
    );
    expect(await tables(admin, "public")).toEqual([]);
    expect(await recorded(admin, "tenant_a")).toBe(MIGRATIONS);
    // Again (a node restarting): nothing to do.
    await store.migrate();
    expect(await recorded(admin, "tenant_a")).toBe(MIGRATIONS);
    expect(await store.insertJob(job("tenant-job", { nextRunTime: T0 }))).toBe(true);
    expect((await store.getJob("default", "tenant-job"))?.id).toBe("tenant-job");
  });

  it("two installations in two schemas of one database each get their own tables and record", async () => {
    const { url, admin } = await database();
    await admin.query("CREATE SCHEMA tenant_a");
    await admin.query("CREATE SCHEMA tenant_b");
    const a = open(urlOf(url, { searchPath: "tenant_a" }));
    const b = open(urlOf(url, { searchPath: "tenant_b" }));
    await a.migrate();
    await b.migrate();
    expect(await a.pendingMigrations()).toBe(0);
    expect(await b.pendingMigrations()).toBe(0);
    expect(await tables(admin, "tenant_b")).toEqual(await tables(admin, "tenant_a"));
    expect(await tables(admin, "tenant_a")).toEqual(
      expect.arrayContaining(["__drizzle_migrations", "jobs"]),
    );
    expect(await tables(admin, "public")).toEqual([]);
    expect(await recorded(admin, "tenant_a")).toBe(MIGRATIONS);
    expect(await recorded(admin, "tenant_b")).toBe(MIGRATIONS);

    expect(await a.insertJob(job("only-in-a", { nextRunTime: T0 }))).toBe(true);
    expect(await b.getJob("default", "only-in-a")).toBeNull();
    expect(await b.listSchedulers()).toEqual([]);
  });

  it("by default the tables and the record are in public, as an earlier version left them, which goes on unchanged", async () => {
    const { url, admin } = await database();
    // An earlier version's migration: Drizzle's migrator, its record pinned to public.
    const pool = new pg.Pool({ connectionString: url });
    await migrate(drizzle({ client: pool }), {
      migrationsFolder: migrationsFolder("postgres"),
      migrationsSchema: "public",
    });
    await pool.end();
    const before = await tables(admin, "public");

    const store = open(url);
    expect(await store.pendingMigrations()).toBe(0);
    await store.migrate();
    expect(await tables(admin, "public")).toEqual(before);
    expect(await recorded(admin, "public")).toBe(MIGRATIONS);
    expect(await store.insertJob(job("kept", { nextRunTime: T0 }))).toBe(true);

    // A fresh database, with this version: the same place.
    const fresh = await database();
    const freshStore = open(fresh.url);
    expect(await freshStore.pendingMigrations()).toBe(MIGRATIONS);
    await freshStore.migrate();
    expect(await freshStore.pendingMigrations()).toBe(0);
    expect(await tables(fresh.admin, "public")).toEqual(before);
    expect(await recorded(fresh.admin, "public")).toBe(MIGRATIONS);
  });

  it("tables an earlier version put in the current schema, with their record in public, keep going once migrated", async () => {
    const { url, admin } = await database();
    await admin.query("CREATE SCHEMA tenant_a");
    const appUrl = urlOf(url, { searchPath: "tenant_a" });
    const pool = new pg.Pool({ connectionString: appUrl });
    await migrate(drizzle({ client: pool }), {
      migrationsFolder: migrationsFolder("postgres"),
      migrationsSchema: "public",
    });
    await pool.end();
    expect(await tables(admin, "tenant_a")).toContain("jobs");
    expect(await recorded(admin, "public")).toBe(MIGRATIONS);

    const store = open(appUrl);
    await store.migrate();
    expect(await store.pendingMigrations()).toBe(0);
    expect(await recorded(admin, "tenant_a")).toBe(MIGRATIONS);
    expect(await store.insertJob(job("still-here", { nextRunTime: T0 }))).toBe(true);
  });
});
