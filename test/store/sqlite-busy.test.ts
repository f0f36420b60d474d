/**
 * The embedded store while another process holds the SQLite file's write lock (`metronome
 * migrate` or `metronome reseal` beside a node; here a second better-sqlite3 connection on the
 * file, holding `BEGIN IMMEDIATE` as such a process would): the node's calls wait for the lock
 * without blocking the event loop, answer UNAVAILABLE (not INTERNAL) when it stays taken past
 * their deadline, or after LOCK_WAIT_MS without one, and go through once it is released in time
 * (server/src/store/sqlite/runner.ts). Every wait here is on a promise or an event, no sleep.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import Database from "better-sqlite3";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { toConnectError } from "../../server/src/api/errors.js";
import { withDeadline } from "../../server/src/lib/deadline.js";
import { createLogger } from "../../server/src/logger.js";
import { StoreUnavailableError } from "../../server/src/store/errors.js";
import { LOCK_WAIT_MS } from "../../server/src/store/sqlite/runner.js";
import { SqliteStore } from "../../server/src/store/sqlite/store.js";
import { startInProcessNode, type InProcessNode } from "../support/in-process.js";
import { scheduler } from "./contract/fixtures.js";

const job = { id: "waits", handler: "reports.daily", trigger: { interval: { seconds: 60 } } };

/** Counts the event loop's turns (setImmediate) and its longest stall until `stop()`. */
function watchEventLoop(): { stop(): { turns: number; maxStallMs: number } } {
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  let turns = 0;
  let on = true;
  const turn = (): void => {
    turns++;
    if (on) setImmediate(turn);
  };
  setImmediate(turn);
  return {
    stop: () => {
      on = false;
      delay.disable();
      return { turns, maxStallMs: delay.max / 1e6 };
    },
  };
}

describe("SQLite: another process holds the write lock", () => {
  let dir = "";
  let path = "";
  let node: InProcessNode | undefined;
  let other: Database.Database | undefined;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "metronome-sqlite-busy-"));
    path = join(dir, "metronome.db");
    node = await startInProcessNode({ env: { SCHEDULER__JOBSTORE_URL: `sqlite:///${path}` } });
    // As `metronome migrate` in another process: its own connection to the file.
    other = new Database(path);
  }, 30_000);

  afterAll(async () => {
    if (other?.inTransaction === true) other.exec("ROLLBACK");
    other?.close();
    await node?.stop();
    rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  it("an API call answers UNAVAILABLE by its deadline, and the event loop keeps turning meanwhile", async () => {
    const db = other as Database.Database;
    db.exec("BEGIN IMMEDIATE");
    const loop = watchEventLoop();
    const started = Date.now();
    let reply;
    try {
      reply = await (node as InProcessNode).postJson(
        "/metronome.v1.JobService/AddJob",
        { job },
        { "connect-timeout-ms": "1500" },
      );
    } finally {
      db.exec("ROLLBACK");
    }
    const { turns, maxStallMs } = loop.stop();
    expect(reply.body.code).toBe("unavailable");
    expect(reply.status).toBe(503);
    // It waited for the lock until its deadline, with the loop free: timers, other calls, I/O.
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    expect(turns).toBeGreaterThan(50);
    expect(maxStallMs).toBeLessThan(2500); // the old busy timeout held the loop 5 s

    // Released: the same call goes through.
    const again = await (node as InProcessNode).postJson("/metronome.v1.JobService/AddJob", {
      job,
    });
    expect(again.status).toBe(200);
  }, 30_000);

  it("an API call waiting for the lock goes through when the other process commits in time", async () => {
    const db = other as Database.Database;
    db.exec("BEGIN IMMEDIATE");
    const reply = (node as InProcessNode).postJson(
      "/metronome.v1.JobService/AddJob",
      { job: { ...job, id: "after-commit" } },
      { "connect-timeout-ms": "10000" },
    );
    // The call reaches the store and finds the lock taken; then the other process commits.
    const loop = watchEventLoop();
    await new Promise<void>((resolve) => {
      let n = 0;
      const next = (): void => {
        if (++n === 100) resolve();
        else setImmediate(next);
      };
      setImmediate(next);
    });
    db.exec("COMMIT");
    const { maxStallMs } = loop.stop();
    expect((await reply).status).toBe(200);
    expect(maxStallMs).toBeLessThan(2500); // the old busy timeout held the loop 5 s
  }, 30_000);
});

describe("SQLite store calls while another process holds the write lock", () => {
  let dir = "";
  let store: SqliteStore | undefined;
  let other: Database.Database | undefined;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "metronome-sqlite-busy-store-"));
    const path = join(dir, "metronome.db");
    store = SqliteStore.open(path, { serving: true });
    await store.migrate();
    other = new Database(path);
  });

  afterAll(async () => {
    if (other?.inTransaction === true) other.exec("ROLLBACK");
    other?.close();
    await store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("a transaction and a write outside one, waiting for the lock, go through once it is released", async () => {
    const s = store as SqliteStore;
    const db = other as Database.Database;
    expect(await s.insertScheduler(scheduler("first"))).toBe(true);
    db.exec("BEGIN IMMEDIATE");
    db.prepare("UPDATE `schedulers` SET `timezone` = 'Europe/Paris' WHERE `name` = 'first'").run();
    // Each call has tried the lock (synchronously) by the time it returns its promise.
    const inserted = withDeadline(Date.now() + 10_000, () =>
      s.insertScheduler(scheduler("second")),
    );
    const updated = withDeadline(Date.now() + 10_000, () =>
      s.updateScheduler("first", (c) => ({ ...c, paused: true, version: c.version + 1 })),
    );
    db.exec("COMMIT");
    expect(await inserted).toBe(true);
    // The update read what the other process committed.
    expect(await updated).toMatchObject({ name: "first", timezone: "Europe/Paris", paused: true });
  });

  it("without a deadline (the engine's calls), a call gives up after LOCK_WAIT_MS as unavailable", async () => {
    const s = store as SqliteStore;
    const db = other as Database.Database;
    db.exec("BEGIN IMMEDIATE");
    const loop = watchEventLoop();
    const started = Date.now();
    const failed = await s
      .updateScheduler("first", (c) => ({ ...c, paused: false, version: c.version + 1 }))
      .then(
        () => null,
        (err: unknown) => err,
      );
    const waited = Date.now() - started;
    db.exec("ROLLBACK");
    const { maxStallMs } = loop.stop();
    expect(failed).toBeInstanceOf(StoreUnavailableError);
    expect(toConnectError(failed, createLogger("silent")).code).toBe(Code.Unavailable);
    expect(waited).toBeGreaterThanOrEqual(LOCK_WAIT_MS - 100);
    expect(maxStallMs).toBeLessThan(2500); // the old busy timeout held the loop 5 s
    expect(await s.getScheduler("first")).toMatchObject({ paused: true });
  }, 20_000);
});
