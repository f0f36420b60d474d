import { planClaim } from "../../../domain/claim-plan.js";
import type { ClaimRequest, ClaimResult } from "../../port.js";
import type { Dialect } from "../dialect.js";
import { byScheduler, JOB_SELECT, jobFromSelected } from "../job-rows.js";
import { all, notIn, placeholders, write, type Tx } from "../runner.js";
import { pausedSchedulers } from "../schedulers/paused-schedulers.js";
import { insertRuns } from "./insert-runs.js";

/**
 * Claims up to `limit` jobs due by `horizon` (next_run_time <= horizon, scheduler not paused)
 * with row locks that other nodes skip, and does what the domain's `planClaim` makes of them:
 * their fire times become runs as `plan` decides (fire times after now become runs due later:
 * prepared ahead), their next_run_time advances, jobs whose trigger has ended are removed and
 * those that cannot be planned paused. A run that already exists for the same job and fire
 * time is not created again (the unique key).
 */
export function* claimDueJobs(d: Dialect, req: ClaimRequest): Tx<ClaimResult> {
  const paused = yield* pausedSchedulers();
  const after = req.after === undefined ? "" : " AND `next_run_time` >= ?";
  const rows = yield* all(
    `SELECT ${JOB_SELECT} FROM \`jobs\` WHERE \`next_run_time\` <= ?${after}${notIn("scheduler", paused)} ORDER BY \`next_run_time\` LIMIT ?${d.lockSkipLocked}`,
    [req.horizon, ...(req.after === undefined ? [] : [req.after]), ...paused, req.limit],
  );
  if (rows.length === 0) return { jobs: 0, runs: [], ignored: 0, paused, ended: [], broken: [] };
  const jobs = rows.map(jobFromSelected);
  const { runs, ended: finished, broken, ...planned } = planClaim(jobs, req.plan);
  const advance = planned.advance.map((a) => ({
    scheduler: a.job.scheduler,
    id: a.job.id,
    next: a.nextRunTime,
  }));
  const created = yield* insertRuns(d, runs);
  for (const [scheduler, part] of byScheduler(advance, 500)) {
    yield* write(
      `UPDATE \`jobs\` SET \`next_run_time\` = CASE \`id\` ${part.map(() => "WHEN ? THEN ?").join(" ")} END WHERE \`scheduler\` = ? AND \`id\` IN (${placeholders(part.length)})`,
      [...part.flatMap((a) => [a.id, a.next]), scheduler, ...part.map((a) => a.id)],
    );
  }
  // Jobs whose trigger ended are deleted (their runs stay).
  for (const [scheduler, part] of byScheduler(finished, 500)) {
    yield* write(
      `DELETE FROM \`jobs\` WHERE \`scheduler\` = ? AND \`id\` IN (${placeholders(part.length)})`,
      [scheduler, ...part.map((j) => j.id)],
    );
  }
  // A job that cannot be planned must not block the others (it would sort first every time).
  for (const [scheduler, part] of byScheduler(broken, 500))
    yield* write(
      `UPDATE \`jobs\` SET \`paused\` = 1, \`next_run_time\` = NULL WHERE \`scheduler\` = ? AND \`id\` IN (${placeholders(part.length)})`,
      [scheduler, ...part.map((j) => j.id)],
    );
  const through = jobs[jobs.length - 1]?.nextRunTime;
  return {
    ...(typeof through === "number" ? { through } : {}),
    jobs: jobs.length,
    runs: runs.filter((r) => created.has(r.id)),
    ignored: runs.length - created.size,
    paused,
    ended: finished,
    broken,
  };
}
