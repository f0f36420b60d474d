/**
 * Test support for suites that need MySQL (MariaDB on our machines). Each test file gets its own
 * database, created fresh and dropped afterwards. When MySQL is unreachable such a suite is
 * skipped locally, but under CI=true it fails: CI must never pass by skipping.
 */
import { randomBytes } from "node:crypto";
import mysql from "mysql2/promise";
import { describe } from "vitest";

export const MYSQL_URL = process.env.METRONOME_TEST_MYSQL_URL ?? "mysql://root@127.0.0.1:3306/test";

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

/** A fresh database for one test file; `drop()` removes it. */
export async function createTestDatabase(prefix = "metronome_test"): Promise<{
  name: string;
  url: string;
  drop: () => Promise<void>;
}> {
  const name = `${prefix}_${randomBytes(6).toString("hex")}`;
  const admin = await mysql.createConnection({ uri: MYSQL_URL });
  try {
    await admin.query(`CREATE DATABASE \`${name}\``);
  } finally {
    await admin.end();
  }
  const url = new URL(MYSQL_URL);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    drop: async () => {
      const conn = await mysql.createConnection({ uri: MYSQL_URL });
      try {
        await conn.query(`DROP DATABASE IF EXISTS \`${name}\``);
      } finally {
        await conn.end();
      }
    },
  };
}
