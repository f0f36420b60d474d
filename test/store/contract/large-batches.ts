/**
 * Batches of rows at the payload limits: a claim of many jobs whose runs carry 60 KB of
 * arguments each, a batch of 200 results of 65,000 characters (recorded with their events, which
 * carry the results too), and failures with long errors. Each is tens of megabytes in all; on
 * MySQL one statement or one query of it would pass `max_allowed_packet` (16 MiB by default) and
 * be refused, so the stores cut their statements by size (sql/runner.ts STATEMENT_CHARS,
 * mysql/runner.ts). Every store must record all of it.
 */
import { describe, expect, it } from "vitest";
import { runEvents } from "../../../server/src/domain/events.js";
import type { Job } from "../../../server/src/domain/jobs.js";
import type { Outcome } from "../../../server/src/domain/runs.js";
import type { PlanFn } from "../../../server/src/store/port.js";
import {
  allEvents,
  job,
  lease,
  leaseOf,
  pendingRun,
  S,
  T0,
  useStores,
  type StoreFactory,
} from "./fixtures.js";

/** Every job's fire time becomes one run; the job moves a minute later. */
const everyMinute: PlanFn = (j: Job) => ({
  runs: [pendingRun(j, j.nextRunTime ?? 0)],
  nextRunTime: (j.nextRunTime ?? 0) + 60 * S,
});

export function largeBatchesContract(factory: StoreFactory): void {
  describe("large batches", () => {
    const stores = useStores(factory);

    it("claims 400 jobs of 60 KB of arguments each, then records 200 results of 65,000 characters and 200 long errors", async () => {
      const { store } = stores;
      const s = "large";
      const h = "h.large";
      const payload = "k".repeat(60_000);
      for (let i = 0; i < 400; i++)
        await store.insertJob(
          job(`big-${String(i).padStart(3, "0")}`, {
            scheduler: s,
            handler: h,
            nextRunTime: T0,
            kwargs: { payload },
          }),
        );
      const claimed = await store.claimDueJobs({ horizon: T0, limit: 400, plan: everyMinute });
      expect(claimed.runs).toHaveLength(400);
      const taken = await lease(store, h, T0, { slots: 400 });
      expect(taken).toHaveLength(400);
      expect(taken.every((r) => (r.kwargs as { payload: string }).payload === payload)).toBe(true);

      // Quotes and backslashes: each doubles when escaped into SQL text.
      const result = `"\\${"r".repeat(64_990)}`;
      const error = { message: `'${"m".repeat(4_000)}`, stack: "s".repeat(16_000) };
      const succeeded: Outcome = { kind: "success", result };
      const failed: Outcome = {
        kind: "error",
        error: { ...error, type: "Boom", nonRetryable: true },
      };
      const items = taken.map((r, i) => ({
        lease: leaseOf(r),
        outcome: i % 2 === 0 ? succeeded : failed,
      }));
      const now = T0 + S;
      const verdicts = await store.completeRuns(now, items, (vs) =>
        runEvents(
          vs.flatMap((v) => (v.accepted && v.recorded ? [v.run] : [])),
          now,
          "large-1",
        ),
      );
      expect(verdicts.filter((v) => v.accepted)).toHaveLength(400);
      const first = taken[0];
      const second = taken[1];
      if (first === undefined || second === undefined) throw new Error("no runs");
      expect(await store.getRun(first.id)).toMatchObject({ status: "succeeded", result });
      expect(await store.getRun(second.id)).toMatchObject({
        status: "failed",
        error: { message: error.message, stack: error.stack },
      });
      const events = (await allEvents(store)).filter((e) => e.data.nodeId === "large-1");
      expect(events.filter((e) => e.type === "job_executed")).toHaveLength(200);
      expect(events.filter((e) => e.type === "job_error")).toHaveLength(200);
      expect(
        events.filter((e) => e.type === "job_executed").every((e) => e.data.result === result),
      ).toBe(true);
    }, 120_000);
  });
}
