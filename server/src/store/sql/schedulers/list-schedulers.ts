import type { Scheduler } from "../../../domain/jobs.js";
import { all, type Tx } from "../runner.js";
import { SCHEDULER_SELECT, schedulerFromSelected } from "../scheduler-rows.js";

/** Every scheduler, by name. */
export function* listSchedulers(): Tx<Scheduler[]> {
  const rows = yield* all(`SELECT ${SCHEDULER_SELECT} FROM \`schedulers\` ORDER BY \`name\``);
  return rows.map(schedulerFromSelected);
}
