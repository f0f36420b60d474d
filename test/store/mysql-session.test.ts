/**
 * The settings of the MySQL store's sessions on MariaDB: READ COMMITTED, and a 30 s limit on a
 * session idle inside a transaction (`idle_transaction_timeout`, MariaDB 10.3+), after which the
 * server ends it and frees the row locks of a node cut off mid-transaction. (MySQL has no such
 * variable: there the store goes on without it.)
 */
import type { Pool } from "mysql2";
import { afterAll, beforeAll, expect, it } from "vitest";
import { IDLE_TRANSACTION_TIMEOUT_S } from "../../server/src/store/mysql/runner.js";
import { MysqlStore } from "../../server/src/store/mysql/store.js";
import { createTestDatabase, describeMysql } from "../support/mysql.js";

/** A session's idle transaction limit (MariaDB; MySQL has none) and isolation level. */
async function sessionOf(
  pool: Pool,
): Promise<{ mariadb: boolean; idle: unknown; isolation: unknown }> {
  const db = pool.promise();
  const [version] = await db.query("SELECT VERSION() AS v");
  const mariadb = String((version as { v: string }[])[0]?.v).includes("MariaDB");
  const [rows] = await db.query(
    mariadb
      ? "SELECT @@SESSION.idle_transaction_timeout AS idle, @@SESSION.tx_isolation AS isolation"
      : "SELECT NULL AS idle, @@SESSION.transaction_isolation AS isolation",
  );
  const row = (rows as { idle: unknown; isolation: unknown }[])[0];
  return { mariadb, idle: row?.idle, isolation: row?.isolation };
}

describeMysql("MySQL: the store's session settings", () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let store: MysqlStore;

  beforeAll(async () => {
    db = await createTestDatabase();
    store = MysqlStore.open(db.url);
    await store.migrate();
  });

  afterAll(async () => {
    await store.close();
    await db.drop();
  });

  it("every pool's sessions end a transaction left idle for 30 s (MariaDB), in READ COMMITTED", async () => {
    expect(IDLE_TRANSACTION_TIMEOUT_S).toBe(30);
    const { apiPool, pools } = store as unknown as {
      apiPool: Pool;
      pools: { engine: Pool; events: Pool };
    };
    for (const pool of [apiPool, pools.engine, pools.events]) {
      const session = await sessionOf(pool);
      expect(session).toEqual({
        mariadb: session.mariadb,
        idle: session.mariadb ? 30 : null,
        isolation: "READ-COMMITTED",
      });
    }
  });
});
