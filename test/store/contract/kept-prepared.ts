/**
 * What a job keeps of the runs a claim prepared ahead (domain/prepared-runs.ts): the first fire
 * time prepared, which reads show as its next run time while it has not come (its next_run_time
 * is where the next claim starts, past the prepared runs), and, when its trigger ended with the
 * last run prepared, the job itself until that run is due: it can be read, changed and removed
 * meanwhile, and a later claim removes it. Both are written by the claim's own statements, and
 * cleared when a change, a removal or a scheduler's resume withdraws the runs.
 */
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { JobPlan } from "../../../server/src/domain/claim-plan.js";
import { jobEvent } from "../../../server/src/domain/events.js";
import type { Job } from "../../../server/src/domain/jobs.js";
import type { PlanFn, Store } from "../../../server/src/store/port.js";
import {
  allEvents,
  job,
  must,
  pendingRun,
  S,
  T0,
  useStores,
  type StoreFactory,
} from "./fixtures.js";

const MINUTE = 60 * S;
const HOUR = 60 * MINUTE;
/** The claims' lookahead in these cases (the engine's is 2 s). */
const AHEAD = 2 * S;

/** A claim at `now`: up to the lookahead, with its events of the jobs removed. */
function claim(store: Store, now: number, plan: PlanFn, node: string) {
  return store.claimDueJobs({ horizon: now + AHEAD, limit: 100, plan }, (c) =>
    c.ended.map((e) => jobEvent("job_removed", e, now, node, "date trigger fired")),
  );
}

/**
 * A plan as the engine makes it (engine/firing.ts): a job whose last run was prepared is
 * removed; else one run at its next run time, prepared ahead, and `next` (null: the trigger
 * ended with it, kept until it is due at that time).
 */
function planAhead(next: (j: Job) => number | null): PlanFn {
  return (j): JobPlan => {
    if (j.lastFirePrepared === true) return { runs: [], nextRunTime: null };
    const at = must(j.nextRunTime);
    const after = next(j);
    const runs = [pendingRun(j, at)];
    return after === null
      ? { runs, nextRunTime: at + AHEAD, preparedFirst: at, lastFirePrepared: true }
      : { runs, nextRunTime: after, preparedFirst: at };
  };
}

/** The plan of jobs whose trigger ends with the run it prepares. */
const LAST = planAhead(() => null);

export function keptPreparedContract(factory: StoreFactory): void {
  describe("what a job keeps of its runs prepared ahead", () => {
    const stores = useStores(factory);
    let store: Store;
    beforeAll(() => {
      store = stores.store;
    });
    // Claims take every due job of the database: each case removes its jobs, and fires an hour
    // after the last case's.
    let hour = 0;
    const jobs: [string, string][] = [];
    beforeEach(() => {
      hour++;
    });
    afterEach(async () => {
      for (const [s, id] of jobs.splice(0)) await store.deleteJob(s, id, {});
    });
    const add = async (j: Job): Promise<void> => {
      jobs.push([j.scheduler, j.id]);
      await store.insertJob(j);
    };
    /**
     * The set-up of a case: job "j" of scheduler `s` (named for the case) added with its next run
     * time at this case's hour (`at`), and a claim by node `s` 1.5 s before it (`now`) that
     * prepares its run, `next` giving the fire time after it (null: the trigger ends with it).
     */
    const prepared = async (s: string, next: (j: Job) => number | null) => {
      const at = T0 + hour * HOUR;
      const added = job("j", { scheduler: s, nextRunTime: at });
      await add(added);
      const now = at - 1500;
      return { added, at, now, claimed: await claim(store, now, planAhead(next), s) };
    };
    /** A claim by node `s` at `now` of jobs whose trigger ends with the run it prepares. */
    const claimLast = (s: string, now: number) => claim(store, now, LAST, s);

    it("a claim records the first fire time it prepared with the job's next run time", async () => {
      const s = "kept-first";
      const { at, now, claimed } = await prepared(s, (j) => must(j.nextRunTime) + MINUTE);
      expect(claimed.jobs).toBe(1);
      const kept = must(await store.getJob(s, "j"));
      expect(kept).toMatchObject({ nextRunTime: at + MINUTE, preparedFirst: at });
      expect(kept.lastFirePrepared).toBeFalsy();
      // The next claim starts past the prepared run: nothing is due before it.
      expect((await claimLast(s, now)).jobs).toBe(0);
      // A listing shows the record as stored (its position is the claim's).
      const page = await store.listJobs({ scheduler: s, orderBy: "next_run_time", pageSize: 10 });
      expect(page.items).toEqual([kept]);
    });

    it("a change withdraws the prepared run and the job keeps nothing of it", async () => {
      const s = "kept-change";
      const { at, now, claimed } = await prepared(s, (j) => must(j.nextRunTime) + MINUTE);
      const run = must(claimed.runs[0]);
      const seen: Job[] = [];
      const after = await store.updateJob(
        s,
        "j",
        (c) => {
          seen.push(c);
          return { ...c, args: ["changed"], version: c.version + 1 };
        },
        now + 500,
      );
      expect(seen.at(-1)?.nextRunTime).toBe(at);
      expect(await store.getRun(run.id)).toBeNull();
      const stored = must(await store.getJob(s, "j"));
      expect(stored).toMatchObject({ nextRunTime: at, args: ["changed"] });
      expect(stored.preparedFirst ?? null).toBeNull();
      expect(stored.lastFirePrepared).toBeFalsy();
      expect(after?.preparedFirst ?? null).toBeNull();
    });

    it("a job whose trigger ended with its last run prepared stays until the run is due, then a claim removes it", async () => {
      const s = "kept-last";
      const { at, claimed: first } = await prepared(s, () => null);
      expect(first.ended).toEqual([]);
      expect(first.runs.map((r) => r.scheduledTime)).toEqual([at]);
      expect(must(await store.getJob(s, "j"))).toMatchObject({
        nextRunTime: at + AHEAD,
        preparedFirst: at,
        lastFirePrepared: true,
      });
      // Not claimed again before its run is due (no claim takes it for nothing meanwhile).
      expect((await claimLast(s, at - 1)).jobs).toBe(0);
      expect(await store.nextDueTime([])).toBe(at + AHEAD);
      // Its run is due: the claim removes it, with its event then.
      const events = (await allEvents(store)).filter((e) => e.data.nodeId === s);
      expect(events).toEqual([]);
      const last = await claimLast(s, at);
      expect(last.ended.map((j) => j.id)).toEqual(["j"]);
      expect(last.runs).toEqual([]);
      expect(await store.getJob(s, "j")).toBeNull();
      expect(await store.getRun(must(first.runs[0]).id)).toMatchObject({ status: "pending" });
      const removed = (await allEvents(store)).filter((e) => e.data.nodeId === s);
      expect(removed.map((e) => [e.type, e.jobId])).toEqual([["job_removed", "j"]]);
    });

    it("a job kept for its last run: a pause withdraws the run and brings its fire time back", async () => {
      const s = "kept-last-pause";
      const { at, claimed } = await prepared(s, () => null);
      const run = must(claimed.runs[0]);
      const seen: Job[] = [];
      const paused = await store.updateJob(
        s,
        "j",
        (c) => {
          seen.push(c);
          return { ...c, paused: true, nextRunTime: null, version: c.version + 1 };
        },
        at - 1000,
      );
      // The change saw the job before the claim: its last fire time to come, nothing prepared.
      expect(seen.at(-1)).toMatchObject({ nextRunTime: at, paused: false });
      expect(seen.at(-1)?.lastFirePrepared).toBeFalsy();
      expect(paused).toMatchObject({ paused: true, nextRunTime: null });
      expect(await store.getRun(run.id)).toBeNull();
      const stored = must(await store.getJob(s, "j"));
      expect(stored.lastFirePrepared).toBeFalsy();
      expect(stored.preparedFirst ?? null).toBeNull();
    });

    it("a job kept for its last run, removed and added again with the same fire time: one run, the new job's", async () => {
      const s = "kept-last-readd";
      const { added, at, claimed } = await prepared(s, () => null);
      const run = must(claimed.runs[0]);
      expect(await store.deleteJob(s, "j", { cancelPendingRunsAt: at - 1000 })).toBe(true);
      expect(await store.getRun(run.id)).toBeNull();
      await add({ ...added, args: ["again"] });
      const again = await claimLast(s, at - 900);
      expect(again.ignored).toBe(0);
      expect(again.runs).toHaveLength(1);
      expect(must(await store.getRun(must(again.runs[0]).id))).toMatchObject({
        scheduledTime: at,
        args: ["again"],
      });
    });

    it("a scheduler's resume withdraws the prepared runs and the jobs keep nothing of them", async () => {
      const s = "kept-resume";
      const at = T0 + hour * HOUR;
      await add(job("last", { scheduler: s, nextRunTime: at }));
      await add(job("on", { scheduler: s, nextRunTime: at }));
      await claim(
        store,
        at - 1500,
        planAhead((j) => (j.id === "last" ? null : must(j.nextRunTime) + MINUTE)),
        s,
      );
      expect(await store.withdrawPreparedRuns(s, at - 1000)).toBe(2);
      for (const id of ["last", "on"]) {
        const stored = must(await store.getJob(s, id));
        expect(stored.nextRunTime).toBe(at);
        expect(stored.preparedFirst ?? null).toBeNull();
        expect(stored.lastFirePrepared).toBeFalsy();
      }
    });
  });
}
