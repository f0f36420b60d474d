/**
 * The SQLite store serves one node: a node serving a database file holds a lock that the kernel
 * keeps for it and releases when its process ends, however it ends. The lock is SQLite's own, on
 * a small database beside the file, `<file>.lock.db`: the node opens it with
 * `locking_mode = EXCLUSIVE` and keeps a `BEGIN EXCLUSIVE` transaction open for its life (fcntl
 * locks, which SQLite also keeps apart between the connections of one process). A second node
 * asks for the same lock, waiting a moment at most, and is refused with a message naming the holder, read
 * from `<file>.lock`: the holder's process id, host and start time, written once it holds the
 * lock and removed when its store closes (information only: nothing decides by it). Tools that
 * share the file for a moment (`metronome migrate`, a read-only look) take no lock; SQLite's own
 * locking (WAL, the busy timeout, the runner's wait for the write lock) keeps their transactions
 * apart.
 *
 * Nothing here judges whether a holder is alive by its pid: a lock left by a killed node is free
 * at once (its process has no locks), and two live nodes with the same pid on one host name (two
 * containers, each its PID 1, sharing a volume) exclude each other as any two processes do.
 * `<file>.lock.db` is never removed: a node removing it could free the lock for a node that opened
 * the old file while a third creates a new one. No code in the node's process may open and close
 * it with node:fs either (closing any descriptor of a file drops the process's fcntl locks on it).
 */
import { readFileSync, renameSync, unlinkSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import Database from "better-sqlite3";
import { errorCode } from "../errors.js";

/** What the lock's information file says about its holder. */
interface Holder {
  readonly pid: number;
  readonly host: string;
  readonly since: string;
}

/** Another node serves the file. */
export class SqliteInUseError extends Error {
  constructor(
    readonly path: string,
    /** Null when the holder has not written its information yet. */
    readonly holder: Holder | null,
  ) {
    super(
      `the SQLite database ${path} is in use by another Metronome node` +
        (holder === null
          ? ""
          : ` (pid ${String(holder.pid)} on ${holder.host}, since ${holder.since})`) +
        `: SQLite serves one node; stop that node first, or use MySQL or PostgreSQL to run several (docs/storage.md). ` +
        `If no node is running, remove ${path}.lock`,
    );
    this.name = "SqliteInUseError";
  }
}

/**
 * How long taking the lock may wait while another process holds it: two processes asking at
 * the same instant each hold SQLite's shared lock on the way to the exclusive one, and without a
 * wait both would be refused; with it, one gets it and the other is refused after this long.
 */
const TAKE_WAIT_MS = 200;

/** How long a refused node waits for the holder's information (written just after the lock). */
const HOLDER_WAIT_MS = 1000;

export class NodeLock {
  private released = false;

  private constructor(
    /** The holder's information file, `<file>.lock`. */
    readonly file: string,
    private readonly db: Database.Database,
    private readonly token: string,
  ) {}

  /** Takes the lock of the database at `path`; throws SqliteInUseError when another node has it. */
  static take(path: string): NodeLock {
    const file = `${path}.lock`;
    const db = new Database(`${file}.db`);
    try {
      db.pragma(`busy_timeout = ${String(TAKE_WAIT_MS)}`);
      db.prepare("BEGIN EXCLUSIVE").run();
      // Kept for good: the transaction is never ended, and in this mode the connection would
      // not give up its locks even if it were. (Set only now: a connection in this mode keeps
      // the shared lock of a failed attempt, so two processes asking at once would both fail.)
      db.pragma("locking_mode = EXCLUSIVE");
    } catch (err) {
      db.close();
      const code = errorCode(err);
      if (code === "SQLITE_BUSY" || code === "SQLITE_LOCKED") {
        throw new SqliteInUseError(path, waitForHolder(file));
      }
      throw err;
    }
    const holder: Holder = { pid: process.pid, host: hostname(), since: new Date().toISOString() };
    const token = JSON.stringify(holder);
    try {
      // Whole or not at all for a reader: written beside it, then renamed over it.
      const next = `${file}.${String(process.pid)}.tmp`;
      writeFileSync(next, `${token}\n`, { mode: 0o644 });
      renameSync(next, file);
    } catch (err) {
      db.close();
      throw err;
    }
    return new NodeLock(file, db, token);
  }

  /** Releases the lock, removing the information file first if it is still this lock's. Idempotent. */
  release(): void {
    if (this.released) return;
    this.released = true;
    try {
      // Under the lock, nobody else writes the file: reading then removing it is safe.
      if (readFileSync(this.file, "utf8").trim() === this.token) unlinkSync(this.file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    } finally {
      this.db.close(); // the kernel lock goes with the connection
    }
  }
}

function readHolder(file: string): Holder | null {
  try {
    const h = JSON.parse(readFileSync(file, "utf8")) as Partial<Holder>;
    if (typeof h.pid !== "number" || typeof h.host !== "string" || typeof h.since !== "string")
      return null;
    return { pid: h.pid, host: h.host, since: h.since };
  } catch {
    return null;
  }
}

/**
 * The holder's information; a moment's wait for it when the file is not there (the holder took
 * the lock an instant ago). It may still be a killed holder's, when the new holder has not
 * written its own yet: the message is then out of date, never the decision.
 */
function waitForHolder(file: string): Holder | null {
  const until = Date.now() + HOLDER_WAIT_MS;
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (;;) {
    const holder = readHolder(file);
    if (holder !== null || Date.now() >= until) return holder;
    Atomics.wait(pause, 0, 0, 10);
  }
}
