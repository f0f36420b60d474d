/**
 * Which store errors mean "the store is unavailable" (store/errors.ts): a lost or refused
 * connection on every store, and a Redis that cannot serve or refuses writes for now, which the
 * API answers UNAVAILABLE and the engine records as an outage; any other error stays as it is.
 */
import { describe, expect, it } from "vitest";
import {
  isDeadlock,
  isDuplicate,
  isUnavailable,
  storeError,
  StoreUnavailableError,
} from "../../server/src/store/errors.js";

/** An error as a driver throws it: a message, and a code when the driver gives one. */
function driverError(message: string, code?: string): Error {
  const err = new Error(message);
  if (code !== undefined) Object.assign(err, { code });
  return err;
}

describe("store errors", () => {
  it("Redis refusing writes (OOM, MISCONF, NOREPLICAS), as its scripts answer, is unavailable", () => {
    for (const message of [
      "OOM command not allowed when used memory > 'maxmemory'. script: 3d2f603d, on @user_script:12.",
      "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk.",
      "NOREPLICAS Not enough good replicas to write. script: 3d2f603dbef3a129, on @user_script:40.",
    ]) {
      const err = driverError(message);
      expect(isUnavailable(err), message).toBe(true);
      const mapped = storeError(err);
      expect(mapped).toBeInstanceOf(StoreUnavailableError);
      expect((mapped as StoreUnavailableError).cause).toBe(err);
    }
  });

  it("Redis that cannot serve yet, and ioredis's lost connections, are unavailable", () => {
    for (const message of [
      "LOADING Redis is loading the dataset in memory",
      "READONLY You can't write against a read only replica.",
      "CLUSTERDOWN The cluster is down",
      "BUSY Redis is busy running a script.",
      "Connection is closed.",
      'Reached the max retries per request limit (which is 0). Refer to "maxRetriesPerRequest" option for details.',
    ])
      expect(isUnavailable(driverError(message)), message).toBe(true);
  });

  it("other Redis errors, and the words only at the start of a message, stay as they are", () => {
    for (const message of [
      "ERR user_script:137: attempt to concatenate field 'job_id' (a nil value)",
      "WRONGTYPE Operation against a key holding the wrong kind of value",
      "the job is OOM in its handler",
      "NOSCRIPT No matching script.",
    ]) {
      const err = driverError(message);
      expect(isUnavailable(err), message).toBe(false);
      expect(storeError(err)).toBe(err);
    }
  });

  it("the SQL stores' lost connections, by driver code or message, are unavailable", () => {
    expect(isUnavailable(driverError("connect ECONNREFUSED 127.0.0.1:3306", "ECONNREFUSED"))).toBe(
      true,
    );
    expect(isUnavailable(driverError("Lock wait timeout exceeded", "ER_LOCK_WAIT_TIMEOUT"))).toBe(
      true,
    );
    expect(isUnavailable(driverError("terminating connection", "57P01"))).toBe(true);
    expect(isUnavailable(driverError("Connection terminated unexpectedly"))).toBe(true);
    expect(
      isUnavailable({ cause: driverError("Connection lost", "PROTOCOL_CONNECTION_LOST") }),
    ).toBe(true);
  });

  it("a database that cannot write for now is unavailable: SQLite locked or full, PostgreSQL read-only, out of space or canceled", () => {
    for (const code of [
      "SQLITE_BUSY",
      "SQLITE_BUSY_SNAPSHOT",
      "SQLITE_LOCKED",
      "SQLITE_FULL",
      "SQLITE_IOERR",
      "SQLITE_IOERR_WRITE",
      "SQLITE_READONLY",
      "SQLITE_READONLY_DBMOVED",
      "SQLITE_CANTOPEN",
      "25006", // read_only_sql_transaction
      "57014", // query_canceled: statement_timeout
      "53100", // disk_full
      "53200", // out_of_memory
      "58030", // io_error
    ])
      expect(isUnavailable(driverError("cannot write now", code)), code).toBe(true);
    for (const code of [
      "SQLITE_CONSTRAINT_UNIQUE",
      "SQLITE_ERROR",
      "SQLITE_MISMATCH",
      "22021",
      "42P01",
    ])
      expect(isUnavailable(driverError("a fault of the statement", code)), code).toBe(false);
  });

  it("a SQL error with a code is judged by its code alone, not by its words", () => {
    // A code that is not a lost connection: the message's words do not make it one.
    expect(isUnavailable(driverError("OOM command not allowed", "ER_PARSE_ERROR"))).toBe(false);
    expect(isUnavailable(driverError("duplicate key", "23505"))).toBe(false);
    expect(isDuplicate(driverError("duplicate key", "23505"))).toBe(true);
    expect(isDuplicate(driverError("Duplicate entry", "ER_DUP_ENTRY"))).toBe(true);
    expect(isDeadlock(driverError("deadlock detected", "40P01"))).toBe(true);
  });
});
