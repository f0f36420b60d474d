/**
 * The SQLite runner's errors (server/src/store/sqlite/runner.ts): a full database (SQLITE_FULL,
 * made here with `PRAGMA max_page_count` rather than a full disk) fails a transaction, or a write
 * outside one, as StoreUnavailableError; a transaction whose statement failed so is rolled back
 * and runs no further statement even when its body catches the error and goes on.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { StoreUnavailableError, errorCode } from "../../server/src/store/errors.js";
import { all, exec, type Tx } from "../../server/src/store/sql/runner.js";
import { SqliteRunner } from "../../server/src/store/sqlite/runner.js";

const big = "x".repeat(200_000);

describe("SQLite runner on a full database", () => {
  let dir = "";
  let db: Database.Database;
  let runner: SqliteRunner;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "metronome-sqlite-runner-"));
    db = new Database(join(dir, "full.db"));
    db.pragma("journal_mode = WAL");
    db.exec("CREATE TABLE t (v TEXT)");
    // Full: no page more than it has now.
    db.pragma(`max_page_count = ${String(db.pragma("page_count", { simple: true }))}`);
    runner = new SqliteRunner(db);
  });

  afterEach(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const rows = (): Promise<{ v: string }[]> =>
    runner.autocommit(() => all<{ v: string }>("SELECT substr(`v`, 1, 10) AS v FROM t"));

  it("a transaction fails as unavailable, rolled back", async () => {
    function* body(): Tx<string> {
      yield* exec("INSERT INTO t VALUES ('small')");
      yield* exec("INSERT INTO t VALUES (?)", [big]);
      return "done";
    }
    const err = await runner.tx(body).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(StoreUnavailableError);
    expect(errorCode(err)).toBe("SQLITE_FULL");
    expect(db.inTransaction).toBe(false);
    expect(await rows()).toEqual([]);
  });

  it("a transaction whose body catches the error still fails, and runs nothing after it", async () => {
    function* body(): Tx<string> {
      yield* exec("INSERT INTO t VALUES ('small')");
      try {
        yield* exec("INSERT INTO t VALUES (?)", [big]);
      } catch {
        // A body that goes on after the error.
      }
      yield* exec("INSERT INTO t VALUES ('after')");
      return "done";
    }
    const err = await runner.tx(body).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(StoreUnavailableError);
    expect(db.inTransaction).toBe(false);
    expect(await rows()).toEqual([]);
  });

  it("a write outside a transaction fails as unavailable", async () => {
    const err = await runner
      .autocommit(() => exec("INSERT INTO t VALUES (?)", [big]))
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect(err).toBeInstanceOf(StoreUnavailableError);
    expect(errorCode(err)).toBe("SQLITE_FULL");
    // What fits still goes in.
    expect(await runner.autocommit(() => exec("INSERT INTO t VALUES ('small')"))).toBe(1);
    expect(await rows()).toEqual([{ v: "small" }]);
  });
});
