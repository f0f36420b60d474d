/**
 * Cursors given as a transaction commits (MySQL): the statements that replace a transaction's
 * event log inserts in the round trip that commits it. They take the sequencer's lock (the
 * `last` row of `event_log_state`), insert the rows with the next cursors, move `last` past
 * them and answer where the log ended before them; the COMMIT follows in the same round trip.
 *
 * Why this keeps cursors a prefix (sequence-events.ts says why cursors are not given at insert in
 * general): the lock is held from these statements to the commit, so no other transaction gives
 * cursors in between, and one that waits for it reads `last` once this one committed. The lock is
 * taken after the transaction's other statements (it never waits for a lock while holding this
 * one) and within one round trip, so it is held for the server's work of a few statements, not
 * for round trips, and the sequencer's own transaction (two round trips a run, and the wait for
 * the run under way) is saved for these events: on a loaded machine those round trips were most
 * of an event's way to its subscribers. Rows inserted otherwise (by nodes of an earlier version,
 * or by a transaction whose event insert went out before its commit) still get theirs from the
 * sequencer, under the same lock.
 *
 * Not where the database writes a binary log: a commit then holds its row locks until the log is
 * synced (and, with semi-synchronous replication, acknowledged by a replica), so every commit
 * with events would wait for the previous one's sync; MysqlStore checks `log_bin` and keeps the
 * sequencer there.
 */
import type { LogRow, Op, Row, SequencedRows } from "../runner.js";
import { endOfBatch } from "./sequence-events.js";

/** The statements, in order; the last one answers `last` and `last_count` (sequencedAtCommit). */
export function sequencingOps(rows: readonly LogRow[]): Op[] {
  return [
    // Reset first: the connection is pooled, and a missing row would leave the variable as is.
    { kind: "run", sql: "SET @metronome_last = 0", params: [] },
    {
      kind: "run",
      sql: "SELECT `value` INTO @metronome_last FROM `event_log_state` WHERE `name` = 'last' FOR UPDATE",
      params: [],
    },
    {
      kind: "run",
      sql: `INSERT INTO \`event_log\` (\`cursor\`, \`count\`, \`time\`, \`events\`) VALUES ${rows
        .map((_, i) => `(@metronome_last + ${String(i + 1)}, ?, ?, ?)`)
        .join(", ")}`,
      params: rows.flatMap((r) => [r.count, r.time, r.text]),
    },
    {
      kind: "run",
      sql: "UPDATE `event_log_state` SET `value` = @metronome_last + ? WHERE `name` = 'last'",
      params: [rows.length],
    },
    {
      kind: "all",
      sql: "SELECT @metronome_last AS `last`, (SELECT `count` FROM `event_log` WHERE `cursor` = @metronome_last) AS `last_count`",
      params: [],
    },
  ];
}

/**
 * What the statements sequenced: `rows` with their cursors, read from `results`, the answers of
 * the round trip that ran sequencingOps and then the COMMIT (the last statement's answer comes
 * just before the COMMIT's). Without an answer (never expected: the statements committed) it
 * names no rows, so that a reader reads the log rather than take events under cursors it cannot
 * know.
 */
export function sequencedAtCommit(
  rows: readonly LogRow[],
  results: readonly unknown[],
): SequencedRows {
  const answer = (results[results.length - 2] as Row[] | undefined)?.[0];
  if (answer?.last === undefined || answer.last === null)
    return { count: rows.length, after: 0, rows: [] };
  const last = Number(answer.last);
  return {
    count: rows.length,
    after: endOfBatch(last, answer.last_count),
    rows: rows.map((r, i) => ({ cursor: last + i + 1, events: r.text })),
  };
}
