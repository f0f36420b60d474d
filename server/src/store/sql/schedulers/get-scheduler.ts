import type { Scheduler } from "../../../domain/jobs.js";
import { all, type Tx } from "../runner.js";
import { SCHEDULER_SELECT, schedulerFromSelected } from "../scheduler-rows.js";

export function* getScheduler(name: string): Tx<Scheduler | null> {
  const rows = yield* all(`SELECT ${SCHEDULER_SELECT} FROM \`schedulers\` WHERE \`name\` = ?`, [
    name,
  ]);
  return rows[0] === undefined ? null : schedulerFromSelected(rows[0]);
}
