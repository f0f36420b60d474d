/**
 * Why cursors are assigned after commit: an auto-increment id is taken when a row is inserted,
 * but transactions commit in any order, so a reader that saw id 11 committed could later see id
 * 10 appear and, resuming after 11, skip it. Here every change inserts its events with cursor
 * NULL (append-events.ts); the sequencer then reads committed events without a cursor and gives
 * them the next cursors, holding the `last` row of `event_log_state` until it commits. Sequencer
 * transactions are therefore serial, each commits before the next takes the lock, and a reader
 * always sees the cursors as a prefix: 1..n committed, nothing above n. An event that commits
 * late simply gets a later cursor.
 */
import type { Dialect } from "../dialect.js";
import type { Sequenced } from "../../port.js";
import { all, num, placeholders, write, type Row, type SequencedRows, type Tx } from "../runner.js";
import { BATCH_SPAN } from "./append-events.js";
import { eventsOfRow, READ_BYTES } from "./read-events.js";

/**
 * Gives cursors to up to `limit` committed batches that have none, in id order, after the
 * highest cursor given so far. Answers how many it gave. Serial across nodes (the `last` row
 * lock).
 */
export function* sequenceEvents(d: Dialect, limit: number): Tx<number> {
  return (yield* sequence(d, limit, false)).count;
}

/**
 * sequenceEvents, reading the rows it sequences with the same statement: answers their text with
 * their cursors, and the cursor of the newest event before them (the hub takes them without
 * reading the log when it holds everything up to that one). The text is parsed once the
 * transaction committed (sequencedEvents), not while it holds the `last` lock.
 */
export function* sequenceEventsRead(d: Dialect, limit: number): Tx<SequencedRows> {
  return yield* sequence(d, limit, true);
}

/**
 * The events of a reading sequencer's rows, with their cursors: none when they are over the
 * bytes one read of the log takes (the hub then reads the log in pages) or when a row cannot be
 * read (the hub's read of the log then fails and says why; the sequencing committed all the same,
 * so one unreadable row never holds back the cursors of the others).
 */
export function sequencedEvents(s: SequencedRows): Sequenced {
  let bytes = 0;
  for (const r of s.rows) bytes += String(r.events).length;
  if (bytes > READ_BYTES) return { count: s.count, after: s.after, events: [] };
  try {
    return { count: s.count, after: s.after, events: s.rows.flatMap(eventsOfRow) };
  } catch {
    return { count: s.count, after: s.after, events: [] };
  }
}

/**
 * The cursor of the newest event of batch `last` (0: none), which holds `count` events: as
 * logState counts it (a batch deleted by retention, whose count is unknown: its whole span).
 */
export function endOfBatch(last: number, count: unknown): number {
  return last > 0 ? last * BATCH_SPAN + num(count ?? BATCH_SPAN) - 1 : 0;
}

function* sequence(d: Dialect, limit: number, read: boolean): Tx<SequencedRows> {
  let last: number;
  let lastCount: unknown;
  let pending: Row[];
  // With `read`, the rows' events, and the size of the batch `last` names (the end before them).
  const columns = read
    ? "`id`, `events`, (SELECT `count` FROM `event_log` AS `l` WHERE `l`.`cursor` = @metronome_last) AS `last_count`"
    : "`id`";
  if (d.name === "mysql") {
    // The lock and the read in one round trip on a pipelined connection: the locking read keeps
    // `last` in a session variable (reset first: the connection is pooled), and the plain read
    // after it, a statement of its own, sees what committed until the lock was granted
    // (READ COMMITTED: one snapshot per statement). The read must stay plain: a locking one
    // would wait for the transactions still inserting events.
    yield* write("SET @metronome_last = 0");
    yield* write(
      "SELECT `value` INTO @metronome_last FROM `event_log_state` WHERE `name` = 'last' FOR UPDATE",
    );
    pending = yield* all(
      `SELECT ${columns}, @metronome_last AS \`last\` FROM \`event_log\` WHERE \`cursor\` IS NULL ORDER BY \`id\` LIMIT ?`,
      [limit],
    );
    last = num(pending[0]?.last ?? 0);
    lastCount = pending[0]?.last_count;
  } else {
    // PostgreSQL has no session variable for a locking read to fill; SQLite has one writer and
    // no round trips.
    const state = yield* all(
      `SELECT \`value\` FROM \`event_log_state\` WHERE \`name\` = 'last'${d.lock}`,
    );
    last = num(state[0]?.value ?? 0);
    pending = yield* all(
      `SELECT ${read ? "`id`, `events`" : "`id`"} FROM \`event_log\` WHERE \`cursor\` IS NULL ORDER BY \`id\` LIMIT ?`,
      [limit],
    );
    if (read && pending.length > 0 && last > 0)
      lastCount = (yield* all("SELECT `count` FROM `event_log` WHERE `cursor` = ?", [last]))[0]
        ?.count;
  }
  const after = endOfBatch(last, lastCount);
  if (pending.length === 0) return { count: 0, after, rows: [] };
  const ids = pending.map((r) => num(r.id));
  // cursor = id + shift keeps the id order and uniqueness, and starts above `last`.
  const first = ids[0] ?? 0;
  const shift = Math.max(0, last + 1 - first);
  yield* write(
    `UPDATE \`event_log\` SET \`cursor\` = \`id\` + ? WHERE \`cursor\` IS NULL AND \`id\` IN (${placeholders(ids.length)})`,
    [shift, ...ids],
  );
  yield* write("UPDATE `event_log_state` SET `value` = ? WHERE `name` = 'last'", [
    (ids[ids.length - 1] ?? 0) + shift,
  ]);
  const rows = read ? pending.map((r) => ({ cursor: num(r.id) + shift, events: r.events })) : [];
  return { count: ids.length, after, rows };
}
