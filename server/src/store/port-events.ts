/**
 * The store port's part about the event log (docs/events.md): appending, sequencing, reading and
 * pruning events. Part of the one `Store` interface (port.ts, which re-exports this file).
 *
 * Implemented by the SQL stores (sql/events/) and the Redis stores (redis/events.ts).
 */
import type { EventDraft, EventMatcher, LoggedEvent } from "../domain/events.js";

export interface LogState {
  /** The cursor of the newest event (0: none yet). */
  readonly last: number;
  /** Every event with a cursor up to this one was deleted by retention (0: none). */
  readonly pruned: number;
}

/** What a sequencer operation that read its rows gave cursors to (EventStore.sequenceEventsRead). */
export interface Sequenced {
  /** Batches given cursors (sequenceEvents' answer). */
  readonly count: number;
  /** The cursor of the newest event sequenced before this operation (0: none), when `count` > 0. */
  readonly after: number;
  /**
   * The events given cursors, in cursor order, with their cursors; none when there were too many
   * to take in one go or one could not be read (a reader then reads the log).
   */
  readonly events: readonly LoggedEvent[];
}

/** What readEvents found: the matching events, and how far it looked. */
export interface EventsRead {
  readonly events: LoggedEvent[];
  /** Every event with a cursor up to this one was examined (>= after). */
  readonly through: number;
}

/**
 * The event log. Events are written by the changes they report (their `events` argument), or
 * alone with `appendEvents`. Cursors are positive, increasing numbers; a reader must only ever
 * see them as a prefix (1..n readable, nothing new appearing below n), so a subscriber resuming
 * after a cursor misses nothing. A store whose appends are ordered when they commit (a Redis
 * stream) gives cursors at once and has nothing to sequence; the SQL stores give cursors after
 * commit (sql/events/sequence-events.ts explains why).
 */
export interface EventStore {
  /** Writes events that report no other change (a node or worker session started or ended). */
  appendEvents(events: readonly EventDraft[]): Promise<void>;
  /**
   * Calls `listener` with the events of each of this store object's commits that wrote some,
   * after the commit (never for a change rolled back), and whether the commit gave them their
   * cursors (onEventsSequenced told of them; sequenceEvents has nothing to do for them).
   * Listeners add up.
   */
  onEventsCommitted(listener: (events: readonly EventDraft[], sequenced?: boolean) => void): void;
  /**
   * Offered by a store whose commits can give their own events their cursors (MySQL:
   * sql/events/sequence-at-commit.ts): `listener` is called after each such commit with what it
   * sequenced, as sequenceEventsRead answers it, its events read when `wants()` says so at that
   * moment (none otherwise). Events committed without cursors still wait for sequenceEvents.
   */
  onEventsSequenced?(listener: (s: Sequenced) => void, wants: () => boolean): void;
  /**
   * Gives up to `limit` committed batches without a cursor their cursors, after every cursor
   * given so far; serial across nodes. Answers how many (0 where appends are ordered at commit).
   */
  sequenceEvents(limit: number): Promise<number>;
  /**
   * sequenceEvents, answering also the events it gave cursors to and where the log ended before
   * them, so that a reader holding every event up to that end can take them without reading the
   * log. Stores that read the rows they sequence offer it (the SQL stores).
   */
  sequenceEventsRead?(limit: number): Promise<Sequenced>;
  /** Whether some committed event waits for its cursor. */
  hasUnsequenced(): Promise<boolean>;
  logState(): Promise<LogState>;
  /**
   * Events with a cursor in (after, upTo], in cursor order, that `matcher` accepts (all without
   * one), read until about `limit` events were examined.
   */
  readEvents(
    after: number,
    upTo: number,
    limit: number,
    matcher?: EventMatcher,
  ): Promise<EventsRead>;
  /**
   * Retention: deletes the oldest events, in cursor order, while they are older than `before`
   * (at most `limit` units of storage), and records the cursor of the last deleted
   * (LogState.pruned) in the same transaction. Answers how many units were deleted (0: done).
   */
  pruneEvents(before: number, limit: number): Promise<number>;
}
