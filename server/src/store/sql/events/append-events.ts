/**
 * Writing events, in the transaction of the change they report. The event log's rows are
 * batches: the events one statement writes (up to MAX_BATCH) share a row, inserted with cursor
 * NULL; sequence-events.ts gives the row its cursor after it commits. Event `i` of the batch with
 * cursor `b` has cursor `b * BATCH_SPAN + i`, so a transaction recording hundreds of events (a
 * claim, a lease, a batch of results) writes and sequences one row, not hundreds; the row says
 * what its events share once (batch-text.ts).
 */
import type { EventDraft } from "../../../domain/events.js";
import { chunks } from "../../../lib/chunks.js";
import type { LogRow, Param, Tx } from "../runner.js";
import { batchText } from "./batch-text.js";

/** Event cursors per batch cursor: event `i` of batch `b` is `b * BATCH_SPAN + i`. */
export const BATCH_SPAN = 1024;
/** The most events in one row. */
const MAX_BATCH = 1000;

/**
 * `INSERT INTO event_log … VALUES` and its parameters, for these events, with the rows it writes
 * (none: null).
 */
export function insertEventsStatement(
  events: readonly EventDraft[],
): { sql: string; params: Param[]; rows: LogRow[] } | null {
  const rows: LogRow[] = chunks(events, MAX_BATCH).map((part) => ({
    count: part.length,
    time: Math.max(...part.map((e) => e.time)),
    text: batchText(part),
  }));
  if (rows.length === 0) return null;
  return {
    sql: `INSERT INTO \`event_log\` (\`count\`, \`time\`, \`events\`) VALUES ${rows.map(() => "(?, ?, ?)").join(", ")}`,
    params: rows.flatMap((r) => [r.count, r.time, r.text]),
    rows,
  };
}

/** Writes events in the current transaction; they get cursors once it commits. */
export function* appendEvents(events: readonly EventDraft[]): Tx<void> {
  const statement = insertEventsStatement(events);
  if (statement === null) return;
  yield {
    kind: "run",
    sql: statement.sql,
    params: statement.params,
    events,
    deferred: true,
    logRows: statement.rows,
  };
}

/** Runs an operation and writes the events `events` makes of its result, in its transaction. */
export function* withEvents<T>(
  body: Tx<T>,
  events: ((value: T) => readonly EventDraft[]) | undefined,
): Tx<T> {
  const value = yield* body;
  if (events !== undefined) yield* appendEvents(events(value));
  return value;
}
