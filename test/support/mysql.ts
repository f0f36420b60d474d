/**
 * Test support for suites that need MySQL (MariaDB on our machines): a store's MySQL half, error
 * paths that cut the database connection, and several nodes on one database. Each test file gets
 * its own database, created fresh and dropped afterwards. When MySQL is unreachable such a suite
 * is skipped locally with a line saying what it needs (test/support/requirements.ts), but under
 * CI=true it fails: CI must never pass by skipping.
 */
import mysql from "mysql2/promise";
import { describe } from "vitest";
import { createTestDatabase, MYSQL_URL } from "./database.js";
import { createPostgresDatabase, describePostgres } from "./postgres.js";
import { createRedisStore, describeRedis } from "./redis.js";
import { describeRedisCluster, startRedisCluster } from "./redis-cluster.js";
import { describeIf, requireUnderCi, type Requirement } from "./requirements.js";
import { createSqliteStore, type TestStore } from "./stores.js";

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

/** The server of MYSQL_URL, without its password or database: `mysql://root@127.0.0.1:3306`. */
function server(url: string): string {
  const u = new URL(url);
  return `${u.protocol}//${u.username === "" ? "" : `${u.username}@`}${u.host}`;
}

export const MYSQL: Requirement = {
  met: await mysqlReachable(),
  needs:
    `needs MySQL/MariaDB at ${server(MYSQL_URL)} (set METRONOME_TEST_MYSQL_URL, or start ` +
    "MariaDB: start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd)",
};
requireUnderCi(MYSQL);

/** `describe` for a suite that needs MySQL: skipped with a line saying so, except under CI=true. */
export function describeMysql(name: string, body: () => void): void {
  describeIf(MYSQL, name, body);
}

/** A store on a three-master Redis Cluster started for it; `drop()` stops the cluster. */
async function createRedisClusterStore(): Promise<TestStore> {
  const cluster = await startRedisCluster();
  return { url: `${cluster.url}?prefix=metronome_test:`, drop: () => cluster.stop() };
}

/**
 * The suite `body` once per store: `<name> on SQLite`, `<name> on MariaDB`, `<name> on
 * PostgreSQL` and `<name> on Redis` (each database half skipped with a line saying so where its server does not
 * answer, failing under CI=true), and with `cluster: true` `<name> on a Redis Cluster` (three
 * masters started for it). `body` creates its store with the function it is given, in its
 * `beforeAll`.
 */
export function describeEachStore(
  name: string,
  body: (createStore: () => Promise<TestStore>) => void,
  options: { readonly cluster?: boolean } = {},
): void {
  describe(`${name} on SQLite`, () => {
    body(() => createSqliteStore());
  });
  describeMysql(`${name} on MariaDB`, () => {
    body(() => createTestDatabase());
  });
  describePostgres(`${name} on PostgreSQL`, () => {
    body(() => createPostgresDatabase());
  });
  describeRedis(`${name} on Redis`, () => {
    body(() => createRedisStore());
  });
  if (options.cluster === true) {
    describeRedisCluster(`${name} on a Redis Cluster`, () => {
      body(createRedisClusterStore);
    });
  }
}
