import { chunks } from "../../../lib/chunks.js";
import type { Dialect } from "../dialect.js";
import { all, exec, num, numOrNull, placeholders, type Tx } from "../runner.js";

/**
 * A scheduler paused since `since` is about to be resumed: the runs prepared before the pause
 * for fire times during or after it are withdrawn, and their jobs' next_run_time rewound to the
 * first of them (by nominal time), so that those fire times go through the misfire rules
 * (coalesce, grace) as the pause's other fire times do. A run is taken by its due time, the
 * nominal time plus jitter: one whose nominal time came before the pause but whose jittered time
 * did not was not due yet either (`PREPARED` in run-rows.ts). Answers how many runs were
 * withdrawn.
 */
export function* withdrawPreparedRuns(d: Dialect, scheduler: string, since: number): Tx<number> {
  const prepared = yield* all(
    "SELECT `job_id`, MIN(`scheduled_time`) AS `t` FROM `runs` WHERE `scheduler` = ? AND `status` = 'pending' AND `manual` = 0 AND `attempt` = 1 AND `due_at` >= ? GROUP BY `job_id`",
    [scheduler, since],
  );
  if (prepared.length === 0) return 0;
  const first = new Map(prepared.map((r) => [String(r.job_id), num(r.t)]));
  for (const part of chunks([...first.keys()], 500)) {
    const jobs = yield* all(
      `SELECT \`id\`, \`next_run_time\` AS \`t\` FROM \`jobs\` WHERE \`scheduler\` = ? AND \`paused\` = 0 AND \`id\` IN (${placeholders(part.length)})${d.lock}`,
      [scheduler, ...part],
    );
    for (const j of jobs) {
      const t = first.get(String(j.id));
      const next = numOrNull(j.t);
      if (t === undefined) continue;
      // The job keeps nothing of the runs withdrawn: no first fire time prepared to show, and
      // a trigger that ended with them has its last fire time to claim again.
      yield* exec(
        "UPDATE `jobs` SET `next_run_time` = ?, `prepared_first` = NULL, `last_fire_prepared` = 0 WHERE `scheduler` = ? AND `id` = ?",
        [next === null || t < next ? t : next, scheduler, String(j.id)],
      );
    }
  }
  return yield* exec(
    "DELETE FROM `runs` WHERE `scheduler` = ? AND `status` = 'pending' AND `manual` = 0 AND `attempt` = 1 AND `due_at` >= ?",
    [scheduler, since],
  );
}
