/**
 * The event log's statements (tables `event_log` and `event_log_state`, see the schemas).
 *
 * Why cursors are assigned after commit: an auto-increment id is taken when a row is inserted,
 * but transactions commit in any order, so a reader that saw id 11 committed could later see id
 * 10 appear and, resuming after 11, skip it. Here every change inserts its events with cursor
 * NULL; the sequencer (`sequenceEvents`) then reads committed events without a cursor and gives
 * them the next cursors, holding the `last` row of `event_log_state` until it commits. Sequencer
 * transactions are therefore serial, each commits before the next takes the lock, and a reader
 * always sees the cursors as a prefix: 1..n committed, nothing above n. An event that commits
 * late simply gets a later cursor.
 *
 * Rows are batches: the events one statement writes (up to MAX_BATCH) share a row, and event `i`
 * of the batch with cursor `b` has cursor `b * BATCH_SPAN + i`. A transaction recording hundreds
 * of events (a claim, a lease, a batch of results) writes and sequences one row, not hundreds.
 */
import type { EventDraft, EventMatcher, LoggedEvent } from "../../domain/events.js";
import type { Job } from "../../domain/jobs.js";
import { all, exec, placeholders, type Dialect, type Param, type Row, type Tx } from "./ops.js";

/** Event cursors per batch cursor: event `i` of batch `b` is `b * BATCH_SPAN + i`. */
export const BATCH_SPAN = 1024;
/** The most events in one row. */
const MAX_BATCH = 1000;

const INSERT_COLUMNS = "`count`, `time`, `events`";

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** The rows (batches) of these events, as the Drizzle `eventLog` tables take them. */
export function eventRows(
  events: readonly EventDraft[],
): { count: number; time: number; events: string }[] {
  return chunks(events, MAX_BATCH).map((part) => ({
    count: part.length,
    time: Math.max(...part.map((e) => e.time)),
    events: JSON.stringify(part),
  }));
}

/** `INSERT INTO event_log … VALUES` and its parameters, for these events (none: null). */
export function insertEventsStatement(
  events: readonly EventDraft[],
): { sql: string; params: Param[] } | null {
  const rows = eventRows(events);
  if (rows.length === 0) return null;
  return {
    sql: `INSERT INTO \`event_log\` (${INSERT_COLUMNS}) VALUES ${rows.map(() => "(?, ?, ?)").join(", ")}`,
    params: rows.flatMap((r) => [r.count, r.time, r.events]),
  };
}

/** Writes events in the current transaction; they get cursors once it commits. */
export function* insertEvents(events: readonly EventDraft[]): Tx<void> {
  const statement = insertEventsStatement(events);
  if (statement === null) return;
  yield { kind: "run", sql: statement.sql, params: statement.params, events: true };
}

/**
 * The locked read-modify-write of a job (updateJobLocked) that also writes the events `events`
 * makes of the new job, when `change` changed it.
 */
export function* updateJobWithEvents(
  body: (change: (current: Job) => Job) => Tx<Job | null>,
  change: (current: Job) => Job,
  events: ((after: Job) => readonly EventDraft[]) | undefined,
): Tx<Job | null> {
  const seen = { changed: false };
  const job = yield* body((current) => {
    const next = change(current);
    seen.changed = next !== current;
    return next;
  });
  if (seen.changed && job !== null && events !== undefined) yield* insertEvents(events(job));
  return job;
}

/** Runs a transaction body and writes the events it produced in the same transaction. */
export function* withEvents<T>(body: Tx<T>, events: (value: T) => readonly EventDraft[]): Tx<T> {
  const value = yield* body;
  yield* insertEvents(events(value));
  return value;
}

const num = (v: unknown): number => (typeof v === "number" ? v : Number(v));

/**
 * Gives cursors to up to `limit` committed batches that have none, in id order, after the highest
 * cursor given so far. Answers how many it gave. Serial across nodes (the `last` row lock).
 */
export function* sequenceEvents(d: Dialect, limit: number): Tx<number> {
  const state = yield* all(
    `SELECT \`value\` FROM \`event_log_state\` WHERE \`name\` = 'last'${d.lock}`,
  );
  const last = num(state[0]?.value ?? 0);
  const pending = yield* all(
    "SELECT `id` FROM `event_log` WHERE `cursor` IS NULL ORDER BY `id` LIMIT ?",
    [limit],
  );
  if (pending.length === 0) return 0;
  const ids = pending.map((r) => num(r.id));
  // cursor = id + shift keeps the id order and uniqueness, and starts above `last`.
  const first = ids[0] ?? 0;
  const shift = Math.max(0, last + 1 - first);
  yield* exec(
    `UPDATE \`event_log\` SET \`cursor\` = \`id\` + ? WHERE \`cursor\` IS NULL AND \`id\` IN (${placeholders(ids.length)})`,
    [shift, ...ids],
  );
  yield* exec("UPDATE `event_log_state` SET `value` = ? WHERE `name` = 'last'", [
    (ids[ids.length - 1] ?? 0) + shift,
  ]);
  return ids.length;
}

/** Whether some committed event waits for its cursor (a cheap look before `sequenceEvents`). */
export function* hasUnsequenced(): Tx<boolean> {
  const rows = yield* all("SELECT `id` FROM `event_log` WHERE `cursor` IS NULL LIMIT 1");
  return rows.length > 0;
}

export interface LogState {
  /** The cursor of the newest event (0: none yet). */
  readonly last: number;
  /** Every event with a cursor up to this one was deleted by retention (0: none). */
  readonly pruned: number;
}

export function* logState(): Tx<LogState> {
  const rows = yield* all("SELECT `name`, `value` FROM `event_log_state`");
  const get = (name: string) => num(rows.find((r) => r.name === name)?.value ?? 0);
  const lastBatch = get("last");
  let last = 0;
  if (lastBatch > 0) {
    const found = yield* all("SELECT `count` FROM `event_log` WHERE `cursor` = ?", [lastBatch]);
    // A batch deleted by retention: the whole span counts as given.
    last = lastBatch * BATCH_SPAN + num(found[0]?.count ?? BATCH_SPAN) - 1;
  }
  return { last, pruned: get("pruned") };
}

/** The events of a batch row, with their cursors. */
function eventsOfRow(r: Row): LoggedEvent[] {
  const base = num(r.cursor) * BATCH_SPAN;
  const text = String(r.events);
  const events = JSON.parse(text) as EventDraft[];
  const bytes = Math.ceil(text.length / Math.max(1, events.length));
  return events.map((e, i) => ({ ...e, cursor: base + i, bytes }));
}

/** What readEvents found: the matching events, and how far it looked. */
export interface EventsRead {
  readonly events: LoggedEvent[];
  /** Every event with a cursor up to this one was examined (>= after). */
  readonly through: number;
}

/** Batches read per statement, and about how many bytes of events one read returns at most. */
const READ_BATCHES = 16;
const READ_BYTES = 8 * 1024 * 1024;

/**
 * Events with a cursor in (after, upTo], in cursor order, that `matcher` accepts (all without
 * one): the batches that hold them, read until about `limit` events were examined.
 */
export function* readEvents(
  after: number,
  upTo: number,
  limit: number,
  matcher?: EventMatcher,
): Tx<EventsRead> {
  const events: LoggedEvent[] = [];
  let through = after;
  let from = Math.floor(after / BATCH_SPAN);
  const last = Math.floor(upTo / BATCH_SPAN);
  let examined = 0;
  let bytes = 0;
  for (;;) {
    const rows = yield* all(
      "SELECT `cursor`, `events` FROM `event_log` WHERE `cursor` >= ? AND `cursor` <= ? ORDER BY `cursor` LIMIT ?",
      [from, last, READ_BATCHES],
    );
    for (const row of rows) {
      bytes += String(row.events).length;
      for (const e of eventsOfRow(row)) {
        if (e.cursor <= after || e.cursor > upTo) continue;
        examined++;
        through = e.cursor;
        if (matcher === undefined || matcher.matches(e)) events.push(e);
      }
      if (examined >= limit || bytes >= READ_BYTES) return { events, through };
    }
    if (rows.length < READ_BATCHES) return { events, through: Math.max(through, upTo) };
    from = num(rows[rows.length - 1]?.cursor) + 1;
  }
}

/**
 * Retention: deletes the oldest batches, in cursor order, while their newest event is older
 * than `before` (at most `limit` batches), and records the cursor of the last event deleted.
 * Deleting a prefix of the log keeps the rule simple: a cursor below `pruned` may have lost
 * events after it (OUT_OF_RANGE), any other has not. Answers how many batches were deleted.
 */
export function* pruneEvents(d: Dialect, before: number, limit: number): Tx<number> {
  const oldest = yield* all(
    "SELECT `cursor`, `count`, `time` FROM `event_log` WHERE `cursor` IS NOT NULL ORDER BY `cursor` LIMIT ?",
    [limit],
  );
  let upTo = 0;
  let lastEvent = 0;
  let batches = 0;
  for (const r of oldest) {
    if (num(r.time) >= before) break;
    upTo = num(r.cursor);
    lastEvent = upTo * BATCH_SPAN + num(r.count) - 1;
    batches++;
  }
  if (upTo === 0) return 0;
  const state = yield* all(
    `SELECT \`value\` FROM \`event_log_state\` WHERE \`name\` = 'pruned'${d.lock}`,
  );
  yield* exec("DELETE FROM `event_log` WHERE `cursor` IS NOT NULL AND `cursor` <= ?", [upTo]);
  if (lastEvent > num(state[0]?.value ?? 0))
    yield* exec("UPDATE `event_log_state` SET `value` = ? WHERE `name` = 'pruned'", [lastEvent]);
  return batches;
}
