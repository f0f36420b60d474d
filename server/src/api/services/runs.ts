/** RunService: run history and cancellation. */
import type { ServiceImpl } from "@connectrpc/connect";
import { InvalidArgumentError } from "../../domain/errors.js";
import { checkId } from "../../domain/jobs.js";
import { MAX_REASON_CHARS, type RunStatus } from "../../domain/runs.js";
import type { Engine } from "../../engine/engine.js";
import { decodePageToken, encodePageToken } from "../../store/store.js";
import type { RunService } from "../../gen/metronome/v1/run_service_pb.js";
import { runStatusFromProto, runToProto } from "../convert.js";
import { pageSize } from "./fields.js";

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

export function runService(
  engine: Engine,
  maxPageSize: number,
): Partial<ServiceImpl<typeof RunService>> {
  return {
    async listRuns(req) {
      const scheduler = checkId(req.scheduler || "default", "scheduler");
      const jobId = req.jobId === "" ? undefined : checkId(req.jobId, "job_id");
      const statuses = req.statuses.map((s, i) => runStatusFromProto(s, `statuses[${String(i)}]`));
      const limit = pageSize(req.pageSize, maxPageSize);
      const filters = filterKey(scheduler, jobId ?? "", statuses);
      let after: { scheduledTime: number; id: string } | undefined;
      if (req.pageToken !== "") {
        const key = decodePageToken(req.pageToken);
        const [f, t, id] = key ?? [];
        if (f !== filters || typeof t !== "number" || typeof id !== "string")
          throw new InvalidArgumentError(
            "page_token",
            "is not a token of this listing (same scheduler, job_id and statuses)",
          );
        after = { scheduledTime: t, id };
      }
      const runs = await engine.listRuns({ scheduler, jobId, statuses, limit: limit + 1, after });
      const page = runs.slice(0, limit);
      const last = page[page.length - 1];
      return {
        runs: page.map(runToProto),
        nextPageToken:
          runs.length > limit && last !== undefined
            ? encodePageToken([filters, last.scheduledTime, last.id])
            : "",
      };
    },

    async getRun(req) {
      return { run: runToProto(await engine.getRun(checkRunId(req.runId))) };
    },

    async cancelRun(req) {
      if (Array.from(req.reason).length > MAX_REASON_CHARS)
        throw new InvalidArgumentError(
          "reason",
          `must be at most ${String(MAX_REASON_CHARS)} characters`,
        );
      return { run: runToProto(await engine.cancel(checkRunId(req.runId), req.reason)) };
    },
  };
}
