import type { EventMatcher, LoggedEvent } from "../../../domain/events.js";
import type { EventsRead } from "../../port.js";
import { all, num, type Row, type Tx } from "../runner.js";
import { BATCH_SPAN } from "./append-events.js";
import { bytesPerEvent, eventsOfText } from "./batch-text.js";

/** Batches read per statement, and about how many bytes of events one read returns at most. */
const READ_BATCHES = 16;
export const READ_BYTES = 8 * 1024 * 1024;

/** The events of a batch row, with their cursors. */
export function eventsOfRow(r: Row): LoggedEvent[] {
  const base = num(r.cursor) * BATCH_SPAN;
  const text = String(r.events);
  const events = eventsOfText(text);
  const bytes = bytesPerEvent(text, events.length);
  // The objects are this read's own: their place is added to them rather than copied with it.
  events.forEach((e, i) => {
    const logged = e as { cursor?: number; bytes?: number };
    logged.cursor = base + i;
    logged.bytes = bytes;
  });
  return events as LoggedEvent[];
}

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
