/**
 * The SQLite store serves one node: a node serving a database file holds `<file>.lock`, created
 * exclusively (`O_EXCL`) with its process id, host and start time, and removed when its store
 * closes. A second node on the same file is refused with a message naming the holder. A lock
 * whose process is gone (a node that was killed) is stale: it is taken over. Tools that share the
 * file for a moment (`metronome migrate`, a read-only look) take no lock; SQLite's own locking
 * (WAL, a busy timeout) keeps their transactions apart.
 *
 * SQLite's `locking_mode = EXCLUSIVE` would refuse those tools too, and Node has no `flock`:
 * hence a lock file.
 */
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from "node:fs";
import { hostname } from "node:os";

/** What the lock file says about its holder. */
interface Holder {
  readonly pid: number;
  readonly host: string;
  readonly since: string;
}

/** Another node serves the file. */
export class SqliteInUseError extends Error {
  constructor(
    readonly path: string,
    readonly holder: Holder,
  ) {
    super(
      `the SQLite database ${path} is in use by another Metronome node (pid ${String(holder.pid)} on ${holder.host}, since ${holder.since}): ` +
        `SQLite serves one node; stop that node first, or use MySQL or PostgreSQL to run several (docs/storage.md). ` +
        `If no node is running, remove ${path}.lock`,
    );
    this.name = "SqliteInUseError";
  }
}

export class NodeLock {
  /**
   * The lock files this process holds. A lock naming this process's pid that it does not hold
   * was left by an earlier process with the same pid (a container's PID 1 after a restart).
   */
  private static readonly held = new Set<string>();
  private released = false;

  private constructor(
    readonly file: string,
    private readonly token: string,
  ) {}

  /** Takes the lock of the database at `path`; throws SqliteInUseError when a live node has it. */
  static take(path: string): NodeLock {
    const file = `${path}.lock`;
    const holder: Holder = { pid: process.pid, host: hostname(), since: new Date().toISOString() };
    const token = JSON.stringify(holder);
    // Twice at most: once more after removing a stale lock.
    for (let attempt = 0; ; attempt++) {
      try {
        const fd = openSync(file, "wx", 0o644);
        try {
          writeSync(fd, `${token}\n`);
        } finally {
          closeSync(fd);
        }
        NodeLock.held.add(file);
        return new NodeLock(file, token);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      }
      const current = readHolder(file);
      const mine = current?.pid === process.pid && current.host === hostname();
      if (current !== null && (mine ? NodeLock.held.has(file) : alive(current)))
        throw new SqliteInUseError(path, current);
      if (attempt > 0) throw new Error(`cannot take ${file}: another process keeps replacing it`);
      // Stale (its process is gone) or unreadable (a holder killed while writing it).
      try {
        unlinkSync(file);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
      }
    }
  }

  /** Removes the lock file if it is still this lock's. Idempotent. */
  release(): void {
    if (this.released) return;
    this.released = true;
    NodeLock.held.delete(this.file);
    try {
      if (readFileSync(this.file, "utf8").trim() === this.token) unlinkSync(this.file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
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

/** Whether the holder may still be running: on another host we cannot tell, so it may. */
function alive(h: Holder): boolean {
  if (h.host !== hostname()) return true;
  try {
    process.kill(h.pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to another user.
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}
