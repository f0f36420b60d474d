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

/** Driver error codes (mysql2, Node's sockets) of a lost, refused or overloaded connection. */
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
]);

/** Driver error codes of a duplicate key (MySQL, SQLite). */
const DUPLICATE_CODES: ReadonlySet<string> = new Set([
  "ER_DUP_ENTRY",
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

/** A lost or refused connection as StoreUnavailableError; other errors unchanged. */
export function storeError(err: unknown): unknown {
  if (err instanceof StoreUnavailableError) return err;
  const code = errorCode(err);
  return code !== undefined && UNAVAILABLE_CODES.has(code) ? new StoreUnavailableError(err) : err;
}

/** The store could not be reached (mapped or not yet mapped). */
export function isUnavailable(err: unknown): boolean {
  return storeError(err) instanceof StoreUnavailableError;
}

export function isDuplicate(err: unknown): boolean {
  const code = errorCode(err);
  return code !== undefined && DUPLICATE_CODES.has(code);
}

/** The deadlock a transaction may simply be retried after. */
export function isDeadlock(err: unknown): boolean {
  return errorCode(err) === "ER_LOCK_DEADLOCK";
}
