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
import type { Job } from "./jobs.js";
import type { Run } from "./runs.js";

export function isPrepared(run: Run, now: number): boolean {
  return (
    run.status === "pending" &&
    !run.manual &&
    run.attempt === 1 &&
    (run.dueAt ?? run.scheduledTime) > now
  );
}

/** `job` as a change sees it when runs were prepared ahead from `first` (null: none). */
export function rewoundToPrepared(job: Job, first: number | null): Job {
  return first !== null && (job.nextRunTime === null || job.nextRunTime > first)
    ? { ...job, nextRunTime: first }
    : job;
}
