/** Claims of due jobs and manual runs: each fire time becomes one run, across nodes. */
import { describe, expect, it } from "vitest";
import type { JobPlan } from "../../../server/src/domain/claim-plan.js";
import { jobEvent, runEvents } from "../../../server/src/domain/events.js";
import type { Job } from "../../../server/src/domain/jobs.js";
import type { Run } from "../../../server/src/domain/runs.js";
import type { PlanFn, Store } from "../../../server/src/store/port.js";
import {
  addRun,
  allEvents,
  job,
  must,
  pendingRun,
  S,
  scheduler,
  T0,
  useStores,
  type StoreFactory,
} from "./fixtures.js";

/** A plan that turns a job's next_run_time into one run and moves it `every` later. */
function every(ms: number, until = Number.POSITIVE_INFINITY): PlanFn {
  return (j: Job) => {
    const at = j.nextRunTime ?? 0;
    const next = at + ms;
    return { runs: [pendingRun(j, at)], nextRunTime: next > until ? null : next };
  };
}

export function claimsContract(factory: StoreFactory): void {
  describe("claims", () => {
    const stores = useStores(factory);

    it("claims due jobs, creates their runs, advances, removes ended jobs and pauses broken ones", async () => {
      const { store } = stores;
      const s = "claim-basic";
      await store.insertJob(job("due", { scheduler: s, nextRunTime: T0 }));
      await store.insertJob(job("last", { scheduler: s, nextRunTime: T0 }));
      await store.insertJob(job("broken", { scheduler: s, nextRunTime: T0 }));
      await store.insertJob(job("later", { scheduler: s, nextRunTime: T0 + 60 * S }));
      const plan: PlanFn = (j) => {
        if (j.id === "broken") return null;
        return every(10 * S, j.id === "last" ? T0 : Number.POSITIVE_INFINITY)(j);
      };
      const claimed = await store.claimDueJobs({ horizon: T0, limit: 100, plan }, (c) => [
        ...c.ended.map((e) => jobEvent("job_removed", e, T0, "claim-basic")),
      ]);
      expect(claimed.jobs).toBe(3);
      expect(claimed.runs.map((r) => r.jobId).sort()).toEqual(["due", "last"]);
      expect(claimed.ended.map((j) => j.id)).toEqual(["last"]);
      expect(claimed.broken.map((j) => j.id)).toEqual(["broken"]);
      expect((await store.getJob(s, "due"))?.nextRunTime).toBe(T0 + 10 * S);
      expect(await store.getJob(s, "last")).toBeNull();
      expect(await store.getJob(s, "broken")).toMatchObject({ paused: true, nextRunTime: null });
      for (const r of claimed.runs) expect(await store.getRun(r.id)).toEqual(r);
      expect(
        (await allEvents(store)).filter((e) => e.data.nodeId === "claim-basic").map((e) => e.jobId),
      ).toEqual(["last"]);
      // Nothing due any more up to T0.
      expect((await store.claimDueJobs({ horizon: T0, limit: 100, plan })).jobs).toBe(0);
    });

    it("a drain's claim starts at `after` and says how far it went (`through`)", async () => {
      const { store } = stores;
      const s = "claim-drain";
      // Six jobs due at T0 - 6 s … T0 - 1 s.
      for (let i = 0; i < 6; i++)
        await store.insertJob(
          job(`d${String(i)}`, { scheduler: s, nextRunTime: T0 - (6 - i) * S }),
        );
      const mine = (c: { runs: readonly Run[] }) => c.runs.filter((r) => r.scheduler === s);
      const first = await store.claimDueJobs({ horizon: T0, limit: 3, plan: every(60 * S) });
      expect(mine(first).map((r) => r.jobId)).toEqual(["d0", "d1", "d2"]);
      if (factory.drains !== true) {
        // `after` is a hint a store may ignore: it claims from the start of the range.
        expect(first.through).toBeUndefined();
        const rest = await store.claimDueJobs({ horizon: T0, limit: 100, plan: every(60 * S) });
        expect(mine(rest).map((r) => r.jobId)).toEqual(["d3", "d4", "d5"]);
        return;
      }
      expect(first.through).toBe(T0 - 4 * S);
      // A job due before the drain's position waits for a claim from the start.
      await store.insertJob(job("early", { scheduler: s, nextRunTime: T0 - 10 * S }));
      const second = await store.claimDueJobs({
        horizon: T0,
        limit: 3,
        plan: every(60 * S),
        after: first.through ?? 0,
      });
      expect(mine(second).map((r) => r.jobId)).toEqual(["d3", "d4", "d5"]);
      expect(second.through).toBe(T0 - S);
      const rest = await store.claimDueJobs({ horizon: T0, limit: 3, plan: every(60 * S) });
      expect(mine(rest).map((r) => r.jobId)).toEqual(["early"]);
      expect(rest.through).toBe(T0 - 10 * S);
    });

    it("a run that exists for the same job and fire time is not created again", async () => {
      const { store } = stores;
      const j = job("dup", { scheduler: "claim-dup", nextRunTime: T0 });
      await store.insertJob(j);
      const first = await store.claimDueJobs({ horizon: T0, limit: 10, plan: every(S) });
      expect(first.runs).toHaveLength(1);
      // Rewind the job: the same fire time again.
      await store.updateJob("claim-dup", "dup", (c) => ({ ...c, nextRunTime: T0 }));
      const again = await store.claimDueJobs({ horizon: T0, limit: 10, plan: every(S) });
      expect(again).toMatchObject({ jobs: 1, runs: [], ignored: 1 });
    });

    it("jobs of paused schedulers wait; nextDueTime and dueJobsOf see them as such", async () => {
      const { store } = stores;
      await store.insertScheduler(scheduler("claim-paused", { paused: true }));
      await store.insertJob(job("p", { scheduler: "claim-paused", nextRunTime: T0 - 5 * S }));
      const paused = await store.pausedSchedulers();
      expect(paused).toContain("claim-paused");
      const claimed = await store.claimDueJobs({ horizon: T0, limit: 100, plan: every(S) });
      expect(claimed.paused).toContain("claim-paused");
      expect(claimed.runs.filter((r) => r.scheduler === "claim-paused")).toEqual([]);
      expect(await store.nextDueTime(paused)).toBeGreaterThan(T0 - 5 * S);
      expect(await store.nextDueTime([])).toBeLessThanOrEqual(T0 - 5 * S);
      expect(await store.dueJobsOf(["claim-paused"], T0, 10)).toEqual([
        { scheduler: "claim-paused", id: "p", handler: "reports.daily", nextRunTime: T0 - 5 * S },
      ]);
    });

    it("a manual run takes the next millisecond when one exists for the same job and time", async () => {
      const { store } = stores;
      const j = job("manual", { scheduler: "claim-manual" });
      await store.insertJob(j);
      const make = (job: Job, shift: number): Run => pendingRun(job, T0 + shift, { manual: true });
      const a = await store.createManualRun("claim-manual", "manual", make);
      const b = await store.createManualRun("claim-manual", "manual", make);
      expect([a?.scheduledTime, b?.scheduledTime]).toEqual([T0, T0 + 1]);
      expect(await store.createManualRun("claim-manual", "missing", make)).toBeNull();
    });

    it("resuming a scheduler withdraws the runs prepared since its pause and rewinds its jobs", async () => {
      const { store } = stores;
      const s = "claim-resume";
      await store.insertJob(job("r", { scheduler: s, nextRunTime: T0 }));
      const claimed = await store.claimDueJobs({
        horizon: T0 + 2 * S,
        limit: 10,
        plan: (j) => ({
          runs: [pendingRun(j, T0), pendingRun(j, T0 + S), pendingRun(j, T0 + 2 * S)],
          nextRunTime: T0 + 3 * S,
        }),
      });
      expect(claimed.runs.filter((r) => r.scheduler === s)).toHaveLength(3);
      expect(await store.withdrawPreparedRuns(s, T0 + S)).toBe(2);
      expect((await store.getJob(s, "r"))?.nextRunTime).toBe(T0 + S);
      expect(await store.withdrawPreparedRuns(s, T0 + S)).toBe(0);
    });

    it("a coalesced run created folds its job's earlier pending scheduled runs into it (missed)", async () => {
      const { store } = stores;
      const s = "claim-fold";
      const co = job("co", { scheduler: s, coalesce: true, nextRunTime: T0 + 5 * S });
      const plain = job("plain", { scheduler: s, coalesce: true, nextRunTime: T0 + 5 * S });
      await store.insertJob(co);
      await store.insertJob(plain);
      // Claimed ahead before an outage: both jobs' +5 s runs are prepared.
      const before = await store.claimDueJobs({
        horizon: T0 + 5 * S,
        limit: 10,
        plan: every(5 * S),
      });
      const prepared = must(before.runs.find((r) => r.jobId === "co"));
      const plainPrepared = must(before.runs.find((r) => r.jobId === "plain"));
      // Runs of the job that are no coalesced fire times: a manual run, a retry.
      const manual = await addRun(store, co, T0 + 7 * S, { manual: true });
      const retry = await addRun(store, co, T0 + 8 * S, { attempt: 2 });
      // 30 s later: `co`'s fire times +10 … +30 s are coalesced into one run; `plain` is planned
      // with no coalesced run (one overdue fire time): nothing of it folds.
      const now = T0 + 30 * S;
      let into: Run | undefined;
      const plan: PlanFn = (j) => {
        const run = pendingRun(j, now, { createdAt: now, updatedAt: now });
        if (j.id !== "co") return { runs: [run], nextRunTime: now + 5 * S };
        into = { ...run, statusReason: "coalesced 4 earlier fire times" };
        const decided: JobPlan = { runs: [into], nextRunTime: now + 5 * S, coalesced: into };
        return decided;
      };
      const claimed = await store.claimDueJobs({ horizon: now, limit: 10, plan }, (c) =>
        runEvents(c.runs, now, "claim-fold"),
      );
      const folded = {
        ...prepared,
        status: "missed",
        statusReason: `coalesced into the run of ${new Date(now).toISOString()}`,
        dueAt: null,
        expiresAt: null,
        finishedAt: now,
        updatedAt: now,
      };
      const mine = claimed.runs.filter((r) => r.scheduler === s);
      expect(mine.map((r) => [r.jobId, r.scheduledTime, r.status]).sort()).toEqual(
        [
          ["co", now, "pending"],
          ["co", T0 + 5 * S, "missed"],
          ["plain", now, "pending"],
        ].sort(),
      );
      expect(mine.find((r) => r.id === prepared.id)).toEqual(folded);
      expect(await store.getRun(prepared.id)).toEqual(folded);
      expect(await store.getRun(must(into).id)).toEqual(into);
      for (const r of [manual, retry, plainPrepared])
        expect((await store.getRun(r.id))?.status).toBe("pending");
      const events = (await allEvents(store)).filter((e) => e.data.nodeId === "claim-fold");
      expect(events.map((e) => [e.type, e.runId, e.data.reason])).toEqual([
        ["job_missed", prepared.id, folded.statusReason],
      ]);
    });
  });

  describe("claims by two nodes", () => {
    const stores = useStores(factory);

    it("two nodes claiming at once: every fire time becomes exactly one run", async () => {
      const { store } = stores;
      const other = stores.another();
      const s = "claim-race";
      const jobs = 120;
      for (let i = 0; i < jobs; i++)
        await store.insertJob(
          job(`race-${String(i)}`, { scheduler: s, nextRunTime: T0 + 1000 * S }),
        );
      // Three fire times each (one a second), claimed in small batches by both nodes at once.
      const until = T0 + 1002 * S;
      const claimAll = async (node: Store): Promise<Run[]> => {
        const runs: Run[] = [];
        for (;;) {
          const c = await node.claimDueJobs({ horizon: until, limit: 7, plan: every(S, until) });
          runs.push(...c.runs.filter((r) => r.scheduler === s));
          if (c.jobs === 0) return runs;
        }
      };
      const [mine, theirs] = await Promise.all([claimAll(store), claimAll(other)]);
      const keys = [...mine, ...theirs].map((r) => `${r.jobId}@${String(r.scheduledTime)}`);
      expect(keys).toHaveLength(jobs * 3);
      expect(new Set(keys).size).toBe(jobs * 3);
      expect(await store.listJobs({ scheduler: s, orderBy: "id", pageSize: 10 })).toEqual({
        items: [],
        nextPageToken: "",
      });
    });
  });
}
