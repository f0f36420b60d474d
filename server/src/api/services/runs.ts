/** RunService: run history and cancellation; convert, delegate to the run use cases, answer. */
import { toBinary } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import { RunSchema } from "../../gen/metronome/v1/run_pb.js";
import type { RunManager } from "../../management/runs.js";
import type { RunService } from "../../gen/metronome/v1/run_service_pb.js";
import { NotFoundError } from "../../domain/errors.js";
import type { Principal } from "../../management/key-ring.js";
import type { Run } from "../../domain/runs.js";
import { principalOf, requireRight } from "../access.js";
import { fittingCount, pageSize } from "../convert/paging.js";
import { runStatusFromProto, runToProto } from "../convert/runs.js";

export function runService(
  runs: RunManager,
  maxPageSize: number,
): Partial<ServiceImpl<typeof RunService>> {
  return {
    async listRuns(req) {
      const listing = {
        scheduler: req.scheduler || "default",
        jobId: req.jobId === "" ? undefined : req.jobId,
        statuses: req.statuses.map((s, i) => runStatusFromProto(s, `statuses[${String(i)}]`)),
      };
      const page = await runs.listRuns({
        ...listing,
        pageSize: pageSize(req.pageSize, maxPageSize),
        pageToken: req.pageToken,
      });
      // Runs carry their arguments and result (twice each: as values and as JSON): a page stays
      // within one message a default gRPC client accepts, and the next page follows the last run
      // answered.
      const answered = page.items.map(runToProto);
      const kept = fittingCount(answered, (r) => toBinary(RunSchema, r).length + 4);
      const last = page.items[kept - 1];
      return {
        runs: answered.slice(0, kept),
        nextPageToken:
          kept < answered.length && last !== undefined
            ? runs.pageTokenAfter(listing, last)
            : page.nextPageToken,
      };
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
