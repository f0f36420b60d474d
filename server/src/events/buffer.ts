/**
 * The events a node read last, kept in memory so that a subscription that starts or falls a
 * little behind catches up without reading the store. Holds every event with a cursor in
 * (floor, head], in order, bounded by a count and about a number of bytes.
 */
import type { EventMatcher, LoggedEvent } from "../domain/events.js";

export class RecentEvents {
  /** The newest cursor read. */
  head = 0;
  /** Every event after this cursor (up to head) is held. */
  floor = 0;
  private events: LoggedEvent[] = [];
  private bytes = 0;

  constructor(
    private readonly maxEvents: number,
    private readonly maxBytes: number,
  ) {}

  /** Starts empty at `cursor` (the log's end). */
  reset(cursor: number): void {
    this.head = cursor;
    this.floor = cursor;
    this.events = [];
    this.bytes = 0;
  }

  /** Adds the next events of the log, trimming the oldest beyond the bounds. */
  append(batch: readonly LoggedEvent[]): void {
    const last = batch[batch.length - 1];
    if (last === undefined) return;
    this.head = last.cursor;
    this.events.push(...batch);
    for (const e of batch) this.bytes += e.bytes ?? 0;
    // Trimmed in chunks, so that the copy is paid once per many batches.
    let excess = this.events.length - this.maxEvents;
    if (excess > this.maxEvents / 4 || this.bytes > this.maxBytes) {
      excess = Math.max(excess, 0);
      let bytes = this.bytes;
      for (const e of this.events.slice(0, excess)) bytes -= e.bytes ?? 0;
      while (bytes > this.maxBytes * 0.75 && excess < this.events.length)
        bytes -= this.events[excess++]?.bytes ?? 0;
      if (excess > 0) {
        this.floor = this.events[excess - 1]?.cursor ?? this.floor;
        this.events = this.events.slice(excess);
        this.bytes = bytes;
      }
    }
  }

  /** Whether every event after `cursor` is held. */
  holdsAfter(cursor: number): boolean {
    return cursor >= this.floor;
  }

  /**
   * Up to `limit` events after `cursor` that `matcher` accepts; `through`: the cursor up to
   * which they were examined, or null when every held event was examined.
   */
  after(
    cursor: number,
    matcher: EventMatcher,
    limit: number,
  ): { events: LoggedEvent[]; through: number | null } {
    let i = lowerBound(this.events, cursor);
    const events: LoggedEvent[] = [];
    for (; i < this.events.length && events.length < limit; i++) {
      const e = this.events[i];
      if (e !== undefined && matcher.matches(e)) events.push(e);
    }
    if (i < this.events.length) return { events, through: this.events[i - 1]?.cursor ?? cursor };
    return { events, through: null };
  }
}

/** The index of the first event with a cursor above `cursor`. */
function lowerBound(events: readonly LoggedEvent[], cursor: number): number {
  let lo = 0;
  let hi = events.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((events[mid]?.cursor ?? 0) <= cursor) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
