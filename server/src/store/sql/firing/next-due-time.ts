import { all, notIn, num, type Tx } from "../runner.js";

/** The earliest next_run_time of a job whose scheduler is not paused. */
export function* nextDueTime(paused: readonly string[]): Tx<number | null> {
  const rows = yield* all(
    `SELECT \`next_run_time\` AS \`t\` FROM \`jobs\` WHERE \`next_run_time\` IS NOT NULL${notIn("scheduler", paused)} ORDER BY \`next_run_time\` LIMIT 1`,
    paused,
  );
  return rows[0] === undefined ? null : num(rows[0].t);
}
