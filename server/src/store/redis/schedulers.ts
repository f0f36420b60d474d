/** Schedulers on Redis: a hash each, their names in a sorted set, the paused ones in a set. */
import type { EventDraft } from "../../domain/events.js";
import type { Scheduler } from "../../domain/jobs.js";
import { type Fields, revOf, schedulerFields, schedulerFromFields } from "./codec.js";
import { Coalescer } from "./coalesce.js";
import { type Db, eventArgs } from "./db.js";
import { CONFLICT, optimistic } from "./optimistic.js";
import { INSERT_SCHEDULER } from "./scripts/insert-scheduler.js";
import { UPDATE_SCHEDULER } from "./scripts/update-scheduler.js";

/** Reads of a scheduler asked at about the same time, one per name. */
const readers = new WeakMap<Db, Coalescer<string, Fields | null>>();

/**
 * Reads made at about the same time (the jobs of an AddJobs call each ask for their scheduler
 * once a node's copy of it is stale) go in one round trip, one read per name (coalesce.ts): each
 * was asked before that round trip was sent, so each sees a state after it asked.
 */
function reader(db: Db): Coalescer<string, Fields | null> {
  let c = readers.get(db);
  if (c === undefined) {
    c = new Coalescer(async (names) => {
      const distinct = [...new Set(names)];
      const found = await db.hashes(distinct.map((n) => db.keys.sched(n, "scheduler")));
      const byName = new Map(distinct.map((n, i) => [n, found[i] ?? null]));
      return names.map((n) => byName.get(n) ?? null);
    }, READ_BATCH);
    readers.set(db, c);
  }
  return c;
}

/** Schedulers read per round trip, at most. */
const READ_BATCH = 1000;

export async function getScheduler(db: Db, name: string): Promise<Scheduler | null> {
  const read = reader(db).add(name);
  const h = await db.shared(read);
  return h === null ? null : schedulerFromFields(h);
}

export async function listSchedulers(db: Db): Promise<Scheduler[]> {
  const names = await db.call(() => db.redis.zrange(db.keys.global("scheduler-names"), 0, -1));
  const found = await db.hashes(names.map((n) => db.keys.sched(n, "scheduler")));
  return found.flatMap((h) => (h === null ? [] : [schedulerFromFields(h)]));
}

export async function insertScheduler(db: Db, s: Scheduler): Promise<boolean> {
  return (await db.run(INSERT_SCHEDULER, { fields: schedulerFields(s) })) === 1;
}

export function updateScheduler(
  db: Db,
  name: string,
  change: (current: Scheduler) => Scheduler,
  events: ((before: Scheduler, after: Scheduler) => readonly EventDraft[]) | undefined,
): Promise<Scheduler | null> {
  const key = db.keys.sched(name, "scheduler");
  return optimistic("updateScheduler", async () => {
    const [h] = await db.hashes([key]);
    if (h === null || h === undefined) return null;
    const current = schedulerFromFields(h);
    const next = change(current);
    if (next === current) return next;
    const reply = await db.run(UPDATE_SCHEDULER, {
      checks: [[key, revOf(h)]],
      fields: schedulerFields(next),
      events: eventArgs(events?.(current, next)),
    });
    return reply === CONFLICT ? CONFLICT : next;
  });
}
