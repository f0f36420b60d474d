import { foldIntoCoalesced, planClaim } from "../../../domain/claim-plan.js";
import type { Run } from "../../../domain/runs.js";
import type { ClaimRequest, ClaimResult } from "../../port.js";
import type { Dialect } from "../dialect.js";
import { byScheduler, JOB_SELECT, jobFromSelected, jobKey } from "../job-rows.js";
import { RUN_SELECT, runFromRow, writeRun } from "../run-rows.js";
import { all, notIn, placeholders, write, type Tx } from "../runner.js";
import { pausedSchedulers } from "../schedulers/paused-schedulers.js";
import { insertRuns } from "./insert-runs.js";

/**
 * Claims up to `limit` jobs due by `horizon` (next_run_time <= horizon, scheduler not paused)
 * with row locks that other nodes skip, and does what the domain's `planClaim` makes of them:
 * their fire times become runs as `plan` decides (fire times after now become runs due later:
 * prepared ahead), their next_run_time advances (with the first fire time prepared ahead, which
 * reads show), jobs whose trigger has ended are removed (once their last run is due: until then
 * they stay, not claimed before it) and those that cannot be planned paused. A run that already
 * exists for the same job and fire time is not created again (the unique key). A coalesced run
 * created (several overdue fire times of a job became one) ends its job's earlier pending runs,
 * prepared before an outage (foldPrepared): they are in the claim's `runs` too, missed.
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
  const { runs, ended: finished, broken, coalesced, ...planned } = planClaim(jobs, req.plan);
  const advance = planned.advance.map((a) => ({
    scheduler: a.job.scheduler,
    id: a.job.id,
    next: a.nextRunTime,
    first: a.preparedFirst,
    last: a.lastFirePrepared ? 1 : 0,
  }));
  const created = yield* insertRuns(d, runs);
  const folded =
    coalesced.length === 0
      ? []
      : yield* foldPrepared(
          d,
          coalesced.filter((r) => created.has(r.id)),
        );
  // What the job keeps of its runs prepared ahead goes in the same statement (reads show the
  // first of them; a job whose trigger ended stays until the last is due): no statement more.
  for (const [scheduler, part] of byScheduler(advance, 500)) {
    // ELSE the column itself (never taken): on PostgreSQL a CASE of untyped NULL parameters alone
    // would be text, and its ELSE gives it the column's type.
    const cases = (column: string) =>
      `\`${column}\` = CASE \`id\` ${part.map(() => "WHEN ? THEN ?").join(" ")} ELSE \`${column}\` END`;
    yield* write(
      `UPDATE \`jobs\` SET ${cases("next_run_time")}, ${cases("prepared_first")}, ${cases("last_fire_prepared")} WHERE \`scheduler\` = ? AND \`id\` IN (${placeholders(part.length)})`,
      [
        ...part.flatMap((a) => [a.id, a.next]),
        ...part.flatMap((a) => [a.id, a.first]),
        ...part.flatMap((a) => [a.id, a.last]),
        scheduler,
        ...part.map((a) => a.id),
      ],
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
    runs: [...runs.filter((r) => created.has(r.id)), ...folded],
    ignored: runs.length - created.size,
    paused,
    ended: finished,
    broken,
  };
}

/**
 * The earlier pending runs of the coalesced runs' jobs end, folded into them (the domain's
 * foldIntoCoalesced decides which): read with row locks under the jobs' locks, which this claim
 * holds, so no hand-out takes one meanwhile (runs_job_status finds a job's pending rows).
 */
function* foldPrepared(d: Dialect, into: readonly Run[]): Tx<Run[]> {
  const out: Run[] = [];
  const jobs = into.map((run) => ({ scheduler: run.scheduler, run }));
  for (const [scheduler, part] of byScheduler(jobs, 500)) {
    const ids = [...new Set(part.map((p) => p.run.jobId))];
    const before = Math.max(...part.map((p) => p.run.scheduledTime));
    const rows = yield* all(
      `SELECT ${RUN_SELECT} FROM \`runs\` WHERE \`scheduler\` = ? AND \`job_id\` IN (${placeholders(ids.length)}) AND \`status\` = 'pending' AND \`manual\` = 0 AND \`attempt\` = 1 AND \`scheduled_time\` < ?${d.lock}`,
      [scheduler, ...ids, before],
    );
    const pending = new Map<string, Run[]>();
    for (const run of rows.map(runFromRow)) {
      const key = jobKey(run.scheduler, run.jobId);
      pending.set(key, [...(pending.get(key) ?? []), run]);
    }
    for (const { run } of part)
      out.push(...foldIntoCoalesced(run, pending.get(jobKey(run.scheduler, run.jobId)) ?? []));
  }
  for (const r of out) yield* writeRun(r);
  return out;
}
