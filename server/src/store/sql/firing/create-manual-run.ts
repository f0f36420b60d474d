import type { Job } from "../../../domain/jobs.js";
import type { Run } from "../../../domain/runs.js";
import type { Dialect } from "../dialect.js";
import { JOB_SELECT, jobFromSelected } from "../job-rows.js";
import { all, type Tx } from "../runner.js";
import { insertRuns } from "./insert-runs.js";

/** A manual run of a job, made by `make` from the job (locked); null when there is no job. */
export function* createManualRun(
  d: Dialect,
  scheduler: string,
  jobId: string,
  make: (job: Job, shift: number) => Run,
): Tx<Run | null> {
  const rows = yield* all(
    `SELECT ${JOB_SELECT} FROM \`jobs\` WHERE \`scheduler\` = ? AND \`id\` = ?${d.lock}`,
    [scheduler, jobId],
  );
  const row = rows[0];
  if (row === undefined) return null;
  const job = jobFromSelected(row);
  // Two manual runs requested in the same millisecond: the second takes the next one.
  for (let shift = 0; ; shift++) {
    const run = make(job, shift);
    if ((yield* insertRuns(d, [run])).has(run.id)) return run;
  }
}
