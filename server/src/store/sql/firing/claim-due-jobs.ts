import type { Job } from "../../../domain/jobs.js";
import type { Run } from "../../../domain/runs.js";
import type { ClaimRequest, ClaimResult } from "../../port.js";
import type { Dialect } from "../dialect.js";
import { byScheduler, JOB_SELECT, jobFromSelected } from "../job-rows.js";
import { all, notIn, placeholders, write, type Tx } from "../runner.js";
import { pausedSchedulers } from "../schedulers/paused-schedulers.js";
import { insertRuns } from "./insert-runs.js";

/**
 * Claims up to `limit` jobs due by `horizon` (next_run_time <= horizon, scheduler not paused)
 * with row locks that other nodes skip, turns their fire times into runs as `plan` decides
 * (fire times after now become runs due later: prepared ahead), advances their next_run_time,
 * and removes jobs whose trigger has ended. A run that already exists for the same job and fire
 * time is not created again (the unique key).
 */
export function* claimDueJobs(d: Dialect, req: ClaimRequest): Tx<ClaimResult> {
  const paused = yield* pausedSchedulers();
  const rows = yield* all(
    `SELECT ${JOB_SELECT} FROM \`jobs\` WHERE \`next_run_time\` <= ?${notIn("scheduler", paused)} ORDER BY \`next_run_time\` LIMIT ?${d.lockSkipLocked}`,
    [req.horizon, ...paused, req.limit],
  );
  if (rows.length === 0) return { jobs: 0, runs: [], ignored: 0, paused, ended: [], broken: [] };
  const jobs = rows.map(jobFromSelected);
  const runs: Run[] = [];
  const advance: { scheduler: string; id: string; next: number }[] = [];
  const finished: Job[] = [];
  const broken: Job[] = [];
  for (const job of jobs) {
    const decided = req.plan(job);
    if (decided === null) {
      broken.push(job);
      continue;
    }
    runs.push(...decided.runs);
    if (decided.nextRunTime === null) finished.push(job);
    else advance.push({ scheduler: job.scheduler, id: job.id, next: decided.nextRunTime });
  }
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
  return {
    jobs: jobs.length,
    runs: runs.filter((r) => created.has(r.id)),
    ignored: runs.length - created.size,
    paused,
    ended: finished,
    broken,
  };
}
