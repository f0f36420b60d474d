/**
 * The MySQL sequencer takes the log's end under its lock and reads the batches waiting for a
 * cursor in one round trip (sql/events/sequence-events.ts). A batch that commits after a later
 * one was given its cursor has the lower id: it must still get a cursor above the log's end,
 * which only the end read under the lock tells. The late batch is written here by a transaction
 * of its own, held open on a connection of the test's.
 */
import mysql from "mysql2/promise";
import { afterAll, beforeAll, expect, it } from "vitest";
import { nodeEvent } from "../../server/src/domain/events.js";
import { MysqlStore } from "../../server/src/store/mysql/store.js";
import { createTestDatabase, describeMysql } from "../support/mysql.js";

describeMysql("MySQL sequencer", () => {
  let drop: () => Promise<void>;
  let store: MysqlStore;
  let late: mysql.Connection;

  beforeAll(async () => {
    const db = await createTestDatabase();
    drop = db.drop;
    store = MysqlStore.open(db.url);
    await store.migrate();
    late = await mysql.createConnection({ uri: db.url });
  });

  afterAll(async () => {
    await late.end();
    await store.close();
    await drop();
  });

  it("gives a batch that commits late a cursor after the log's end", async () => {
    await late.query("START TRANSACTION");
    await late.query("INSERT INTO `event_log` (`count`, `time`, `events`) VALUES (1, 1, ?)", [
      JSON.stringify([nodeEvent("scheduler_started", 1, "late")]),
    ]);
    await store.appendEvents([nodeEvent("scheduler_started", 2, "early")]);
    expect(await store.sequenceEvents(500)).toBe(1);
    const before = await store.logState();
    await late.query("COMMIT");
    expect(await store.sequenceEvents(500)).toBe(1);
    const after = await store.logState();
    expect(after.last).toBeGreaterThan(before.last);
    const read = await store.readEvents(0, after.last, 10);
    expect(read.events.map((e) => e.data.nodeId)).toEqual(["early", "late"]);
    expect(read.events.map((e) => e.cursor)).toEqual([before.last, after.last]);
  });
});
