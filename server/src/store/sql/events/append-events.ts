/**
 * Writing events, in the transaction of the change they report. The event log's rows are
 * batches: the events one statement writes (up to MAX_BATCH) share a row, inserted with cursor
 * NULL; sequence-events.ts gives the row its cursor after it commits. Event `i` of the batch with
 * cursor `b` has cursor `b * BATCH_SPAN + i`, so a transaction recording hundreds of events (a
 * claim, a lease, a batch of results) writes and sequences one row, not hundreds; the row says
 * what its events share once (batch-text.ts).
 */
import type { EventDraft } from "../../../domain/events.js";
import { chunks, chunksWithin } from "../../../lib/chunks.js";
import { STATEMENT_CHARS, type LogRow, type Param, type Tx } from "../runner.js";
import { batchText } from "./batch-text.js";

/** Event cursors per batch cursor: event `i` of batch `b` is `b * BATCH_SPAN + i`. */
export const BATCH_SPAN = 1024;
/** The most events in one row. */
const MAX_BATCH = 1000;

/**
 * The log rows of these events: up to MAX_BATCH events a row, fewer when their text would pass
 * STATEMENT_CHARS (events carrying large results: a part too large is halved until it fits or is
 * one event), each with the events it holds.
 */
function eventRows(events: readonly EventDraft[]): { row: LogRow; events: EventDraft[] }[] {
  const out: { row: LogRow; events: EventDraft[] }[] = [];
  const add = (part: EventDraft[]): void => {
    const text = batchText(part);
    if (text.length > STATEMENT_CHARS && part.length > 1) {
      const half = Math.ceil(part.length / 2);
      add(part.slice(0, half));
      add(part.slice(half));
      return;
    }
    out.push({
      row: { count: part.length, time: Math.max(...part.map((e) => e.time)), text },
      events: part,
    });
  };
  for (const part of chunks(events, MAX_BATCH)) add(part);
  return out;
}

function insertRows(rows: readonly LogRow[]): { sql: string; params: Param[] } {
  return {
    sql: `INSERT INTO \`event_log\` (\`count\`, \`time\`, \`events\`) VALUES ${rows.map(() => "(?, ?, ?)").join(", ")}`,
    params: rows.flatMap((r) => [r.count, r.time, r.text]),
  };
}

/**
 * `INSERT INTO event_log … VALUES` and its parameters, for these events, with the rows it writes
 * (none: null): one statement, for a transaction sent whole (store/mysql/hot.ts: a batch of
 * AddJob's inserts, whose events carry no payload).
 */
export function insertEventsStatement(
  events: readonly EventDraft[],
): { sql: string; params: Param[]; rows: LogRow[] } | null {
  const rows = eventRows(events).map((r) => r.row);
  if (rows.length === 0) return null;
  return { ...insertRows(rows), rows };
}

/**
 * Writes events in the current transaction; they get cursors once it commits. One statement,
 * or several when the rows' text would pass STATEMENT_CHARS.
 */
export function* appendEvents(events: readonly EventDraft[]): Tx<void> {
  const parts = chunksWithin(
    eventRows(events),
    MAX_BATCH,
    STATEMENT_CHARS,
    (r) => r.row.text.length,
  );
  for (const part of parts) {
    const rows = part.map((r) => r.row);
    yield {
      kind: "run",
      ...insertRows(rows),
      events: part.flatMap((r) => r.events),
      deferred: true,
      logRows: rows,
    };
  }
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
