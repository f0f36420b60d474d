/** RunService: run history and cancellation; convert, delegate to the run use cases, answer. */
import type { ServiceImpl } from "@connectrpc/connect";
import type { RunManager } from "../../management/runs.js";
import type { RunService } from "../../gen/metronome/v1/run_service_pb.js";
import { NotFoundError } from "../../domain/errors.js";
import type { Principal } from "../../management/key-ring.js";
import type { Run } from "../../domain/runs.js";
import { principalOf, requireRight } from "../access.js";
import { pageSize } from "../convert/paging.js";
import { runStatusFromProto, runToProto } from "../convert/runs.js";

export function runService(
  runs: RunManager,
  maxPageSize: number,
): Partial<ServiceImpl<typeof RunService>> {
  return {
    async listRuns(req) {
      const page = await runs.listRuns({
        scheduler: req.scheduler || "default",
        jobId: req.jobId === "" ? undefined : req.jobId,
        statuses: req.statuses.map((s, i) => runStatusFromProto(s, `statuses[${String(i)}]`)),
        pageSize: pageSize(req.pageSize, maxPageSize),
        pageToken: req.pageToken,
      });
      return { runs: page.items.map(runToProto), nextPageToken: page.nextPageToken };
    },

    async getRun(req, ctx) {
      const run = await runs.getRun(req.runId);
      requireVisible(principalOf(ctx), run);
      return { run: runToProto(run) };
    },

    async cancelRun(req, ctx) {
      const principal = principalOf(ctx);
      // Checked on the run as the cancel reads it: refused, it changes nothing.
      const run = await runs.cancelRun(req.runId, req.reason, (r) => {
        requireVisible(principal, r);
        requireRight(principal, "write", r.scheduler);
      });
      return { run: runToProto(run) };
    },
  };
}

/**
 * A run of a scheduler the key may not read is answered as an unknown run: the caller names only
 * the run's id, and PERMISSION_DENIED would tell it that such a run exists elsewhere.
 */
function requireVisible(principal: Principal, run: Run): void {
  if (!principal.scopes.may("read", run.scheduler)) throw new NotFoundError(`run ${run.id}`);
}
