import type { Job } from "../../../domain/jobs.js";
import { JOB_SELECT, jobFromSelected } from "../job-rows.js";
import { all, type Tx } from "../runner.js";

export function* getJob(scheduler: string, id: string): Tx<Job | null> {
  const rows = yield* all(
    `SELECT ${JOB_SELECT} FROM \`jobs\` WHERE \`scheduler\` = ? AND \`id\` = ?`,
    [scheduler, id],
  );
  return rows[0] === undefined ? null : jobFromSelected(rows[0]);
}
