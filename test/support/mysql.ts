/**
 * Test support for suites that need MySQL (MariaDB on our machines). Each test file gets its own
 * database, created fresh and dropped afterwards. When MySQL is unreachable such a suite is
 * skipped locally, but under CI=true it fails: CI must never pass by skipping.
 */
import mysql from "mysql2/promise";
import { describe } from "vitest";
import { MYSQL_URL } from "./database.js";

export { MYSQL_URL, createTestDatabase } from "./database.js";

let reachable: Promise<boolean> | undefined;

/** Whether the test MySQL server answers (asked once per test file). */
export function mysqlReachable(): Promise<boolean> {
  reachable ??= mysql
    .createConnection({ uri: MYSQL_URL, connectTimeout: 2000 })
    .then(async (conn) => {
      await conn.end();
      return true;
    })
    .catch(() => false);
  return reachable;
}

const available = await mysqlReachable();
if (!available && process.env.CI === "true") {
  throw new Error(`MySQL is required under CI=true but ${MYSQL_URL} is unreachable`);
}

/** `describe` for a suite that needs MySQL: skipped without it, except under CI=true. */
export function describeMysql(name: string, body: () => void): void {
  if (available) describe(name, body);
  else describe.skip(name, body);
}
