import type { Scheduler } from "../../../domain/jobs.js";
import { exec, placeholders, type Tx } from "../runner.js";
import { SCHEDULER_COLUMNS, schedulerCells } from "../scheduler-rows.js";

/** Inserts a scheduler (a duplicate name throws: the store answers false). */
export function* insertScheduler(s: Scheduler): Tx<boolean> {
  yield* exec(
    `INSERT INTO \`schedulers\` (${SCHEDULER_COLUMNS.map((c) => `\`${c}\``).join(", ")}) VALUES (${placeholders(SCHEDULER_COLUMNS.length)})`,
    schedulerCells(s),
  );
  return true;
}
