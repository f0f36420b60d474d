/**
 * What a claim does with the jobs it claimed, decided once for every store
 * (store/sql/firing/claim-due-jobs.ts, store/redis/firing.ts): each job's plan (the engine's
 * `plan`, from the job's trigger) gives the runs its fire times become and its next run time. A
 * job whose trigger ended (no next run time) is removed, its runs stay; a job that cannot be
 * planned is paused with no next run time, so that it does not block the others (it would sort
 * first every time).
 */
import type { Job } from "./jobs.js";
import type { Run } from "./runs.js";

/** A job's fire times as runs, and its next run time (null: its trigger ended). */
export interface JobPlan {
  readonly runs: readonly Run[];
  readonly nextRunTime: number | null;
}

export interface ClaimPlan {
  /** The runs to create (one that exists for the same job and fire time is not created again). */
  readonly runs: Run[];
  /** The jobs that go on, with their next run time. */
  readonly advance: { readonly job: Job; readonly nextRunTime: number }[];
  /** The jobs whose trigger ended: removed. */
  readonly ended: Job[];
  /** The jobs that cannot be planned (`plan` answered null): paused. */
  readonly broken: Job[];
}

export function planClaim(jobs: readonly Job[], plan: (job: Job) => JobPlan | null): ClaimPlan {
  const out: ClaimPlan = { runs: [], advance: [], ended: [], broken: [] };
  for (const job of jobs) {
    const decided = plan(job);
    if (decided === null) {
      out.broken.push(job);
      continue;
    }
    out.runs.push(...decided.runs);
    if (decided.nextRunTime === null) out.ended.push(job);
    else out.advance.push({ job, nextRunTime: decided.nextRunTime });
  }
  return out;
}
