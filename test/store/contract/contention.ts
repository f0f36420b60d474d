/**
 * Changes while another node fires: removing every job of a scheduler, removing or pausing one
 * job, while another node's store keeps claiming those jobs, handing out their runs and recording
 * them, as fast as it can. The change completes (it is neither starved by the engine's claims nor
 * answered UNAVAILABLE) and applies whole.
 */
import { describe, expect, it } from "vitest";
import type { Job } from "../../../server/src/domain/jobs.js";
import type { PlanFn, Store } from "../../../server/src/store/port.js";
import { job, leaseOf, pendingRun, S, T0, useStores, type StoreFactory } from "./fixtures.js";

/** Each claim turns a job's next_run_time into a run and moves it a second later. */
const everySecond: PlanFn = (j: Job) => {
  const at = j.nextRunTime ?? 0;
  return { runs: [pendingRun(j, at)], nextRunTime: at + S };
};

interface Churn {
  /** The node's clock: a second later each round. */
  now(): number;
  /** Resolves once the node has gone round `n` times. */
  rounds(n: number): Promise<void>;
  /** How many times it has gone round so far. */
  done(): number;
  /** Stops it after its round; answers how many rounds it made. */
  stop(): Promise<number>;
}

/**
 * Another node firing the jobs of scheduler `s` as fast as it goes: each round claims what is due
 * a second later, hands out a few of the runs due (the others wait, pending) and records the
 * ones it handed out the round before as succeeded.
 */
function churn(store: Store, s: string, handler: string): Churn {
  let now = T0;
  let done = 0;
  const state = { stopping: false };
  const waiting: { n: number; resolve: () => void }[] = [];
  const loop = (async () => {
    let held: Awaited<ReturnType<Store["leaseRuns"]>>["taken"] = [];
    while (!state.stopping) {
      now += S;
      await store.claimDueJobs({ horizon: now, limit: 100, plan: everySecond });
      await store.completeRuns(
        now,
        held.map((r) => ({ lease: leaseOf(r), outcome: { kind: "success", result: null } })),
      );
      held = (
        await store.leaseRuns({
          now,
          slots: new Map([[handler, 5]]),
          total: 5,
          workerId: `churn-${s}`,
          leaseToken: `t-${String(done)}`,
          leaseMs: 60 * S,
          paused: [],
        })
      ).taken;
      done++;
      for (const w of waiting.filter((x) => x.n <= done)) w.resolve();
    }
    return done;
  })();
  return {
    now: () => now,
    done: () => done,
    rounds: (n) =>
      new Promise<void>((resolve) => {
        if (done >= n) resolve();
        else waiting.push({ n, resolve });
      }),
    stop: () => {
      state.stopping = true;
      return loop;
    },
  };
}

export function contentionContract(factory: StoreFactory): void {
  describe("changes while another node fires", () => {
    const stores = useStores(factory);

    it("removing every job of a busy scheduler removes them all and cancels the runs waiting", async () => {
      const { store } = stores;
      const s = "busy-all";
      for (let i = 0; i < 40; i++)
        await store.insertJob(
          job(`b${String(i)}`, { scheduler: s, handler: "h.busy-all", nextRunTime: T0 }),
        );
      // Three nodes firing, as in test/engine/events-three-nodes.
      const [node, ...more] = [1, 2, 3].map(() => churn(stores.another(), s, "h.busy-all"));
      if (node === undefined) throw new Error("three nodes");
      await node.rounds(3);
      let told: { n: number; cancelled: number } | undefined;
      const removed = await store.deleteAllJobs(s, {
        cancelPendingRunsAt: node.now(),
        events: (n, cancelled) => {
          told = { n, cancelled: cancelled.length };
          return [];
        },
      });
      expect(await node.stop()).toBeGreaterThanOrEqual(3);
      for (const m of more) await m.stop();
      expect(removed).toBe(40);
      expect(told?.n).toBe(40);
      expect((await store.listJobs({ scheduler: s, pageSize: 100, orderBy: "id" })).items).toEqual(
        [],
      );
      // Whatever waited was cancelled (and said so), none is left pending.
      expect(await store.listRuns({ scheduler: s, statuses: ["pending"], limit: 1000 })).toEqual(
        [],
      );
      const cancelled = await store.listRuns({
        scheduler: s,
        statuses: ["cancelled"],
        limit: 1000,
      });
      expect(cancelled.length).toBe(told?.cancelled);
      expect(cancelled.length).toBeGreaterThan(0);
    });

    it("removing or pausing one job that keeps firing applies, and its fire times stop", async () => {
      const { store } = stores;
      const s = "busy-one";
      for (const id of ["gone", "paused", "other"])
        await store.insertJob(
          job(id, { scheduler: s, handler: "h.busy-one", nextRunTime: T0, maxInstances: 5 }),
        );
      const node = churn(stores.another(), s, "h.busy-one");
      await node.rounds(3);
      expect(await store.deleteJob(s, "gone", { cancelPendingRunsAt: node.now() })).toBe(true);
      const paused = await store.updateJob(
        s,
        "paused",
        (c) => ({ ...c, paused: true, nextRunTime: null, version: c.version + 1 }),
        node.now(),
      );
      const runsBefore = await store.listRuns({ scheduler: s, statuses: [], limit: 1000 });
      // Three rounds after the change (the node may have gone round many times while it retried).
      await node.rounds(node.done() + 3);
      await node.stop();
      expect(paused).toMatchObject({ paused: true, nextRunTime: null });
      expect(await store.getJob(s, "gone")).toBeNull();
      expect(await store.getJob(s, "paused")).toMatchObject({ paused: true, nextRunTime: null });
      // Rounds after the change created runs of the other job only.
      const known = new Set(runsBefore.map((r) => r.id));
      const later = (await store.listRuns({ scheduler: s, statuses: [], limit: 1000 })).filter(
        (r) => !known.has(r.id),
      );
      expect(later.length).toBeGreaterThan(0);
      expect(new Set(later.map((r) => r.jobId))).toEqual(new Set(["other"]));
    });
  });
}
