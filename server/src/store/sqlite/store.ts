/**
 * The embedded SQLite store (better-sqlite3) for a single node: the default when no store URL is
 * configured. The SQL store on one connection; better-sqlite3 is synchronous, and the runner
 * gives it the same async interface as MySQL's. WAL mode, a short busy timeout and the runner's
 * asynchronous wait for the write lock let a second process (e.g. `metronome migrate`) share the
 * file without stalling the node; a second node is refused (node-lock.ts).
 */
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import { drizzle } from "drizzle-orm/better-sqlite3";
import { migrate } from "drizzle-orm/better-sqlite3/migrator";
import { migrationsFolder } from "../../paths.js";
import { SQLITE } from "../sql/dialect.js";
import { SqlStore } from "../sql/store.js";
import { NodeLock } from "./node-lock.js";
import { BUSY_TIMEOUT_MS, LOCK_WAIT_MS, SqliteRunner } from "./runner.js";

export class SqliteStore extends SqlStore {
  private constructor(
    private readonly sqlite: Database.Database,
    private readonly lock: NodeLock | null,
  ) {
    const runner = new SqliteRunner(sqlite);
    super(SQLITE, { api: runner, engine: runner, events: runner });
  }

  /**
   * Open (creating the file and its folder if needed) a database file, or ":memory:". A node
   * (`serving`) takes the file's node lock first: a second node on the file is refused with
   * SqliteInUseError.
   */
  static open(path: string, options: { serving?: boolean } = {}): SqliteStore {
    if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
    const lock = options.serving === true && path !== ":memory:" ? NodeLock.take(path) : null;
    let sqlite: Database.Database;
    try {
      sqlite = new Database(path);
    } catch (err) {
      lock?.release();
      throw err;
    }
    sqlite.pragma("journal_mode = WAL");
    sqlite.pragma("synchronous = NORMAL");
    // Short: a busy wait blocks the event loop; the runner waits for the write lock asynchronously.
    sqlite.pragma(`busy_timeout = ${String(BUSY_TIMEOUT_MS)}`);
    // Identifiers are case-sensitive: so are prefix filters (LIKE), as on MySQL's _bin columns.
    sqlite.pragma("case_sensitive_like = ON");
    return new SqliteStore(sqlite, lock);
  }

  migrate(): Promise<void> {
    // Before the node serves (or in `metronome migrate`): waiting for another process's write
    // lock may block, as long as a call would wait for it (the migrator runs synchronously).
    this.sqlite.pragma(`busy_timeout = ${String(LOCK_WAIT_MS)}`);
    try {
      migrate(drizzle({ client: this.sqlite }), { migrationsFolder: migrationsFolder("sqlite") });
    } finally {
      this.sqlite.pragma(`busy_timeout = ${String(BUSY_TIMEOUT_MS)}`);
    }
    return Promise.resolve();
  }

  ping(): Promise<void> {
    this.sqlite.prepare("SELECT 1").get();
    return Promise.resolve();
  }

  close(): Promise<void> {
    this.sqlite.close();
    this.lock?.release();
    return Promise.resolve();
  }
}
