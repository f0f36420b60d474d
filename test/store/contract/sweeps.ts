/** Sweeps (misfires, expired leases, timeouts), cancels, retention and reading runs. */
import { describe, expect, it } from "vitest";
import { addRun, job, lease, must, S, T0, useStores, type StoreFactory } from "./fixtures.js";

export function sweepsContract(factory: StoreFactory): void {
  describe("sweeps and cancels", () => {
    const stores = useStores(factory);

    it("a sweep records misfires, retries or fails expired leases, and times out runs", async () => {
      const { store } = stores;
      const retry = { maxAttempts: 3, initialBackoffMs: 500, maxBackoffMs: 60_000, multiplier: 2 };
      const late = await addRun(
        store,
        job("late", { scheduler: "sweep", handler: "h.s-idle" }),
        T0,
      );
      const h = "h.s";
      const exp = job("exp", { scheduler: "sweep", handler: h, retry });
      const slow = job("slow", {
        scheduler: "sweep",
        handler: h,
        timeoutMs: 5 * S,
        maxInstances: 2,
      });
      await addRun(store, exp, T0);
      await addRun(store, slow, T0);
      const taken = await lease(store, h, T0, { leaseMs: 60 * S, workerId: "w-s" });
      const expRun = must(taken.find((r) => r.jobId === "exp"));
      const slowRun = must(taken.find((r) => r.jobId === "slow"));
      // The expiring one's lease is shortened by a short extension.
      await store.extendLeases(
        T0,
        [{ runId: expRun.id, attempt: 1, token: "token-1" }],
        2 * S,
        "w-s",
      );
      // Nothing is due yet, and misfires are only looked for when asked.
      const quiet = await store.sweep({ now: T0 + S, limit: 100, misfires: false, leases: true });
      expect([quiet.missed, quiet.expired, quiet.timedOut].flat().map((r) => r.id)).toEqual([]);
      const swept = await store.sweep({
        now: T0 + 61 * S,
        limit: 100,
        misfires: true,
        leases: true,
      });
      expect(swept.missed.map((r) => r.id)).toContain(late.id);
      expect(swept.expired.map((r) => r.id)).toEqual([expRun.id]);
      expect(swept.timedOut.map((r) => r.id)).toEqual([slowRun.id]);
      expect(await store.getRun(late.id)).toMatchObject({
        status: "missed",
        statusReason: `no worker took it within its misfire grace (due ${new Date(T0).toISOString()})`,
      });
      expect(await store.getRun(expRun.id)).toMatchObject({
        status: "pending",
        attempt: 2,
        dueAt: T0 + 61 * S + 500,
        error: { type: "LeaseExpired", message: "the lease of worker w-s expired (no heartbeat)" },
      });
      expect(await store.getRun(slowRun.id)).toMatchObject({
        status: "timed_out",
        error: { type: "TimeoutError" },
      });
      for (const r of [...swept.missed, ...swept.expired, ...swept.timedOut])
        expect(await store.getRun(r.id)).toEqual(r);
    });

    it("after an outage the sweep can spare leases (leases: false)", async () => {
      const { store } = stores;
      await addRun(store, job("spare", { scheduler: "sweep-spare", handler: "h.spare" }), T0);
      const [r] = await lease(store, "h.spare", T0, { leaseMs: S });
      const spared = await store.sweep({
        now: T0 + 10 * S,
        limit: 100,
        misfires: false,
        leases: false,
      });
      expect(spared.expired).toEqual([]);
      expect((await store.getRun(must(r).id))?.status).toBe("running");
    });

    it("cancels a pending or a running run once; an ended run cannot be cancelled", async () => {
      const { store } = stores;
      const p = await addRun(store, job("cp", { scheduler: "cancel", handler: "h.cp" }), T0);
      const out = await store.cancelRun(T0 + S, p.id, "");
      expect(out).toMatchObject({ kind: "cancelled", wasRunning: false, changed: true });
      expect(await store.getRun(p.id)).toMatchObject({
        status: "cancelled",
        statusReason: "cancelled",
        finishedAt: T0 + S,
        dueAt: null,
      });
      expect(await store.cancelRun(T0 + 2 * S, p.id, "again")).toMatchObject({
        kind: "cancelled",
        changed: false,
      });
      await addRun(store, job("cr", { scheduler: "cancel", handler: "h.cr" }), T0);
      const [running] = await lease(store, "h.cr", T0);
      expect(await store.cancelRun(T0 + S, must(running).id, "operator")).toMatchObject({
        kind: "cancelled",
        wasRunning: true,
        run: { statusReason: "operator", leaseExpiresAt: null },
      });
      const done = await addRun(store, job("cd", { scheduler: "cancel", handler: "h.cd" }), T0);
      const [d] = await lease(store, "h.cd", T0);
      await store.completeRuns(T0 + S, [
        {
          lease: { runId: must(d).id, attempt: 1, token: "token-1" },
          outcome: { kind: "success", result: 1 },
        },
      ]);
      expect(await store.cancelRun(T0 + 2 * S, done.id, "late")).toMatchObject({ kind: "final" });
      expect(await store.cancelRun(T0, "no-such-run", "")).toEqual({ kind: "not_found" });
    });

    it("lists a scheduler's runs newest first, by job, status and keyset; retention deletes ended runs", async () => {
      const { store } = stores;
      const s = "listing-runs";
      const j = job("lr", { scheduler: s, handler: "h.lr", maxInstances: 10 });
      const runs = [];
      for (let i = 0; i < 5; i++) runs.push(await addRun(store, j, T0 + i * S));
      await addRun(store, job("other", { scheduler: s, handler: "h.lr-other" }), T0);
      const page1 = await store.listRuns({ scheduler: s, jobId: "lr", statuses: [], limit: 2 });
      expect(page1.map((r) => r.id)).toEqual([must(runs[4]).id, must(runs[3]).id]);
      const last = must(page1[1]);
      const page2 = await store.listRuns({
        scheduler: s,
        jobId: "lr",
        statuses: [],
        limit: 10,
        after: { scheduledTime: last.scheduledTime, id: last.id },
      });
      expect(page2.map((r) => r.id)).toEqual([
        must(runs[2]).id,
        must(runs[1]).id,
        must(runs[0]).id,
      ]);
      expect(await store.listRuns({ scheduler: s, statuses: ["pending"], limit: 10 })).toHaveLength(
        6,
      );
      await store.cancelRun(T0, must(runs[0]).id, "");
      await store.cancelRun(T0, must(runs[1]).id, "");
      expect(
        (await store.listRuns({ scheduler: s, statuses: ["cancelled"], limit: 10 })).map(
          (r) => r.id,
        ),
      ).toEqual([must(runs[1]).id, must(runs[0]).id]);
      // Retention: ended runs fired before the cut-off go, waiting runs stay.
      expect(await store.deleteOldRuns(T0 + 3 * S, 1000)).toBeGreaterThanOrEqual(2);
      expect(await store.getRun(must(runs[0]).id)).toBeNull();
      expect(await store.getRun(must(runs[2]).id)).not.toBeNull();
    });
  });
}
