/**
 * What a claim does with the jobs it claimed, decided once for every store
 * (store/sql/firing/claim-due-jobs.ts, store/redis/firing.ts): each job's plan (the engine's
 * `plan`, from the job's trigger) gives the runs its fire times become and its next run time. A
 * job whose trigger ended (no next run time) is removed, its runs stay; a job that cannot be
 * planned is paused with no next run time, so that it does not block the others (it would sort
 * first every time). A job whose trigger ended with a run prepared ahead stays until that run is
 * due (prepared-runs.ts, keepingPrepared); the claim that then takes it removes it.
 *
 * A run that several overdue fire times of a coalescing job became (`coalesced`) takes the place
 * of the job's runs prepared for earlier fire times that never ran: a node prepared them (claimed
 * ahead) and stopped, and their fire times passed with the others while no node claimed. Those
 * runs end as missed when the coalesced run is created (`foldIntoCoalesced`), in the same
 * transaction, so that the job runs once, for the latest fire time.
 */
import type { Job } from "./jobs.js";
import { coalescedInto } from "./run-transitions.js";
import type { Run } from "./runs.js";

/** A job's fire times as runs, and its next run time (null: its trigger ended). */
export interface JobPlan {
  readonly runs: readonly Run[];
  readonly nextRunTime: number | null;
  /** The run (one of `runs`) several overdue fire times became, with coalesce (runs.ts). */
  readonly coalesced?: Run | undefined;
  /** The first fire time prepared ahead that has not come (Job.preparedFirst; absent: none). */
  readonly preparedFirst?: number | null | undefined;
  /**
   * The trigger ended with a run prepared ahead not due yet: the job stays until it is due, and
   * `nextRunTime` is where the claim that removes it starts (prepared-runs.ts, keepingPrepared).
   */
  readonly lastFirePrepared?: boolean | undefined;
}

/** A job a claim keeps: its next run time and what it keeps of the runs prepared ahead. */
export interface Advance {
  readonly job: Job;
  readonly nextRunTime: number;
  readonly preparedFirst: number | null;
  readonly lastFirePrepared: boolean;
}

export interface ClaimPlan {
  /** The runs to create (one that exists for the same job and fire time is not created again). */
  readonly runs: Run[];
  /**
   * The jobs that go on, with their next run time (and those whose trigger ended with a run
   * prepared ahead: they stay until it is due).
   */
  readonly advance: Advance[];
  /** The jobs whose trigger ended (and whose last run is due): removed. */
  readonly ended: Job[];
  /** The jobs that cannot be planned (`plan` answered null): paused. */
  readonly broken: Job[];
  /**
   * The runs (of `runs`) that several overdue fire times became: when one is created, its job's
   * earlier pending runs fold into it (foldIntoCoalesced). Empty on almost every claim.
   */
  readonly coalesced: Run[];
}

export function planClaim(jobs: readonly Job[], plan: (job: Job) => JobPlan | null): ClaimPlan {
  const out: ClaimPlan = { runs: [], advance: [], ended: [], broken: [], coalesced: [] };
  for (const job of jobs) {
    const decided = plan(job);
    if (decided === null) {
      out.broken.push(job);
      continue;
    }
    out.runs.push(...decided.runs);
    if (decided.coalesced !== undefined) out.coalesced.push(decided.coalesced);
    if (decided.nextRunTime === null) out.ended.push(job);
    else
      out.advance.push({
        job,
        nextRunTime: decided.nextRunTime,
        preparedFirst: decided.preparedFirst ?? null,
        lastFirePrepared: decided.lastFirePrepared === true,
      });
  }
  return out;
}

/**
 * Of the pending runs of a coalesced run's job, those that fold into it, ended (missed, reason
 * "coalesced into the run of <its fire time>"): first attempts of scheduled fire times before
 * its own. Manual runs (RunJobNow) and retries (attempt > 1) are no fire times that were
 * coalesced: they stay.
 */
export function foldIntoCoalesced(into: Run, pending: readonly Run[]): Run[] {
  return pending
    .filter(
      (r) =>
        r.id !== into.id &&
        r.scheduler === into.scheduler &&
        r.jobId === into.jobId &&
        r.status === "pending" &&
        !r.manual &&
        r.attempt === 1 &&
        r.scheduledTime < into.scheduledTime,
    )
    .map((r) => coalescedInto(r, into.scheduledTime, into.createdAt));
}
