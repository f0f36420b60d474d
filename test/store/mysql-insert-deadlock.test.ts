/**
 * AddJob's inserts on MySQL (store/mysql/hot.ts) are retried when InnoDB picks their transaction
 * as a deadlock's victim, as every other transaction of the store is. Two nodes inserting the
 * same job keys in different orders deadlock: each waits for the other's key. Here the other
 * node is a connection of the test's, holding job B in a transaction made heavier (200 rows of a
 * scratch table) so that InnoDB rolls back the store's batch [A, B] rather than it; once the
 * batch waits for B it inserts A, the deadlock, and rolls back: the batch, retried, inserts both
 * jobs. (Before, both calls failed with the deadlock's error, which the API answered INTERNAL.)
 */
import { randomBytes } from "node:crypto";
import mysql from "mysql2/promise";
import { afterAll, beforeAll, expect, it } from "vitest";
import { MysqlStore } from "../../server/src/store/mysql/store.js";
import { createTestDatabase, describeMysql } from "../support/mysql.js";
import { job } from "./contract/fixtures.js";

describeMysql("MySQL job inserts after a deadlock", () => {
  let drop: () => Promise<void>;
  let store: MysqlStore;
  let other: mysql.Connection;

  beforeAll(async () => {
    const db = await createTestDatabase();
    drop = db.drop;
    store = MysqlStore.open(db.url);
    await store.migrate();
    other = await mysql.createConnection({ uri: db.url });
    await other.query("CREATE TABLE `filler` (`n` INT PRIMARY KEY)");
  });

  afterAll(async () => {
    await other.end();
    await store.close();
    await drop();
  });

  /**
   * Whether the transaction whose statement names `id` waits for a lock, from InnoDB's own status
   * (information_schema's innodb_trx is a cache refreshed only when unread for 0.1 s: polled, it
   * never changes). Other test files' transactions share the database server: only the one
   * inserting `id` counts.
   */
  async function waitsFor(id: string): Promise<boolean> {
    const [rows] = await other.query("SHOW ENGINE INNODB STATUS");
    const status = (rows as { Status: string }[])[0]?.Status ?? "";
    return status
      .split("---TRANSACTION")
      .some((t) => t.includes("LOCK WAIT") && t.includes(`'${id}'`));
  }

  it("inserts a batch whose transaction a deadlock rolled back", async () => {
    // Ids no other transaction of the database server names (its status is searched for them).
    const tag = randomBytes(6).toString("hex");
    const a = `deadlock-a-${tag}`;
    const b = `deadlock-b-${tag}`;
    expect(await store.insertJob(job("seed"))).toBe(true);
    const [columns] = await other.query("SHOW COLUMNS FROM `jobs`");
    const names = (columns as { Field: string }[]).map((c) => `\`${c.Field}\``);
    /** The seed job's row under another id, inserted by the other connection. */
    const copy = (id: string) =>
      other.query(
        `INSERT INTO \`jobs\` (${names.join(", ")}) SELECT ${names
          .map((n) => (n === "`id`" ? "?" : n))
          .join(", ")} FROM \`jobs\` WHERE \`id\` = 'seed'`,
        [id],
      );

    // READ COMMITTED: the copy's read of the seed row takes no locks (in REPEATABLE READ it
    // locks the gap A would go in, and the batch would wait at A rather than at B).
    await other.query("SET TRANSACTION ISOLATION LEVEL READ COMMITTED");
    await other.query("START TRANSACTION");
    await other.query(
      `INSERT INTO \`filler\` (\`n\`) VALUES ${Array.from({ length: 200 }, (_, i) => `(${String(i)})`).join(", ")}`,
    );
    await copy(b);
    // One batch (both calls in one turn): A inserted, then B waits for the other connection.
    const inserts = Promise.all([store.insertJob(job(a)), store.insertJob(job(b))]);
    let polls = 0;
    while (!(await waitsFor(a))) {
      polls++;
      if (polls > 10_000) throw new Error("the batch never waited for B");
    }
    // A is the batch's: waiting for it closes the cycle. InnoDB rolls back the lighter batch,
    // and this insert goes through.
    // The batch holds A: this insert goes through only once InnoDB rolled the batch back.
    await copy(a);
    await other.query("ROLLBACK");
    expect(await inserts).toEqual([true, true]);
    expect((await store.getJob("default", a))?.id).toBe(a);
    expect((await store.getJob("default", b))?.id).toBe(b);
  });
});
