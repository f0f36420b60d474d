/**
 * How the SQL stores run their operations. Each operation (one module in this folder's
 * subfolders) is written once, as a generator that yields SQL statements and receives their
 * results; a store-specific runner executes it: asynchronously on a MySQL connection, or
 * synchronously inside one better-sqlite3 transaction, so that on SQLite no other JavaScript (an
 * API call on the same connection) runs between a transaction's statements. The SQL text is
 * shared; the two dialects differ in a few fragments (dialect.ts).
 */

import type { EventDraft } from "../../domain/events.js";

export type Param = string | number | null;

/**
 * Told the events of each transaction (or statement) that wrote some, after it commits; with
 * `sequenced` when the commit gave them their cursors (see Op.logRows).
 */
export type CommittedEventsListener = (
  events: readonly EventDraft[],
  sequenced?: SequencedRows,
) => void;

/** One row of the event log a statement inserts: a batch of events (sql/events/). */
export interface LogRow {
  readonly count: number;
  readonly time: number;
  readonly text: string;
}

/** Batches of the event log given cursors, with their text (sql/events/sequence-events.ts). */
export interface SequencedRows {
  readonly count: number;
  /** The cursor of the newest event before them (when `count` > 0). */
  readonly after: number;
  /** The batches' `cursor` and `events` (their text), in cursor order. */
  readonly rows: readonly Row[];
}

export interface Op {
  readonly kind: "all" | "run";
  readonly sql: string;
  readonly params: readonly Param[];
  /** The events the statement writes: the runner tells its listener once they are committed. */
  readonly events?: readonly EventDraft[];
  /**
   * A write whose result the operation does not read: a runner may hold it and send it with
   * the operation's next statement or its COMMIT, in order (one round trip instead of two).
   * Its answer to the body is 0.
   */
  readonly deferred?: true;
  /**
   * The statement inserts these event log rows without cursors (append-events.ts): a runner that
   * can give them their cursors in the round trip that commits (mysql/runner.ts) writes them
   * itself instead, and tells its listener what it sequenced.
   */
  readonly logRows?: readonly LogRow[];
}

/**
 * The most characters of parameters one statement carries, about (an item larger than this goes
 * alone): statements made of many rows (a claim's runs, a batch's results, event log rows) are
 * cut to it, so that none comes near MySQL's `max_allowed_packet` (16 MiB by default on MariaDB
 * and MySQL 8, 4 MiB on MySQL 5.7) even with every character escaped. Without it, 500 runs of
 * jobs with 60 KB of arguments were one 30 MB statement, refused: the claim failed, again and
 * again, and the jobs never fired. A typical statement is far below it (500 runs ≈ 200 KB).
 */
export const STATEMENT_CHARS = 1024 * 1024;

/** The characters of a statement's text and parameters (what it weighs in a query). */
export function opChars(op: Pick<Op, "sql" | "params">): number {
  let n = op.sql.length;
  for (const p of op.params) n += typeof p === "string" ? p.length : 8;
  return n;
}

/** The characters of some cells (a row's parameters). */
export function cellChars(cells: readonly Param[]): number {
  let n = 0;
  for (const c of cells) n += typeof c === "string" ? c.length : 8;
  return n;
}

/** An operation's body: yields statements, receives their results, returns a value. */
export type Tx<T> = Generator<Op, T, unknown>;

export type Row = Record<string, unknown>;

/** Rows of a SELECT. */
export function* all<T = Row>(sql: string, params: readonly Param[] = []): Tx<T[]> {
  return (yield { kind: "all", sql, params }) as T[];
}

/** The number of rows an INSERT, UPDATE or DELETE changed. */
export function* exec(sql: string, params: readonly Param[] = []): Tx<number> {
  return (yield { kind: "run", sql, params }) as number;
}

/**
 * A write whose affected-row count is not needed: sent with the next statement or the COMMIT
 * where the runner can (see Op.deferred). Its errors surface at that statement.
 */
export function* write(sql: string, params: readonly Param[] = []): Tx<void> {
  yield { kind: "run", sql, params, deferred: true };
}

/** Runs operation bodies against one database (a pool, or a connection). */
export interface SqlRunner {
  /**
   * Called with the events of a transaction (or statement) that wrote some, after it commits.
   * One listener; a later call replaces it.
   */
  onEventsCommitted(listener: CommittedEventsListener): void;
  /** Runs `body` in a transaction (retried on deadlock); its statements commit together. */
  tx<T>(body: () => Tx<T>): Promise<T>;
  /** Runs `body`'s statements outside a transaction, each committed on its own. */
  autocommit<T>(body: () => Tx<T>): Promise<T>;
}

/** Drives an operation's body, each statement awaited; an error is thrown into the body first. */
export async function drive<T>(body: Tx<T>, run: (op: Op) => Promise<unknown>): Promise<T> {
  let step = body.next();
  while (!step.done) {
    let result: unknown;
    try {
      result = await run(step.value);
    } catch (err) {
      // Let the body see the error (a `finally` in it runs), then propagate it.
      step = body.throw(err);
      continue;
    }
    step = body.next(result);
  }
  return step.value;
}

/** `?, ?, …`: n placeholders. */
export function placeholders(n: number): string {
  return Array.from({ length: n }, () => "?").join(", ");
}

/** ` AND column NOT IN (?, …)` for a non-empty list; empty otherwise. */
export function notIn(column: string, values: readonly string[]): string {
  return values.length === 0 ? "" : ` AND \`${column}\` NOT IN (${placeholders(values.length)})`;
}

export const num = (v: unknown): number => (typeof v === "number" ? v : Number(v));
export const numOrNull = (v: unknown): number | null =>
  v === null || v === undefined ? null : num(v);

/** A text column as a string (drivers may hand back numbers or buffers), null as null. */
export function strOrNull(v: unknown): string | null {
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "bigint") return String(v);
  if (Buffer.isBuffer(v)) return v.toString("utf8");
  return null;
}
