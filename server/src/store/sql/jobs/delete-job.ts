import type { Job } from "../../../domain/jobs.js";
import type { Run } from "../../../domain/runs.js";
import type { DeleteJobOptions } from "../../port.js";
import type { Dialect } from "../dialect.js";
import { appendEvents } from "../events/append-events.js";
import { JOB_SELECT, jobFromSelected } from "../job-rows.js";
import { cancelPendingRuns } from "../runs/cancel-pending-runs.js";
import { all, exec, type Param, type Tx } from "../runner.js";

/**
 * Deletes a job (only at `expectedVersion` when given) and, when asked, cancels its pending runs
 * in the same transaction, with the events of both. False when nothing was deleted.
 */
export function* deleteJob(
  d: Dialect,
  scheduler: string,
  id: string,
  options: DeleteJobOptions,
): Tx<boolean> {
  const version = options.expectedVersion === undefined ? "" : " AND `version` = ?";
  const params: Param[] =
    options.expectedVersion === undefined
      ? [scheduler, id]
      : [scheduler, id, options.expectedVersion];
  const where = `\`scheduler\` = ? AND \`id\` = ?${version}`;
  const rows = yield* all(`SELECT ${JOB_SELECT} FROM \`jobs\` WHERE ${where}${d.lock}`, params);
  const row = rows[0];
  if (row === undefined) return false;
  const job: Job = jobFromSelected(row);
  yield* exec(`DELETE FROM \`jobs\` WHERE ${where}`, params);
  const cancelled: Run[] =
    options.cancelPendingRunsAt === undefined
      ? []
      : yield* cancelPendingRuns(d, options.cancelPendingRunsAt, scheduler, id);
  if (options.events !== undefined) yield* appendEvents(options.events(job, cancelled));
  return true;
}
