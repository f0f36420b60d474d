/**
 * Runs prepared ahead: a claim turns fire times up to its horizon into runs, so a job's next fire
 * times may already be pending runs when it changes. Such a run is a pending first attempt of a
 * scheduled (not manual) fire time that is not due yet: its due time (the fire time, the nominal
 * time plus jitter) is after now, whatever its nominal time — with jitter, a run whose nominal
 * time has passed may still be hours from firing. A change of the job (new arguments, a pause, a
 * new trigger) must apply to those fire times too: the stores withdraw the runs and the change
 * sees the job as if they were never made, its next run time rewound to the first of them (by
 * nominal time). A run that is due waits for a worker: it is a fire that happened, not prepared.
 * The SQL stores select the same runs in SQL (`PREPARED` in store/sql/run-rows.ts).
 */
import type { JobPlan } from "./claim-plan.js";
import type { Job } from "./jobs.js";
import type { FirePlan, Run } from "./runs.js";
import type { Trigger } from "./triggers/index.js";

export function isPrepared(run: Run, now: number): boolean {
  return (
    run.status === "pending" &&
    !run.manual &&
    run.attempt === 1 &&
    (run.dueAt ?? run.scheduledTime) > now
  );
}

/**
 * `job` as a change sees it when runs were prepared ahead from `first` (null: none): those runs
 * are withdrawn, so nothing is prepared any more and the trigger has not ended before them. (A
 * first fire time prepared that has come is of no use to a change either.)
 */
export function rewoundToPrepared(job: Job, first: number | null): Job {
  // Undefined rather than null: the change compares what it makes with this (AddJob's replace
  // of an identical job writes nothing), and JSON leaves undefined out as a new job has it.
  if (first === null) return { ...job, preparedFirst: undefined };
  return {
    ...job,
    nextRunTime: job.nextRunTime === null || job.nextRunTime > first ? first : job.nextRunTime,
    preparedFirst: undefined,
    lastFirePrepared: undefined,
  };
}

/**
 * The job a change writes: `next`, what the change made of `base` (rewoundToPrepared). Nothing
 * is prepared for it any more (the change withdrew what was not due yet, and a fire time prepared
 * ahead is not due yet). A job whose last fire time was prepared and is due by now keeps waiting
 * for the claim that removes it, unless the change moved its next run time (a new trigger, a
 * pause): then `nextRunTime` is a fire time again, or null.
 */
export function changedJob(base: Job, next: Job): Job {
  const waits =
    base.lastFirePrepared === true && !next.paused && next.nextRunTime === base.nextRunTime;
  return { ...next, preparedFirst: undefined, lastFirePrepared: waits ? true : undefined };
}

/**
 * The next run time clients see (GetJob, ListJobs and every answer with a job, through
 * management/shown-jobs.ts): the first fire time prepared ahead while it has not come, as
 * APScheduler shows the upcoming fire time; then the claim's position, or none when the trigger
 * ended with the runs prepared.
 */
export function upcomingFireTime(job: Job, now: number): number | null {
  const first = job.preparedFirst ?? null;
  if (first !== null && first > now) return first;
  return job.lastFirePrepared === true ? null : job.nextRunTime;
}

/**
 * A claim's plan of a job (planFires: its runs and the fire time after them) with what the job
 * keeps of the runs prepared ahead: the first fire time prepared that has not come, for reads;
 * and, when the trigger has ended but a run prepared ahead is not due yet, the job stays until
 * it is due: its next run time becomes the instant the claim that removes it looks for, the last
 * run's due time plus the claim's lookahead (`lookaheadMs`), and no earlier claim takes it again.
 * So a date job is removed when its run's time has come, as APScheduler removes it when it
 * submits the run, and until then it can be read, paused or removed (withdrawing the run).
 */
export function keepingPrepared(
  job: Job,
  trigger: Trigger,
  fires: FirePlan,
  now: number,
  lookaheadMs: number,
): JobPlan {
  const ahead = fires.runs.filter((r) => isPrepared(r, now));
  let first: number | null = null;
  const before = job.preparedFirst ?? null;
  if (before !== null && before > now) first = before;
  else if (before !== null && job.nextRunTime !== null && job.nextRunTime > now) {
    // Earlier claims prepared every fire time from `before` up to this claim's start: the first
    // of them still to come (a job firing more often than the lookahead).
    const t = trigger.nextAtOrAfter(now + 1);
    if (t !== null && t < job.nextRunTime) first = t;
  }
  for (const r of ahead)
    if (r.scheduledTime > now && (first === null || r.scheduledTime < first))
      first = r.scheduledTime;
  const base = { runs: fires.runs, coalesced: fires.coalesced, preparedFirst: first };
  if (fires.nextRunTime !== null) return { ...base, nextRunTime: fires.nextRunTime };
  let due: number | null = null;
  for (const r of ahead) {
    const at = r.dueAt ?? r.scheduledTime;
    if (due === null || at > due) due = at;
  }
  return due === null
    ? { ...base, nextRunTime: null }
    : { ...base, nextRunTime: due + lookaheadMs, lastFirePrepared: true };
}
