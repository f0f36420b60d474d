import type { EventDraft } from "../../../domain/events.js";
import type { Scheduler } from "../../../domain/jobs.js";
import type { Dialect } from "../dialect.js";
import { appendEvents } from "../events/append-events.js";
import { all, exec, type Tx } from "../runner.js";
import {
  SCHEDULER_COLUMNS,
  SCHEDULER_SELECT,
  schedulerCells,
  schedulerFromSelected,
} from "../scheduler-rows.js";

/**
 * The locked read-modify-write of a scheduler, with the events `events` makes of the change when
 * `change` changed it. Null when it does not exist.
 */
export function* updateScheduler(
  d: Dialect,
  name: string,
  change: (current: Scheduler) => Scheduler,
  events: ((before: Scheduler, after: Scheduler) => readonly EventDraft[]) | undefined,
): Tx<Scheduler | null> {
  const rows = yield* all(
    `SELECT ${SCHEDULER_SELECT} FROM \`schedulers\` WHERE \`name\` = ?${d.lock}`,
    [name],
  );
  if (rows[0] === undefined) return null;
  const current = schedulerFromSelected(rows[0]);
  const next = change(current);
  if (next === current) return next;
  yield* exec(
    `UPDATE \`schedulers\` SET ${SCHEDULER_COLUMNS.map((c) => `\`${c}\` = ?`).join(", ")} WHERE \`name\` = ?`,
    [...schedulerCells(next), name],
  );
  if (events !== undefined) yield* appendEvents(events(current, next));
  return next;
}
