/** Leases: handing runs to workers, extending and handing back leases, and who holds what. */
import { describe, expect, it } from "vitest";
import { leased } from "../../../server/src/domain/run-transitions.js";
import {
  addRun,
  job,
  lease,
  leaseOf,
  S,
  scheduler,
  T0,
  useStores,
  type StoreFactory,
} from "./fixtures.js";

export function leasesContract(factory: StoreFactory): void {
  describe("leases", () => {
    const stores = useStores(factory);

    it("hands due runs to a worker: running under the lease, as the transition computes", async () => {
      const { store } = stores;
      const j = job("l1", {
        scheduler: "lease",
        handler: "h.l1",
        timeoutMs: 60 * S,
        maxInstances: 5,
        // Several due fires of one job, each handed out: it does not coalesce (a coalescing
        // job's would fold into the latest: "folds a coalescing job's …" below).
        coalesce: false,
      });
      const a = await addRun(store, j, T0);
      const b = await addRun(store, j, T0 + S);
      const notYet = await addRun(store, j, T0 + 10 * S);
      const { taken, ended } = await store.leaseRuns({
        now: T0 + 2 * S,
        slots: new Map([["h.l1", 5]]),
        total: 5,
        workerId: "w1",
        leaseToken: "tok",
        leaseMs: 30 * S,
        paused: [],
      });
      expect(ended).toEqual([]);
      expect(taken.map((r) => r.id)).toEqual([a.id, b.id]);
      const grant = { workerId: "w1", token: "tok", leaseMs: 30 * S };
      expect(taken[0]).toEqual(leased(a, grant, T0 + 2 * S));
      for (const r of taken) expect(await store.getRun(r.id)).toEqual(r);
      expect(taken[0]).toMatchObject({
        startedAt: T0 + 2 * S,
        leaseExpiresAt: T0 + 32 * S,
        deadlineAt: T0 + 62 * S,
      });
      expect((await store.getRun(notYet.id))?.status).toBe("pending");
      expect(await store.nextPendingDue(["h.l1"], [])).toBe(T0 + 10 * S);
      expect(await store.runHandlers([a.id, "nope"])).toEqual(new Map([[a.id, "h.l1"]]));
    });

    it("respects the free slots, leases ahead within dueBy from the due time, and skips paused schedulers", async () => {
      const { store } = stores;
      const j = job("l2", { scheduler: "lease-ahead", handler: "h.l2", maxInstances: 5 });
      await addRun(store, job("l2b", { scheduler: "lease-ahead", handler: "h.l2" }), T0);
      await addRun(store, j, T0);
      expect(await lease(store, "h.l2", T0, { slots: 1 })).toHaveLength(1);
      expect(await lease(store, "h.l2", T0, { slots: 1 })).toHaveLength(1);
      const ahead = await addRun(
        store,
        job("l2c", { scheduler: "lease-ahead", handler: "h.l2" }),
        T0 + 400,
      );
      const { taken } = await store.leaseRuns({
        now: T0,
        slots: new Map([["h.l2", 5]]),
        total: 5,
        workerId: "w1",
        leaseToken: "tok-ahead",
        leaseMs: 10 * S,
        paused: [],
        dueBy: T0 + 500,
      });
      expect(taken.map((r) => [r.id, r.startedAt, r.leaseExpiresAt])).toEqual([
        [ahead.id, T0 + 400, T0 + 10_400],
      ]);
      await store.insertScheduler(scheduler("lease-paused", { paused: true }));
      const waiting = await addRun(
        store,
        job("p", { scheduler: "lease-paused", handler: "h.l2" }),
        T0,
      );
      const { taken: none } = await store.leaseRuns({
        now: T0 + S,
        slots: new Map([["h.l2", 5]]),
        total: 5,
        workerId: "w1",
        leaseToken: "tok-p",
        leaseMs: 10 * S,
        paused: ["lease-paused"],
      });
      expect(none).toEqual([]);
      expect(await store.nextPendingDue(["h.l2"], ["lease-paused"])).toBeNull();
      expect((await store.getRun(waiting.id))?.status).toBe("pending");
    });

    it("decides max_instances at hand-out (skipped) and records runs past their grace as missed", async () => {
      const { store } = stores;
      const j = job("l3", { scheduler: "lease-limits", handler: "h.l3", maxInstances: 1 });
      const first = await addRun(store, j, T0);
      expect(await lease(store, "h.l3", T0)).toHaveLength(1);
      const second = await addRun(store, j, T0 + S);
      const stale = await addRun(
        store,
        job("l3s", { scheduler: "lease-limits", handler: "h.l3" }),
        T0 - 120 * S,
      );
      const { taken, ended } = await store.leaseRuns({
        now: T0 + S,
        slots: new Map([["h.l3", 5]]),
        total: 5,
        workerId: "w2",
        leaseToken: "tok2",
        leaseMs: 10 * S,
        paused: [],
      });
      expect(taken).toEqual([]);
      expect(ended.map((r) => [r.id, r.status]).sort()).toEqual(
        [
          [second.id, "skipped"],
          [stale.id, "missed"],
        ].sort(),
      );
      expect(await store.getRun(second.id)).toMatchObject({
        status: "skipped",
        statusReason: "max_instances 1 reached",
      });
      expect((await store.getRun(first.id))?.status).toBe("running");
    });

    it("decides max_instances for a busy handler too: its first attempts due since `after` are skipped if their job is at its limit; nothing else changes", async () => {
      const { store } = stores;
      const s = "lease-busy";
      // Not coalescing: its due fires are decided each (see "folds a coalescing job's …").
      const j = job("lb", { scheduler: s, handler: "h.busy", maxInstances: 1, coalesce: false });
      const first = await addRun(store, j, T0);
      expect(await lease(store, "h.busy", T0)).toHaveLength(1);
      const seen = await addRun(store, j, T0 + S); // due by `after`: looked at before
      const fire = await addRun(store, j, T0 + 2 * S);
      const retry = await addRun(store, j, T0 + 3 * S, { attempt: 2 });
      const later = await addRun(store, j, T0 + 10 * S);
      const room = await addRun(store, job("lb-room", { scheduler: s, handler: "h.busy" }), T0 + S);
      const { taken, ended } = await store.leaseRuns({
        now: T0 + 5 * S,
        slots: new Map(),
        total: 0,
        workerId: "",
        leaseToken: "",
        leaseMs: 10 * S,
        paused: [],
        busy: new Map([["h.busy", T0 + S]]),
      });
      expect(taken).toEqual([]);
      expect(ended.map((r) => [r.id, r.status])).toEqual([[fire.id, "skipped"]]);
      expect(await store.getRun(fire.id)).toMatchObject({
        status: "skipped",
        statusReason: "max_instances 1 reached",
      });
      for (const r of [seen, retry, later, room])
        expect((await store.getRun(r.id))?.status).toBe("pending");
      expect((await store.getRun(first.id))?.status).toBe("running");
      // The next due after a time, for the node's next look.
      expect(await store.nextPendingDue(["h.busy"], [], T0 + 5 * S)).toBe(T0 + 10 * S);
      expect(await store.nextPendingDue(["h.busy"], [], T0 + 10 * S)).toBeNull();
      expect(await store.nextPendingDue(["h.busy"], [])).toBe(T0 + S);
    });

    it("folds a coalescing job's fires that waited unserved into its latest due one: missed with a reason, the latest handed out in their place", async () => {
      const { store } = stores;
      const s = "lease-fold";
      const j = job("lf", { scheduler: s, handler: "h.fold", maxInstances: 1, coalesce: true });
      // Three fire times passed while no worker took them.
      const a = await addRun(store, j, T0);
      const b = await addRun(store, j, T0 + S);
      const c = await addRun(store, j, T0 + 2 * S);
      const manual = await addRun(store, j, T0 + 500, { manual: true });
      const ahead = await addRun(store, j, T0 + 10 * S); // prepared ahead: not due
      const now = T0 + 3 * S;
      const request = {
        now,
        slots: new Map([["h.fold", 1]]),
        total: 1,
        workerId: "w1",
        leaseToken: "tok",
        leaseMs: 10 * S,
        paused: [],
      };
      // Served since now: the fires that came due before waited unserved. One slot: the oldest
      // due run is read; the job's later due fires join it.
      const { taken, ended } = await store.leaseRuns({
        ...request,
        servedSince: new Map([["h.fold", now]]),
      });
      expect(taken.map((r) => r.id)).toEqual([c.id]);
      const reason = `coalesced into the run of ${new Date(T0 + 2 * S).toISOString()}`;
      expect(ended.map((r) => [r.id, r.status, r.statusReason])).toEqual([
        [a.id, "missed", reason],
        [b.id, "missed", reason],
      ]);
      for (const r of [a, b])
        expect(await store.getRun(r.id)).toMatchObject({
          status: "missed",
          statusReason: reason,
          dueAt: null,
          expiresAt: null,
          finishedAt: now,
        });
      expect((await store.getRun(c.id))?.status).toBe("running");
      // A manual run and a run not due yet stay.
      for (const r of [manual, ahead]) expect((await store.getRun(r.id))?.status).toBe("pending");
      // Fires that waited while the node's sessions served the handler (slots taken) do not
      // fold: the oldest goes (max_instances decides the others).
      const busy = job("lf-busy", { scheduler: s, handler: "h.fold-busy", coalesce: true });
      const first = await addRun(store, busy, T0);
      const second = await addRun(store, busy, T0 + S);
      const served = await store.leaseRuns({
        ...request,
        slots: new Map([["h.fold-busy", 1]]),
        servedSince: new Map([["h.fold-busy", T0]]),
      });
      expect(served).toMatchObject({ taken: [{ id: first.id }], ended: [] });
      expect((await store.getRun(second.id))?.status).toBe("pending");
      // A later fire past its grace is no run to fold into: its grace ends it, the earlier goes.
      const graced = job("lf-grace", { scheduler: s, handler: "h.fold-grace", coalesce: true });
      const kept = await addRun(store, graced, T0, { expiresAt: null });
      const stale = await addRun(store, graced, T0 + S, { expiresAt: T0 + 2 * S });
      const late = await store.leaseRuns({
        ...request,
        slots: new Map([["h.fold-grace", 2]]),
        total: 2,
        servedSince: new Map([["h.fold-grace", now]]),
      });
      expect(late.taken.map((r) => r.id)).toEqual([kept.id]);
      expect(late.ended.map((r) => [r.id, r.status])).toEqual([[stale.id, "missed"]]);
      expect(late.ended[0]?.statusReason).toMatch(/^no worker took it within its misfire grace/);
    });

    it("extends current leases only; hands back runs never sent; knows which leases are current", async () => {
      const { store } = stores;
      const j = job("l4", {
        scheduler: "lease-extend",
        handler: "h.l4",
        maxInstances: 5,
        coalesce: false, // two runs of one job leased side by side
      });
      await addRun(store, j, T0);
      await addRun(store, j, T0);
      const [a, b] = await lease(store, "h.l4", T0 + S, { leaseMs: 10 * S, token: "t4" });
      if (a === undefined || b === undefined) throw new Error("two runs leased");
      const wrong = { ...leaseOf(b), token: "not-mine" };
      const lost = await store.extendLeases(T0 + 5 * S, [leaseOf(a), wrong], 10 * S, "w9");
      expect(lost).toEqual([wrong]);
      expect(await store.getRun(a.id)).toMatchObject({
        leaseExpiresAt: T0 + 15 * S,
        workerId: "w9",
      });
      // An expired lease cannot be extended.
      expect(await store.extendLeases(T0 + 12 * S, [leaseOf(b)], 10 * S, "w1")).toEqual([
        leaseOf(b),
      ]);
      const states = await store.leaseStates([leaseOf(a), wrong]);
      expect(states.get(a.id)).toMatchObject({ status: "running", current: true });
      expect(states.get(b.id)).toMatchObject({ status: "running", current: false });
      // Handed back: pending again, due when it was to start, the same attempt.
      expect(await store.releaseLeases(T0 + S, [leaseOf(a), wrong])).toBe(1);
      expect(await store.getRun(a.id)).toMatchObject({
        status: "pending",
        dueAt: T0 + S,
        attempt: 1,
        leaseToken: null,
        workerId: null,
        startedAt: null,
      });
      expect(await store.releaseLeases(T0 + S, [])).toBe(0);
    });
  });
}
