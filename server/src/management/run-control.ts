/**
 * What the use cases ask of the firing engine: runs (start one now, read, list, cancel) and the
 * runs of schedulers that resume (implemented by engine/Engine).
 */
import type { Run } from "../domain/runs.js";
import type { ListRunsQuery } from "../store/port.js";

export interface RunControl {
  /** A manual run of the job now; NotFoundError when there is no such job. */
  runNow(scheduler: string, jobId: string): Promise<Run>;
  /** NotFoundError when there is no such run. */
  getRun(runId: string): Promise<Run>;
  listRuns(query: ListRunsQuery): Promise<Run[]>;
  /** NotFoundError, or FailedPreconditionError when the run has ended. */
  cancel(runId: string, reason: string, allowed?: (run: Run) => void): Promise<Run>;
  /**
   * The runs a paused scheduler's claims prepared for fire times from `since` on are withdrawn
   * (called while it is paused: when it is paused, and before it is resumed).
   */
  withdrawPreparedRuns(scheduler: string, since: number): Promise<void>;
}
