/**
 * Run use cases: list a job's or a scheduler's runs (newest first, in pages), get one, cancel
 * one, and start a manual run of a job now. Errors name the fields of the requests.
 */
import { InvalidArgumentError } from "../domain/errors.js";
import { checkId, DEFAULT_LIMITS, type Limits } from "../domain/jobs.js";
import { MAX_REASON_CHARS, type Run, type RunStatus } from "../domain/runs.js";
import { decodePageToken, encodePageToken } from "../store/paging.js";
import type { Page } from "../store/port.js";
import type { RunControl } from "./run-control.js";

export interface ListRunsRequest {
  readonly scheduler: string;
  /** undefined: the runs of every job of the scheduler. */
  readonly jobId?: string | undefined;
  /** Empty: every status. */
  readonly statuses: readonly RunStatus[];
  readonly pageSize: number;
  /** From the previous page's `nextPageToken`; empty for the first page. */
  readonly pageToken: string;
}

/** A page token binds the filters it was issued for, so it cannot be replayed on others. */
function filterKey(scheduler: string, jobId: string, statuses: readonly RunStatus[]): string {
  return JSON.stringify([scheduler, jobId, [...statuses].sort()]);
}

function checkRunId(value: string): string {
  if (value === "") throw new InvalidArgumentError("run_id", "is required");
  if (value.length > 64 || !/^[\x21-\x7e]+$/.test(value))
    throw new InvalidArgumentError("run_id", "is not a run id");
  return value;
}

function runToken(filters: string, run: Run): string {
  return encodePageToken([filters, run.scheduledTime, run.id]);
}

export class RunManager {
  constructor(
    private readonly runs: RunControl,
    private readonly limits: Limits = DEFAULT_LIMITS,
  ) {}

  async listRuns(req: ListRunsRequest): Promise<Page<Run>> {
    const scheduler = checkId(req.scheduler, "scheduler", this.limits);
    const jobId = req.jobId === undefined ? undefined : checkId(req.jobId, "job_id", this.limits);
    const limit = req.pageSize;
    if (!Number.isInteger(limit) || limit < 1 || limit > this.limits.maxPageSize)
      throw new InvalidArgumentError("page_size", `must be from 1 to ${this.limits.maxPageSize}`);
    const filters = filterKey(scheduler, jobId ?? "", req.statuses);
    let after: { scheduledTime: number; id: string } | undefined;
    if (req.pageToken !== "") {
      const [f, t, id] = decodePageToken(req.pageToken) ?? [];
      if (f !== filters || typeof t !== "number" || typeof id !== "string")
        throw new InvalidArgumentError(
          "page_token",
          "is not a token of this listing (same scheduler, job_id and statuses)",
        );
      after = { scheduledTime: t, id };
    }
    const runs = await this.runs.listRuns({
      scheduler,
      jobId,
      statuses: req.statuses,
      limit: limit + 1,
      after,
    });
    const items = runs.slice(0, limit);
    const last = items[items.length - 1];
    return {
      items,
      nextPageToken: runs.length > limit && last !== undefined ? runToken(filters, last) : "",
    };
  }

  /**
   * The token of the page after `run` of this listing: for a page the API answers shorter than
   * the store's (its runs would not fit in one message).
   */
  pageTokenAfter(req: Pick<ListRunsRequest, "scheduler" | "jobId" | "statuses">, run: Run): string {
    return runToken(filterKey(req.scheduler, req.jobId ?? "", req.statuses), run);
  }

  async getRun(runId: string): Promise<Run> {
    return await this.runs.getRun(checkRunId(runId));
  }

  /** Cancels a run; `allowed` may refuse it once the run is read (see RunControl.cancel). */
  async cancelRun(runId: string, reason: string, allowed?: (run: Run) => void): Promise<Run> {
    if (Array.from(reason).length > MAX_REASON_CHARS)
      throw new InvalidArgumentError(
        "reason",
        `must be at most ${String(MAX_REASON_CHARS)} characters`,
      );
    // Stored as plain text (the run's status reason), where PostgreSQL refuses a NUL.
    // eslint-disable-next-line no-control-regex
    if (/[\u0000-\u001f\u007f]/.test(reason))
      throw new InvalidArgumentError("reason", "must not contain control characters");
    return await this.runs.cancel(checkRunId(runId), reason, allowed);
  }

  /** A manual run of a job, now (RunJobNow). */
  async runJobNow(scheduler: string, jobId: string): Promise<Run> {
    return await this.runs.runNow(
      checkId(scheduler, "scheduler", this.limits),
      checkId(jobId, "job_id", this.limits),
    );
  }
}
