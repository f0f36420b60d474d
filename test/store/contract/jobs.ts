/** Schedulers and jobs: the reads and writes management relies on. */
import { beforeAll, describe, expect, it } from "vitest";
import { runEvents } from "../../../server/src/domain/events.js";
import type { Job } from "../../../server/src/domain/jobs.js";
import type { Run } from "../../../server/src/domain/runs.js";
import type { Store } from "../../../server/src/store/port.js";
import {
  addRun,
  allEvents,
  job,
  lease,
  leaseOf,
  must,
  S,
  scheduler,
  T0,
  useStores,
  type StoreFactory,
} from "./fixtures.js";

export function jobsContract(factory: StoreFactory): void {
  describe("schedulers and jobs", () => {
    const stores = useStores(factory);
    let store: Store;
    beforeAll(async () => {
      store = stores.store;
      await store.migrate(); // idempotent
    });

    it("answers ping", async () => {
      await expect(store.ping()).resolves.toBeUndefined();
    });

    it("inserts schedulers once and updates them under a lock", async () => {
      expect(await store.getScheduler("s1")).toBeNull();
      expect(await store.insertScheduler(scheduler("s1"))).toBe(true);
      expect(await store.insertScheduler(scheduler("s1"))).toBe(false);
      const paused = scheduler("s1", {
        paused: true,
        version: 2,
        timezone: "Asia/Shanghai",
        defaults: { coalesce: false, maxInstances: 3, misfireGraceTimeMs: null },
      });
      expect(await store.updateScheduler("s1", () => paused)).toEqual(paused);
      expect(await store.getScheduler("s1")).toEqual(paused);
      expect(await store.updateScheduler("nobody", () => paused)).toBeNull();
      expect(await store.insertScheduler(scheduler("a0"))).toBe(true);
      expect((await store.listSchedulers()).map((s) => s.name)).toEqual(["a0", "s1"]);
    });

    it("counts a scheduler's jobs, scheduled or not", async () => {
      expect(await store.countJobs("counted")).toBe(0);
      await store.insertJob(job("c1", { scheduler: "counted" }));
      await store.insertJob(job("c2", { scheduler: "counted", paused: true, nextRunTime: null }));
      await store.insertJob(job("c1", { scheduler: "counted-too" }));
      expect(await store.countJobs("counted")).toBe(2);
      expect(await store.deleteJob("counted", "c1")).toBe(true);
      expect(await store.countJobs("counted")).toBe(1);
      expect(await store.countJobs("counted-too")).toBe(1);
    });

    it("round-trips a job exactly, and refuses a duplicate id", async () => {
      const j = job("j1", {
        retry: { maxAttempts: 3, initialBackoffMs: 1000, maxBackoffMs: 60_000, multiplier: 2 },
        timeoutMs: 300_000,
        misfireGraceTimeMs: null,
      });
      expect(await store.insertJob(j)).toBe(true);
      expect(await store.insertJob(job("j1", { name: "other" }))).toBe(false);
      expect(await store.getJob("default", "j1")).toEqual(j);
      expect(await store.getJob("other", "j1")).toBeNull();
      // Ids are case-sensitive (a binary collation on MySQL).
      expect(await store.insertJob(job("J1"))).toBe(true);
      expect((await store.getJob("default", "J1"))?.id).toBe("J1");
      // The same id in another scheduler is another job.
      expect(await store.insertJob(job("j1", { scheduler: "other" }))).toBe(true);
    });

    it("concurrent inserts and reads: each row once, duplicates refused, misses null", async () => {
      // Issued together, these go out in shared statements on MySQL (store/mysql/hot.ts): a
      // duplicate in a batch must not lose the other rows, and each caller gets its own answer.
      expect(await store.insertJob(job("b-existing"))).toBe(true);
      const ids = Array.from({ length: 60 }, (_, i) => `b-${String(i)}`);
      const inserted = await Promise.all([
        ...ids.map((id) => store.insertJob(job(id, { name: `name ${id}` }))),
        store.insertJob(job("b-existing", { name: "second" })),
        store.insertJob(job("b-7", { name: "twin" })),
      ]);
      expect(inserted.slice(0, 60).every((x) => x)).toBe(true);
      expect(inserted.slice(60)).toEqual([false, false]);
      const read = await Promise.all([
        ...ids.map((id) => store.getJob("default", id)),
        store.getJob("default", "b-missing"),
        store.getJob("other", "b-3"),
        store.getJob("default", "B-3"),
      ]);
      expect(read.slice(0, 60).map((j) => j?.name)).toEqual(ids.map((id) => `name ${id}`));
      expect(read.slice(60)).toEqual([null, null, null]);
      expect((await store.getJob("default", "b-existing"))?.name).toBe(job("b-existing").name);
    });

    it("updates a job under a lock: concurrent changes all apply, none is lost", async () => {
      await store.insertJob(job("locked"));
      const bump = (j: Job): Job => ({
        ...j,
        version: j.version + 1,
        args: [...j.args, j.version],
      });
      await Promise.all(
        Array.from({ length: 20 }, () => store.updateJob("default", "locked", bump)),
      );
      const after = await store.getJob("default", "locked");
      expect(after?.version).toBe(21);
      expect(after?.args.slice(5)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
      expect(await store.updateJob("default", "missing", bump)).toBeNull();
    });

    it("rolls back when the change throws, and hands back the current row", async () => {
      await store.insertJob(job("same"));
      const before = await store.getJob("default", "same");
      expect(await store.updateJob("default", "same", (j) => j)).toEqual(before);
      // The change writes a new version, then fails: nothing of it may stay.
      await expect(
        store.updateJob("default", "same", (j) => {
          if (j.version === 1) throw new Error("abort");
          return { ...j, version: j.version + 1 };
        }),
      ).rejects.toThrow("abort");
      expect(await store.getJob("default", "same")).toEqual(before);
    });

    it("lists with filters, both orders, and keyset pages", async () => {
      const s = "listing";
      const ids = ["b", "a", "d", "c", "e"];
      for (const [i, id] of ids.entries()) {
        await store.insertJob(
          job(id, {
            scheduler: s,
            name: i % 2 ? `nightly ${id}` : `hourly ${id}`,
            handler: i < 2 ? "h.one" : "h.two",
            nextRunTime: i === 4 ? null : 10_000 - i,
            paused: i === 4,
          }),
        );
      }
      const all = async (orderBy: "id" | "next_run_time", pageSize: number, extra: object = {}) => {
        const out: string[] = [];
        let pageToken = "";
        for (;;) {
          const p = await store.listJobs({ scheduler: s, orderBy, pageSize, pageToken, ...extra });
          out.push(...p.items.map((x) => x.id));
          if (!p.nextPageToken) return out;
          pageToken = p.nextPageToken;
        }
      };
      expect(await all("id", 2)).toEqual(["a", "b", "c", "d", "e"]);
      // next_run_time ascending, jobs without one (paused) last
      expect(await all("next_run_time", 2)).toEqual(["c", "d", "a", "b", "e"]);
      expect(await all("next_run_time", 10)).toEqual(["c", "d", "a", "b", "e"]);
      expect(await all("id", 10, { handler: "h.one" })).toEqual(["a", "b"]);
      expect(await all("id", 10, { paused: true })).toEqual(["e"]);
      expect(await all("id", 10, { paused: false })).toEqual(["a", "b", "c", "d"]);
      expect(await all("id", 10, { namePrefix: "nightly" })).toEqual(["a", "c"]);
      expect(await all("id", 10, { idPrefix: "d" })).toEqual(["d"]);
      // prefixes are case-sensitive, like the identifiers
      expect(await all("id", 10, { namePrefix: "Nightly" })).toEqual([]);
      // LIKE wildcards in a prefix are literal
      expect(await all("id", 10, { namePrefix: "%" })).toEqual([]);
    });

    it("deletes one job or all of a scheduler's", async () => {
      await store.insertJob(job("x1", { scheduler: "gone" }));
      await store.insertJob(job("x2", { scheduler: "gone" }));
      await store.insertJob(job("x1", { scheduler: "kept" }));
      expect(await store.deleteJob("gone", "x1")).toBe(true);
      expect(await store.deleteJob("gone", "x1")).toBe(false);
      expect(await store.deleteAllJobs("gone")).toBe(1);
      expect(await store.getJob("kept", "x1")).not.toBeNull();
    });

    it("removing a job cancels its pending runs in the same operation, with the events of both", async () => {
      // Two due fires, the first leased: the job does not coalesce (the first would fold).
      const j = job("rm", { scheduler: "removal", handler: "h.removal", coalesce: false });
      const leased = await addRun(store, j, T0);
      const waiting = await addRun(store, j, T0 + S);
      const [taken] = await lease(store, "h.removal", T0 + S, { slots: 1 });
      expect(taken?.id).toBe(leased.id);
      const prepared = await addRun(store, j, T0 + 60 * S); // a later fire time, prepared ahead
      const now = T0 + 2 * S;
      expect(
        await store.deleteJob("removal", "rm", {
          cancelPendingRunsAt: now,
          events: (deleted, cancelled) => runEvents(cancelled, now, `removed ${deleted.id}`),
        }),
      ).toBe(true);
      expect(await store.getJob("removal", "rm")).toBeNull();
      // The run already due is cancelled; the one prepared ahead is withdrawn; the running one goes on.
      expect(await store.getRun(waiting.id)).toMatchObject({
        status: "cancelled",
        statusReason: "job removed",
        finishedAt: now,
      });
      expect(await store.getRun(prepared.id)).toBeNull();
      expect((await store.getRun(leased.id))?.status).toBe("running");
      const events = (await allEvents(store)).filter((e) => e.data.nodeId === "removed rm");
      expect(events.map((e) => [e.type, e.runId])).toEqual([["run_cancelled", waiting.id]]);
      // Nothing to delete: nothing written, no events.
      expect(
        await store.deleteJob("removal", "rm", {
          cancelPendingRunsAt: now,
          events: () => {
            throw new Error("not called");
          },
        }),
      ).toBe(false);
    });

    it("removing a job cancels a retry of its run, pending again after a failed attempt", async () => {
      const retry = { maxAttempts: 3, initialBackoffMs: 1000, maxBackoffMs: 60_000, multiplier: 2 };
      const j = job("retried", { scheduler: "removal", handler: "h.retried", retry });
      const run = await addRun(store, j, T0);
      const [taken] = await lease(store, "h.retried", T0);
      expect(taken?.id).toBe(run.id);
      const failed = await store.completeRuns(T0 + S, [
        {
          lease: leaseOf(must(taken)),
          outcome: {
            kind: "error",
            error: { message: "boom", type: "Boom", stack: "", nonRetryable: false },
          },
        },
      ]);
      expect(failed.map((v) => (v.accepted ? v.run.status : v.reason))).toEqual(["pending"]);
      const now = T0 + 2 * S;
      let cancelled: string[] = [];
      expect(
        await store.deleteJob("removal", "retried", {
          cancelPendingRunsAt: now,
          events: (_deleted, runs) => {
            cancelled = runs.map((r) => r.id);
            return [];
          },
        }),
      ).toBe(true);
      expect(cancelled).toEqual([run.id]);
      expect(await store.getRun(run.id)).toMatchObject({
        status: "cancelled",
        statusReason: "job removed",
        attempt: 2,
      });
    });

    it("removing all of a scheduler's jobs cancels the scheduler's pending runs", async () => {
      const a = await addRun(store, job("a", { scheduler: "all-gone", handler: "h.all" }), T0);
      const b = await addRun(store, job("b", { scheduler: "all-gone", handler: "h.all" }), T0);
      const other = await addRun(store, job("a", { scheduler: "all-kept", handler: "h.all" }), T0);
      let cancelledIds: string[] = [];
      expect(
        await store.deleteAllJobs("all-gone", {
          cancelPendingRunsAt: T0 + S,
          events: (n, cancelled) => {
            cancelledIds = cancelled.map((r) => r.id);
            expect(n).toBe(2);
            return [];
          },
        }),
      ).toBe(2);
      expect(cancelledIds.sort()).toEqual([a.id, b.id].sort());
      expect((await store.getRun(a.id))?.status).toBe("cancelled");
      expect((await store.getRun(other.id))?.status).toBe("pending");
    });

    it("a removal in parts: the runs due first with the jobs, the rest by cancelPendingRuns up to its bound", async () => {
      const j = job("p", { scheduler: "parts", handler: "h.parts" });
      const running = await addRun(store, j, T0 - S, { id: "part-r" });
      expect((await lease(store, "h.parts", T0 - S, { slots: 1 })).map((r) => r.id)).toEqual([
        running.id,
      ]);
      // Ids in creation order, fire times in another: part-0 is prepared ahead for a later time.
      const prepared = await addRun(store, j, T0 + 600 * S, { id: "part-0" });
      for (const k of [1, 2, 3, 4, 5])
        await addRun(
          store,
          job(`p${String(k)}`, { scheduler: "parts", handler: "h.parts" }),
          T0 + k * S,
          {
            id: `part-${String(k)}`,
          },
        );
      const other = await addRun(
        store,
        job("p", { scheduler: "parts-kept", handler: "h.parts" }),
        T0,
      );
      const now = T0 + 10 * S;
      const parts: string[][] = [];
      expect(
        await store.deleteAllJobs("parts", {
          cancelPendingRunsAt: now,
          cancelLimit: 2,
          events: (_n, cancelled) => {
            parts.push(cancelled.map((r) => r.id));
            return runEvents(cancelled, now, "parts");
          },
        }),
      ).toBe(6);
      expect(parts).toEqual([["part-1", "part-2"]]);
      expect(await store.getJob("parts", "p3")).toBeNull();
      const more = {
        now,
        idBefore: "part-5",
        limit: 2,
        events: (cancelled: readonly Run[]) => {
          parts.push(cancelled.map((r) => r.id));
          return runEvents(cancelled, now, "parts");
        },
      };
      expect(await store.cancelPendingRuns("parts", more)).toBe(2);
      // The last part finds fewer than the limit: what is left (the prepared run) or nothing.
      expect(await store.cancelPendingRuns("parts", more)).toBeLessThan(2);
      expect(await store.cancelPendingRuns("parts", more)).toBe(0);
      expect(parts).toEqual([
        ["part-1", "part-2"],
        ["part-3", "part-4"],
      ]);
      for (const id of ["part-1", "part-2", "part-3", "part-4"])
        expect(await store.getRun(id)).toMatchObject({ status: "cancelled", finishedAt: now });
      // Past the bound (made after the removal began), prepared ahead (withdrawn), running (goes on).
      expect((await store.getRun("part-5"))?.status).toBe("pending");
      expect(await store.getRun(prepared.id)).toBeNull();
      expect((await store.getRun(running.id))?.status).toBe("running");
      expect((await store.getRun(other.id))?.status).toBe("pending");
      const cancelledEvents = (await allEvents(store)).filter((e) => e.data.nodeId === "parts");
      expect(cancelledEvents.map((e) => e.runId)).toEqual(["part-1", "part-2", "part-3", "part-4"]);
    });

    it("a job's delete at an expected version leaves another version alone", async () => {
      await store.insertJob(job("versioned", { scheduler: "v", version: 3 }));
      expect(await store.deleteJob("v", "versioned", { expectedVersion: 2 })).toBe(false);
      expect(await store.deleteJob("v", "versioned", { expectedVersion: 3 })).toBe(true);
    });

    it("updateJob with now withdraws the runs prepared ahead and rewinds next_run_time to them", async () => {
      const j = job("prep", { scheduler: "prep", handler: "h.prep", nextRunTime: T0 + 120 * S });
      const prepared = await addRun(store, j, T0 + 60 * S);
      const seen: (number | null)[] = [];
      const paused = await store.updateJob(
        "prep",
        "prep",
        (current: Job) => {
          seen.push(current.nextRunTime);
          return { ...current, paused: true, nextRunTime: null, version: current.version + 1 };
        },
        T0,
      );
      expect(seen).toEqual([T0 + 60 * S]);
      expect(paused?.paused).toBe(true);
      expect(await store.getRun(prepared.id)).toBeNull();
      // No change: nothing withdrawn.
      const kept = await addRun(store, j, T0 + 90 * S);
      await store.updateJob("prep", "prep", (current) => current, T0);
      expect(await store.getRun(kept.id)).not.toBeNull();
    });
  });
}
