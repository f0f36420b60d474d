/**
 * The event log on a Redis stream (`{events}:log`): one entry per event, its id `0-<cursor>`.
 * A change's script pushes its events onto the inbox list (`{events}:inbox`) in commit order;
 * the sequencer (scripts/sequence-events.ts) moves them to the stream, each with the next cursor
 * (the counter `{events}:last`), so readers see cursors as a prefix. Retention trims the stream
 * (XTRIM MINID) and records the last cursor trimmed in `{events}:pruned`.
 */
import type { EventDraft, EventMatcher, LoggedEvent } from "../../domain/events.js";
import type { EventsRead, LogState } from "../port.js";
import type { Db } from "./db.js";
import { eventArgs } from "./db.js";
import { APPEND_EVENTS } from "./scripts/append-events.js";
import { PRUNE_EVENTS } from "./scripts/prune-events.js";
import { SEQUENCE_EVENTS } from "./scripts/sequence-events.js";

/** Entries read per round trip. */
const READ = 500;

export async function appendEvents(db: Db, events: readonly EventDraft[]): Promise<void> {
  if (events.length === 0) return;
  await db.run(APPEND_EVENTS, { events: eventArgs(events) });
}

export async function logState(db: Db): Promise<LogState> {
  const [last, pruned] = await db.call(() =>
    db.redis.mget(db.keys.events("last"), db.keys.events("pruned")),
  );
  return { last: Number(last ?? 0), pruned: Number(pruned ?? 0) };
}

const cursorOf = (id: string): number => Number(id.slice(id.indexOf("-") + 1));

export async function readEvents(
  db: Db,
  after: number,
  upTo: number,
  limit: number,
  matcher?: EventMatcher,
): Promise<EventsRead> {
  const events: LoggedEvent[] = [];
  let through = after;
  let from = `(0-${String(after)}`;
  if (after <= 0) from = "-";
  for (let examined = 0; examined < limit;) {
    const entries = await db.call(() =>
      db.redis.xrange(db.keys.events("log"), from, `0-${String(upTo)}`, "COUNT", READ),
    );
    for (const [id, fields] of entries) {
      const cursor = cursorOf(id);
      const text = fields[fields.indexOf("e") + 1] ?? "{}";
      const e: LoggedEvent = { ...(JSON.parse(text) as EventDraft), cursor, bytes: text.length };
      examined++;
      through = cursor;
      if (matcher === undefined || matcher.matches(e)) events.push(e);
      if (examined >= limit) return { events, through };
    }
    if (entries.length < READ) return { events, through: Math.max(through, upTo) };
    from = `(0-${String(through)}`;
  }
  return { events, through };
}

export async function pruneEvents(db: Db, before: number, limit: number): Promise<number> {
  return Number(await db.run(PRUNE_EVENTS, { before: String(before), limit: String(limit) }));
}

export async function sequenceEvents(db: Db, limit: number): Promise<number> {
  return Number(await db.run(SEQUENCE_EVENTS, { limit: String(limit) }));
}

export async function hasUnsequenced(db: Db): Promise<boolean> {
  return (await db.call(() => db.redis.llen(db.keys.events("inbox")))) > 0;
}
