/**
 * Test support for suites that run on PostgreSQL: a store's PostgreSQL half, and several nodes
 * on one database. Each test file gets its own database, created fresh and dropped afterwards.
 * When PostgreSQL is unreachable such a suite is skipped locally with a line saying what it needs
 * (test/support/requirements.ts), but under CI=true it fails: CI must never pass by skipping.
 */
import pg from "pg";
import { POSTGRES_URL } from "./database.js";
import { describeIf, requireUnderCi, type Requirement } from "./requirements.js";

export { POSTGRES_URL, createPostgresDatabase } from "./database.js";

let reachable: Promise<boolean> | undefined;

/** Whether the test PostgreSQL server answers (asked once per test file). */
export function postgresReachable(): Promise<boolean> {
  reachable ??= (async () => {
    const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 2000 });
    client.on("error", () => undefined);
    try {
      await client.connect();
      await client.query("SELECT 1");
      return true;
    } catch {
      return false;
    } finally {
      await client.end().catch(() => undefined);
    }
  })();
  return reachable;
}

/** The server of POSTGRES_URL, without its password or database: `postgres://postgres@127.0.0.1:5432`. */
function server(url: string): string {
  const u = new URL(url);
  return `${u.protocol}//${u.username === "" ? "" : `${u.username}@`}${u.host}`;
}

export const POSTGRES: Requirement = {
  met: await postgresReachable(),
  needs:
    `needs PostgreSQL at ${server(POSTGRES_URL)} (set METRONOME_TEST_POSTGRES_URL, or start ` +
    "PostgreSQL: pg_ctlcluster 15 main start)",
};
requireUnderCi(POSTGRES);

/** `describe` for a suite that needs PostgreSQL: skipped with a line saying so, except under CI=true. */
export function describePostgres(name: string, body: () => void): void {
  describeIf(POSTGRES, name, body);
}
