/**
 * A read held to go out with the operation's next statement (sql/runner.ts `allAhead`): on a
 * MySQL connection that takes several statements per query both go in one round trip, in order,
 * and each answer reaches the operation; a runner without that (SQLite, a plain MySQL pool)
 * runs the read at once, with the same answers. An error of a held read surfaces at the next
 * statement, and the transaction is rolled back.
 */
import Database from "better-sqlite3";
import mysql from "mysql2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MysqlRunner, readCommitted } from "../../server/src/store/mysql/runner.js";
import { all, allAhead, exec, type SqlRunner, type Tx } from "../../server/src/store/sql/runner.js";
import { SqliteRunner } from "../../server/src/store/sqlite/runner.js";
import { createTestDatabase, describeMysql } from "../support/mysql.js";

/** Two held reads and a read: answers all three, each in order. */
function* threeReads(): Tx<unknown[][]> {
  const a = yield* allAhead("SELECT 1 AS `v` UNION ALL SELECT 2");
  const b = yield* allAhead("SELECT 3 AS `v`");
  const c = yield* all("SELECT 4 AS `v`");
  return [a.rows, b.rows, c].map((rows) => rows.map((r) => Number(r.v)));
}

describeMysql("held reads on MySQL", () => {
  let drop: () => Promise<void>;
  let uri: string;
  const pools: mysql.Pool[] = [];
  /** The queries (round trips) each pool's connections were sent, by pool. */
  const sent = new Map<mysql.Pool, string[]>();

  function pool(pipelined: boolean): mysql.Pool {
    const p = readCommitted(
      mysql.createPool({ uri, connectionLimit: 1, multipleStatements: pipelined }),
    );
    const log: string[] = [];
    p.on("connection", (conn) => {
      const query = conn.query.bind(conn) as (...args: unknown[]) => unknown;
      (conn as unknown as { query: (...args: unknown[]) => unknown }).query = (...args) => {
        log.push(String(args[0]));
        return query(...args);
      };
    });
    sent.set(p, log);
    pools.push(p);
    return p;
  }

  beforeAll(async () => {
    const db = await createTestDatabase();
    drop = db.drop;
    uri = db.url;
  });

  afterAll(async () => {
    await Promise.all(
      pools.map(
        (p) =>
          new Promise((resolve) => {
            p.end(resolve);
          }),
      ),
    );
    await drop();
  });

  it("go with the next statement on a pipelined connection: one round trip", async () => {
    const p = pool(true);
    const runner = new MysqlRunner(p, true);
    expect(await runner.tx(threeReads)).toEqual([[1, 2], [3], [4]]);
    const log = sent.get(p) ?? [];
    const reads = log.filter((q) => q.includes("SELECT 1 AS"));
    expect(reads).toHaveLength(1);
    expect(reads[0]).toContain("SELECT 3 AS");
    expect(reads[0]).toContain("SELECT 4 AS");
  });

  it("run at once where the connection takes one statement at a time", async () => {
    const p = pool(false);
    const runner = new MysqlRunner(p, false);
    expect(await runner.tx(threeReads)).toEqual([[1, 2], [3], [4]]);
    expect((sent.get(p) ?? []).filter((q) => q.startsWith("SELECT"))).toHaveLength(3);
    expect(await runner.autocommit(threeReads)).toEqual([[1, 2], [3], [4]]);
  });

  it("fail at the next statement when the held read fails, and the transaction rolls back", async () => {
    const p = pool(true);
    const runner = new MysqlRunner(p, true);
    await runner.tx(function* () {
      yield* exec("CREATE TABLE IF NOT EXISTS `held` (`n` INT)");
    });
    const failing = runner.tx(function* () {
      yield* exec("INSERT INTO `held` VALUES (1)");
      yield* allAhead("SELECT `missing` FROM `held`");
      yield* all("SELECT 1 AS `v`");
    });
    await expect(failing).rejects.toThrow(/missing/);
    const rows = await runner.autocommit(() => all("SELECT COUNT(*) AS `n` FROM `held`"));
    expect(Number(rows[0]?.n)).toBe(0);
  });
});

describe("held reads on SQLite", () => {
  let db: Database.Database;
  let runner: SqlRunner;

  beforeAll(() => {
    db = new Database(":memory:");
    runner = new SqliteRunner(db);
  });

  afterAll(() => {
    db.close();
  });

  it("run at once, with the same answers", async () => {
    expect(await runner.tx(threeReads)).toEqual([[1, 2], [3], [4]]);
    expect(await runner.autocommit(threeReads)).toEqual([[1, 2], [3], [4]]);
  });
});
