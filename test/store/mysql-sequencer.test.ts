/**
 * The MySQL sequencer takes the log's end under its lock and reads the batches waiting for a
 * cursor in one round trip (sql/events/sequence-events.ts). A batch that commits after a later
 * one was given its cursor has the lower id: it must still get a cursor above the log's end,
 * which only the end read under the lock tells. The late batch is written here by a transaction
 * of its own, held open on a connection of the test's.
 *
 * Every transaction of a node and AddJob's inserts give their own events cursors as they commit,
 * under the same lock (sql/events/sequence-at-commit.ts): what they say they sequenced must be
 * what a reader of the log reads after the end they name, with two nodes and the sequencer
 * writing at once.
 */
import mysql from "mysql2/promise";
import { afterAll, beforeAll, expect, it } from "vitest";
import { nodeEvent, type EventDraft } from "../../server/src/domain/events.js";
import type { Sequenced } from "../../server/src/store/port.js";
import { MysqlStore } from "../../server/src/store/mysql/store.js";
import { createPool } from "mysql2";
import { appendEvents } from "../../server/src/store/sql/events/append-events.js";
import { all, type SequencedRows } from "../../server/src/store/sql/runner.js";
import { MysqlRunner } from "../../server/src/store/mysql/runner.js";
import { createTestDatabase, describeMysql } from "../support/mysql.js";
import { job, S, T0 } from "./contract/fixtures.js";

const node = (time: number, nodeId: string): EventDraft =>
  nodeEvent("scheduler_started", time, nodeId);

describeMysql("MySQL sequencer", () => {
  let drop: () => Promise<void>;
  let url: string;
  let store: MysqlStore;
  let late: mysql.Connection;

  beforeAll(async () => {
    const db = await createTestDatabase();
    drop = db.drop;
    url = db.url;
    store = MysqlStore.open(db.url);
    await store.migrate();
    late = await mysql.createConnection({ uri: db.url });
  });

  afterAll(async () => {
    await late.end();
    await store.close();
    await drop();
  });

  /** What each commit of `s` said it sequenced, and whether each commit said it sequenced. */
  function listen(s: MysqlStore, wants: () => boolean = () => true) {
    const sequenced: Sequenced[] = [];
    const commits: boolean[] = [];
    s.onEventsSequenced((q) => sequenced.push(q), wants);
    s.onEventsCommitted((_, atCommit) => commits.push(atCommit));
    return { sequenced, commits };
  }

  /** Every event of the log, read from the start. */
  async function everything() {
    return (await store.readEvents(0, (await store.logState()).last, 100_000)).events;
  }

  it("sequences at commit where the database writes no binary log", async () => {
    const [rows] = await late.query("SELECT @@log_bin AS `on`");
    expect(store.sequencesAtCommit).toBe(Number((rows as { on: number }[])[0]?.on) === 0);
    // Not before one of its connections asked.
    const fresh = MysqlStore.open(url);
    expect(fresh.sequencesAtCommit).toBe(false);
    await fresh.ping();
    expect(fresh.sequencesAtCommit).toBe(store.sequencesAtCommit);
    await fresh.close();
  });

  it("gives a batch that commits late a cursor after the log's end", async () => {
    await late.query("START TRANSACTION");
    await late.query("INSERT INTO `event_log` (`count`, `time`, `events`) VALUES (1, 1, ?)", [
      JSON.stringify([nodeEvent("scheduler_started", 1, "late")]),
    ]);
    // Written as the API's transactions and older nodes write them: without a cursor.
    const early = await mysql.createConnection({ uri: url });
    await early.query("INSERT INTO `event_log` (`count`, `time`, `events`) VALUES (1, 2, ?)", [
      JSON.stringify([nodeEvent("scheduler_started", 2, "early")]),
    ]);
    await early.end();
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

  it("an engine transaction, AddJob's insert and a job update give their events cursors as they commit, and say so", async (ctx) => {
    // With a binary log the store leaves every row to the sequencer (sequence-at-commit.ts).
    if (!store.sequencesAtCommit) {
      ctx.skip();
      return;
    }
    while ((await store.sequenceEvents(500)) > 0);
    const heard = listen(store);
    const end = (await store.logState()).last;
    await store.appendEvents([node(T0, "c1"), node(T0, "c2")]);
    expect(await store.hasUnsequenced()).toBe(false);
    const afterFirst = (await store.logState()).last;
    await store.insertJob(job("at-commit", { scheduler: "seq" }), [
      { ...node(T0 + S, "added"), type: "job_added" },
    ]);
    expect(await store.hasUnsequenced()).toBe(false);
    expect(await store.sequenceEvents(500)).toBe(0);
    const [first, second] = heard.sequenced;
    expect(heard.sequenced).toHaveLength(2);
    expect(first).toMatchObject({ count: 1, after: end });
    expect(second).toMatchObject({ count: 1, after: afterFirst });
    // Exactly what a reader of the log gets after the end each one names.
    const state = await store.logState();
    expect(first?.events).toEqual((await store.readEvents(end, afterFirst, 100)).events);
    expect(second?.events).toEqual((await store.readEvents(afterFirst, state.last, 100)).events);
    expect(first?.events.map((e) => e.data.nodeId)).toEqual(["c1", "c2"]);
    expect(second?.events.map((e) => e.cursor)).toEqual([state.last]);
    expect(heard.commits).toEqual([true, true]);
    // And so do the management API's transactions.
    await store.updateJob(
      "seq",
      "at-commit",
      (c) => ({ ...c, version: c.version + 1 }),
      undefined,
      () => [node(T0 + 2 * S, "updated")],
    );
    expect(heard.commits).toEqual([true, true, true]);
    expect(heard.sequenced.at(-1)?.events.map((e) => e.data.nodeId)).toEqual(["updated"]);
    expect(await store.hasUnsequenced()).toBe(false);
    expect((await everything()).map((e) => e.data.nodeId).slice(-4)).toEqual([
      "c1",
      "c2",
      "added",
      "updated",
    ]);
  });

  it("a sequencer that reads its rows answers the events written without cursors, after the log's end", async (ctx) => {
    // With a binary log the store leaves every row to the sequencer (sequence-at-commit.ts).
    if (!store.sequencesAtCommit) {
      ctx.skip();
      return;
    }
    // As older nodes write them (and any transaction whose event rows went out before its
    // commit): with cursor NULL.
    const unsequenced = async (events: EventDraft[]) => {
      await late.query("INSERT INTO `event_log` (`count`, `time`, `events`) VALUES (?, 1, ?)", [
        events.length,
        JSON.stringify(events),
      ]);
    };
    while ((await store.sequenceEvents(500)) > 0);
    const end = (await store.logState()).last;
    await unsequenced([node(T0, "r1"), node(T0, "r2")]);
    await unsequenced([node(T0 + S, "r3")]);
    expect(await store.hasUnsequenced()).toBe(true);
    const first = await store.sequenceEventsRead(500);
    expect(first).toMatchObject({ count: 2, after: end });
    const state = await store.logState();
    expect(first.events).toEqual((await store.readEvents(end, state.last, 100)).events);
    expect(first.events.map((e) => e.data.nodeId)).toEqual(["r1", "r2", "r3"]);
    // Then a commit's own, after them.
    const heard = listen(store);
    await store.appendEvents([node(T0 + 2 * S, "r4")]);
    expect(heard.sequenced.map((q) => q.after)).toEqual([state.last]);
    expect(await store.sequenceEventsRead(500)).toMatchObject({ count: 0, events: [] });
  });

  it("a commit that waited for the lock names the end the holder left", async (ctx) => {
    // With a binary log the store leaves every row to the sequencer (sequence-at-commit.ts).
    if (!store.sequencesAtCommit) {
      ctx.skip();
      return;
    }
    while ((await store.sequenceEvents(500)) > 0);
    const heard = listen(store);
    // Another node's commit holds the lock while this one's (AddJob's insert, with the worker
    // count read before the lock as the API asks for it; then an engine transaction) waits.
    for (const write of [
      () =>
        store.insertJobServed(
          job("waited", { scheduler: "seq" }),
          [{ ...node(T0, "waited-add"), type: "job_added" }],
          T0,
          "some-node",
        ),
      () => store.appendEvents([node(T0, "waited-append")]),
    ]) {
      await late.query("START TRANSACTION");
      const [rows] = await late.query(
        "SELECT `value` FROM `event_log_state` WHERE `name` = 'last' FOR UPDATE",
      );
      const held = Number((rows as { value: number }[])[0]?.value);
      const waiting = write();
      // Its statements are under way (the count read first), waiting for the lock, before
      // the holder commits.
      for (;;) {
        const [list] = await late.query(
          "SELECT COUNT(*) AS `n` FROM information_schema.PROCESSLIST WHERE `INFO` LIKE CONCAT('SELECT `value` INTO @', 'metronome_last%')",
        );
        if (Number((list as { n: number }[])[0]?.n) > 0) break;
        await new Promise((resolve) => setImmediate(resolve));
      }
      await late.query(
        "INSERT INTO `event_log` (`cursor`, `count`, `time`, `events`) VALUES (?, 2, 1, ?)",
        [held + 1, JSON.stringify([node(1, "holder-1"), node(1, "holder-2")])],
      );
      await late.query("UPDATE `event_log_state` SET `value` = ? WHERE `name` = 'last'", [
        held + 1,
      ]);
      await late.query("COMMIT");
      await waiting;
      const told = heard.sequenced.at(-1);
      const holderEnd = (await store.readEvents(0, (await store.logState()).last, 10_000)).events
        .filter((e) => e.data.nodeId === "holder-2")
        .at(-1)?.cursor;
      expect(told?.after).toBe(holderEnd);
    }
    expect(heard.sequenced.map((q) => q.events.map((e) => e.data.nodeId))).toEqual([
      ["waited-add"],
      ["waited-append"],
    ]);
  });

  it("a listener that does not want the events hears what was sequenced without them", async (ctx) => {
    // With a binary log the store leaves every row to the sequencer (sequence-at-commit.ts).
    if (!store.sequencesAtCommit) {
      ctx.skip();
      return;
    }
    const other = MysqlStore.open(url);
    try {
      await other.migrate();
      const heard = listen(other, () => false);
      const end = (await store.logState()).last;
      await other.appendEvents([node(T0, "unread")]);
      expect(heard.sequenced).toEqual([{ count: 1, after: end, events: [] }]);
    } finally {
      await other.close();
    }
  });

  it("more events than a row holds get consecutive rows, all told", async (ctx) => {
    // With a binary log the store leaves every row to the sequencer (sequence-at-commit.ts).
    if (!store.sequencesAtCommit) {
      ctx.skip();
      return;
    }
    const heard = listen(store);
    const end = (await store.logState()).last;
    const many = Array.from({ length: 1500 }, (_, i) => node(T0 + i, `many-${String(i)}`));
    await store.appendEvents(many);
    const [told] = heard.sequenced;
    expect(told).toMatchObject({ count: 2, after: end });
    expect(told?.events.map((e) => e.data.nodeId)).toEqual(many.map((e) => e.data.nodeId));
    expect(told?.events).toEqual(
      (await store.readEvents(end, (await store.logState()).last, 10_000)).events,
    );
  });

  it("a transaction whose events went out before its commit leaves them to the sequencer", async () => {
    const pool = createPool({ uri: url, multipleStatements: true });
    try {
      const runner = new MysqlRunner(pool, true, () => true);
      const told: (SequencedRows | undefined)[] = [];
      runner.onEventsCommitted((_, sequenced) => told.push(sequenced));
      await runner.tx(function* () {
        yield* appendEvents([node(T0, "sent-early")]);
        // A statement whose answer the operation reads: the held insert goes out with it.
        yield* all("SELECT 1");
      });
      expect(told).toEqual([undefined]);
      expect(await store.hasUnsequenced()).toBe(true);
      const sequenced = await store.sequenceEventsRead(500);
      expect(sequenced.events.map((e) => e.data.nodeId)).toEqual(["sent-early"]);
      // Held to the end, they get their cursors with the COMMIT.
      await runner.tx(() => appendEvents([node(T0, "held")]));
      expect(told[1]?.rows).toHaveLength(1);
      expect(await store.hasUnsequenced()).toBe(false);
    } finally {
      await new Promise<void>((resolve) => {
        pool.end(() => {
          resolve();
        });
      });
    }
  });

  it("two nodes, an older one and the sequencer racing give every event one cursor, as a prefix", async (ctx) => {
    // With a binary log the store leaves every row to the sequencer (sequence-at-commit.ts).
    if (!store.sequencesAtCommit) {
      ctx.skip();
      return;
    }
    // `other` sequences at commit as `store` does; `older` writes its rows without cursors, as a
    // node of an earlier version does, and both nodes' sequencers run.
    const other = MysqlStore.open(url);
    const older = await mysql.createConnection({ uri: url });
    try {
      await other.ping();
      expect(other.sequencesAtCommit).toBe(true);
      const heard = [listen(store), listen(other)];
      const before = (await store.logState()).last;
      const names: string[] = [];
      const told: string[] = [];
      const writes: Promise<unknown>[] = [];
      // A batch left to the sequencer, committing in the middle of it all.
      await late.query("START TRANSACTION");
      await late.query("INSERT INTO `event_log` (`count`, `time`, `events`) VALUES (1, 1, ?)", [
        JSON.stringify([node(1, "race-late")]),
      ]);
      names.push("race-late");
      // A reader all along: what it has seen is a prefix, nothing appears below it later.
      const race = { on: true };
      const seen = new Set<number>();
      let high = 0;
      const belowSeen: number[] = [];
      const reader = (async () => {
        while (race.on) {
          const events = (await store.readEvents(before, (await store.logState()).last, 10_000))
            .events;
          for (const e of events)
            if (!seen.has(e.cursor) && e.cursor < high) belowSeen.push(e.cursor);
          for (const e of events) seen.add(e.cursor);
          high = Math.max(high, ...events.map((e) => e.cursor));
        }
      })();
      for (let i = 0; i < 30; i++) {
        const batch = [node(T0 + i, `race-${String(i)}-a`), node(T0 + i, `race-${String(i)}-b`)];
        names.push(...batch.map((e) => e.data.nodeId));
        const s = i % 3 === 0 ? undefined : i % 3 === 1 ? store : other;
        if (s === undefined) {
          writes.push(
            older.query("INSERT INTO `event_log` (`count`, `time`, `events`) VALUES (2, 1, ?)", [
              JSON.stringify(batch),
            ]),
          );
          continue;
        }
        told.push(...batch.map((e) => e.data.nodeId));
        writes.push(s.appendEvents(batch));
        if (i % 5 === 1) {
          names.push(`race-job-${String(i)}`);
          told.push(`race-job-${String(i)}`);
          writes.push(
            s.insertJob(job(`race-${String(i)}`, { scheduler: "race" }), [
              { ...node(T0 + i, `race-job-${String(i)}`), type: "job_added" },
            ]),
          );
          writes.push(other.sequenceEvents(2), store.sequenceEvents(2));
        }
        if (i === 16) writes.push(late.query("COMMIT"));
      }
      await Promise.all(writes);
      while ((await other.sequenceEvents(500)) > 0);
      race.on = false;
      await reader;
      expect(belowSeen).toEqual([]);
      expect(seen.size).toBeGreaterThan(0);
      const read = (await store.readEvents(before, (await store.logState()).last, 10_000)).events;
      expect(read.map((e) => e.data.nodeId).sort()).toEqual([...names].sort());
      expect(new Set(read.map((e) => e.cursor)).size).toBe(read.length);
      // Every commit at commit was told, once (AddJob's inserts that went together share a
      // row), and each names as its `after` the event just before its own: nothing came
      // between, nothing appeared below them later.
      const offers = heard.flatMap((h) => h.sequenced);
      expect(offers.flatMap((o) => o.events.map((e) => e.data.nodeId)).sort()).toEqual(
        [...told].sort(),
      );
      for (const o of offers) {
        const at = read.findIndex((e) => e.cursor === o.events[0]?.cursor);
        expect(at).toBeGreaterThanOrEqual(0);
        expect(o.after).toBe(at === 0 ? before : read[at - 1]?.cursor);
        expect(read.slice(at, at + o.events.length)).toEqual(o.events);
      }
    } finally {
      await other.close();
      await older.end();
    }
  });
});
