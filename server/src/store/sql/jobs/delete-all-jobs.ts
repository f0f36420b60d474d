import type { Run } from "../../../domain/runs.js";
import type { DeleteAllJobsOptions } from "../../port.js";
import type { Dialect } from "../dialect.js";
import { appendEvents } from "../events/append-events.js";
import { cancelPendingRuns } from "../runs/cancel-pending-runs.js";
import { exec, type Tx } from "../runner.js";

/** Deletes every job of a scheduler (and, when asked, cancels its pending runs); how many. */
export function* deleteAllJobs(
  d: Dialect,
  scheduler: string,
  options: DeleteAllJobsOptions,
): Tx<number> {
  const n = yield* exec("DELETE FROM `jobs` WHERE `scheduler` = ?", [scheduler]);
  const cancelled: Run[] =
    options.cancelPendingRunsAt === undefined
      ? []
      : yield* cancelPendingRuns(d, options.cancelPendingRunsAt, scheduler, null);
  if (options.events !== undefined) yield* appendEvents(options.events(n, cancelled));
  return n;
}
