import type { Run } from "../../../domain/runs.js";
import type { CancelPendingRunsOptions, DeleteAllJobsOptions } from "../../port.js";
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
      : yield* cancelPendingRuns(d, options.cancelPendingRunsAt, scheduler, null, {
          limit: options.cancelLimit,
        });
  if (options.events !== undefined) yield* appendEvents(options.events(n, cancelled));
  return n;
}

/** The rest of a RemoveAllJobs: some more of the scheduler's pending runs (port.ts). */
export function* cancelSchedulerRuns(
  d: Dialect,
  scheduler: string,
  options: CancelPendingRunsOptions,
): Tx<number> {
  const cancelled = yield* cancelPendingRuns(d, options.now, scheduler, null, options);
  if (options.events !== undefined && cancelled.length > 0)
    yield* appendEvents(options.events(cancelled));
  return cancelled.length;
}
