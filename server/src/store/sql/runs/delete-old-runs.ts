import { all, exec, placeholders, type Tx } from "../runner.js";

/** Retention: deletes up to `limit` runs that ended and fired before `before`; how many. */
export function* deleteOldRuns(before: number, limit: number): Tx<number> {
  // By fire time, per scheduler (runs_scheduler_scheduled_time): an index on the end time
  // would cost an update on every run. Only ended runs go.
  const schedulers = yield* all<{ scheduler: string }>("SELECT DISTINCT `scheduler` FROM `runs`");
  let deleted = 0;
  for (const { scheduler } of schedulers) {
    const rows = yield* all(
      "SELECT `id` FROM `runs` WHERE `scheduler` = ? AND `scheduled_time` < ? AND `status` NOT IN ('pending', 'running') ORDER BY `scheduled_time` LIMIT ?",
      [scheduler, before, limit - deleted],
    );
    if (rows.length > 0)
      deleted += yield* exec(
        `DELETE FROM \`runs\` WHERE \`id\` IN (${placeholders(rows.length)})`,
        rows.map((r) => String(r.id)),
      );
    if (deleted >= limit) break;
  }
  return deleted;
}
