/**
 * The embedded SQLite store (better-sqlite3) for a single node: the default when no store URL is
 * configured. The SQL store on one connection; better-sqlite3 is synchronous, and the runner
 * gives it the same async interface as MySQL's. WAL mode and a busy timeout let a second process
 * (e.g. `metronome migrate`) share the file; a second node is refused (node-lock.ts).
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
import { SqliteRunner } from "./runner.js";

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
    sqlite.pragma("busy_timeout = 5000");
    // Identifiers are case-sensitive: so are prefix filters (LIKE), as on MySQL's _bin columns.
    sqlite.pragma("case_sensitive_like = ON");
    return new SqliteStore(sqlite, lock);
  }

  migrate(): Promise<void> {
    migrate(drizzle({ client: this.sqlite }), { migrationsFolder: migrationsFolder("sqlite") });
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
