import type { DueJob } from "../../port.js";
import { all, num, placeholders, type Tx } from "../runner.js";

/**
 * Jobs of these schedulers due by `horizon`, earliest first (those of paused schedulers wait).
 * A job kept until its last run is due is not: its next_run_time is where the claim that removes
 * it starts, not a fire time (domain/prepared-runs.ts).
 */
export function* dueJobsOf(
  schedulers: readonly string[],
  horizon: number,
  limit: number,
): Tx<DueJob[]> {
  if (schedulers.length === 0) return [];
  const rows = yield* all(
    `SELECT \`scheduler\`, \`id\`, \`handler\`, \`next_run_time\` AS \`t\` FROM \`jobs\` WHERE \`scheduler\` IN (${placeholders(schedulers.length)}) AND \`next_run_time\` <= ? AND \`last_fire_prepared\` = 0 ORDER BY \`next_run_time\` LIMIT ?`,
    [...schedulers, horizon, limit],
  );
  return rows.map((r) => ({
    scheduler: String(r.scheduler),
    id: String(r.id),
    handler: String(r.handler),
    nextRunTime: num(r.t),
  }));
}
