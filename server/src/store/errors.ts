/**
 * Store errors, in one place: what a store throws when the database cannot be reached, and the
 * driver error codes that mean so (or that mean a duplicate key).
 */
import { DomainError } from "../domain/errors.js";

/** The database cannot be reached; the operation may be retried. */
export class StoreUnavailableError extends DomainError {
  readonly kind = "unavailable";
  constructor(override readonly cause: unknown) {
    super("the job store is unavailable");
    this.name = "StoreUnavailableError";
  }
}

/**
 * A store call ran out of time (its request's deadline, or the server's maximum): its
 * transaction was rolled back, or its connection dropped before COMMIT was sent.
 */
export class StoreTimeoutError extends StoreUnavailableError {
  constructor() {
    super(new Error("deadline exceeded"));
    this.name = "StoreTimeoutError";
  }
}

/**
 * Driver error codes (mysql2, Node's sockets, better-sqlite3) and PostgreSQL SQLSTATEs of a
 * lost, refused or overloaded connection, or of a database that cannot write for now.
 */
const UNAVAILABLE_CODES: ReadonlySet<string> = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "ENOTFOUND",
  "EHOSTUNREACH",
  "PROTOCOL_CONNECTION_LOST",
  "PROTOCOL_SEQUENCE_TIMEOUT",
  "ER_CON_COUNT_ERROR",
  "ER_SERVER_SHUTDOWN",
  "ER_LOCK_WAIT_TIMEOUT",
  "POOL_CLOSED",
  "08000", // connection_exception
  "08001", // sqlclient_unable_to_establish_sqlconnection
  "08003", // connection_does_not_exist
  "08006", // connection_failure
  "53300", // too_many_connections
  "55P03", // lock_not_available
  "57P01", // admin_shutdown
  "57P02", // crash_shutdown
  "57P03", // cannot_connect_now
  "57014", // query_canceled (statement_timeout)
  "25006", // read_only_sql_transaction (a standby, or a primary demoted by a failover)
  "SQLITE_BUSY", // another process holds the file's write lock (migrate, reseal)
  "SQLITE_LOCKED",
  "SQLITE_FULL", // the disk is full
  "SQLITE_CANTOPEN",
]);

/**
 * Code prefixes of the same: SQLite's extended codes of I/O errors and of a file it may not
 * write, and PostgreSQL's classes 53 (insufficient resources: a full disk, out of memory) and 58
 * (system errors: I/O).
 */
const UNAVAILABLE_PREFIXES: readonly string[] = [
  "SQLITE_BUSY_",
  "SQLITE_LOCKED_",
  "SQLITE_IOERR",
  "SQLITE_READONLY",
  "SQLITE_CANTOPEN_",
];
const UNAVAILABLE_CLASSES: ReadonlySet<string> = new Set(["53", "58"]);

function unavailableCode(code: string): boolean {
  return (
    UNAVAILABLE_CODES.has(code) ||
    UNAVAILABLE_PREFIXES.some((p) => code.startsWith(p)) ||
    (/^[0-9A-Z]{5}$/.test(code) && UNAVAILABLE_CLASSES.has(code.slice(0, 2)))
  );
}

/** Driver error codes of a duplicate key (MySQL, SQLite, PostgreSQL's unique_violation). */
const DUPLICATE_CODES: ReadonlySet<string> = new Set([
  "ER_DUP_ENTRY",
  "23505",
  "SQLITE_CONSTRAINT_PRIMARYKEY",
  "SQLITE_CONSTRAINT_UNIQUE",
]);

/** The first string `code` on an error or its causes. */
export function errorCode(err: unknown): string | undefined {
  for (
    let e: unknown = err;
    e instanceof Error || (typeof e === "object" && e !== null);
    e = (e as { cause?: unknown }).cause
  ) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string") return code;
    if ((e as { cause?: unknown }).cause === undefined) break;
  }
  return undefined;
}

/**
 * node-postgres and ioredis say that a connection was lost or could not be made in words,
 * without a code; Redis answers a server that cannot serve yet (loading its data, a replica
 * without its primary, a cluster without a slot's shard) with these error words, and one that
 * refuses writes for now with these: OOM (`maxmemory` reached), MISCONF (its last RDB snapshot
 * failed, a full disk say), NOREPLICAS (fewer replicas than `min-replicas-to-write`).
 */
const UNAVAILABLE_MESSAGES: readonly RegExp[] = [
  /^Connection terminated/,
  /^timeout exceeded when trying to connect/,
  /is not queryable/,
  /^Cannot use a pool after calling end/,
  /^Reached the max retries per request limit/,
  /^Connection is closed\.?$/,
  /^Stream isn't writeable/,
  /^Cluster isn't ready/,
  /^None of startup nodes is available/,
  /^Failed to refresh slots cache/,
  /^(LOADING|MASTERDOWN|CLUSTERDOWN|TRYAGAIN|READONLY|BUSY) /,
  /^(OOM|MISCONF|NOREPLICAS) /,
];

function lostByMessage(err: unknown): boolean {
  const message = err instanceof Error ? err.message : "";
  return errorCode(err) === undefined && UNAVAILABLE_MESSAGES.some((m) => m.test(message));
}

/** A lost or refused connection as StoreUnavailableError; other errors unchanged. */
export function storeError(err: unknown): unknown {
  if (err instanceof StoreUnavailableError) return err;
  const code = errorCode(err);
  return (code !== undefined && unavailableCode(code)) || lostByMessage(err)
    ? new StoreUnavailableError(err)
    : err;
}

/** The store could not be reached (mapped or not yet mapped). */
export function isUnavailable(err: unknown): boolean {
  return storeError(err) instanceof StoreUnavailableError;
}

export function isDuplicate(err: unknown): boolean {
  const code = errorCode(err);
  return code !== undefined && DUPLICATE_CODES.has(code) && !isCursorClash(err);
}

/**
 * A second event log row with a cursor already given: never a duplicate of what the caller
 * inserts (a job, a key), but the log's `last` counter out of step with its rows (a partial
 * restore): the store's fault, not the caller's, so not answered as "already exists".
 */
function isCursorClash(err: unknown): boolean {
  return err instanceof Error && err.message.includes("event_log_cursor");
}

/** The deadlock a transaction may simply be retried after. */
export function isDeadlock(err: unknown): boolean {
  const code = errorCode(err);
  // MySQL's deadlock; PostgreSQL's deadlock_detected and serialization_failure.
  return code === "ER_LOCK_DEADLOCK" || code === "40P01" || code === "40001";
}
