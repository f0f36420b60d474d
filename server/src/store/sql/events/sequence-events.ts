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
import { all, num, placeholders, write, type Row, type Tx } from "../runner.js";

/**
 * Gives cursors to up to `limit` committed batches that have none, in id order, after the
 * highest cursor given so far. Answers how many it gave. Serial across nodes (the `last` row
 * lock).
 */
export function* sequenceEvents(d: Dialect, limit: number): Tx<number> {
  let last: number;
  let pending: Row[];
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
      "SELECT `id`, @metronome_last AS `last` FROM `event_log` WHERE `cursor` IS NULL ORDER BY `id` LIMIT ?",
      [limit],
    );
    last = num(pending[0]?.last ?? 0);
  } else {
    // PostgreSQL has no session variable for a locking read to fill; SQLite has one writer and
    // no round trips.
    const state = yield* all(
      `SELECT \`value\` FROM \`event_log_state\` WHERE \`name\` = 'last'${d.lock}`,
    );
    last = num(state[0]?.value ?? 0);
    pending = yield* all(
      "SELECT `id` FROM `event_log` WHERE `cursor` IS NULL ORDER BY `id` LIMIT ?",
      [limit],
    );
  }
  if (pending.length === 0) return 0;
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
  return ids.length;
}
