/** Results: recorded only for the run's current lease (fencing), in batches, with their events. */
import { describe, expect, it } from "vitest";
import { runEvents } from "../../../server/src/domain/events.js";
import type { Outcome } from "../../../server/src/domain/runs.js";
import {
  addRun,
  allEvents,
  job,
  lease,
  leaseOf,
  must,
  S,
  T0,
  useStores,
  type StoreFactory,
} from "./fixtures.js";

const ok = (result: unknown): Outcome => ({ kind: "success", result: result as never });
const boom: Outcome = {
  kind: "error",
  error: { message: "boom", type: "Boom", stack: "at x", nonRetryable: false },
};
const retry = { maxAttempts: 2, initialBackoffMs: 1000, maxBackoffMs: 60_000, multiplier: 2 };

export function resultsContract(factory: StoreFactory): void {
  describe("results", () => {
    const stores = useStores(factory);

    it("records a batch of outcomes: success, a retry, a final failure; events in the same operation", async () => {
      const { store } = stores;
      const h = "h.r1";
      const a = job("ok", { scheduler: "results", handler: h });
      const b = job("retry", { scheduler: "results", handler: h, retry });
      const c = job("fail", { scheduler: "results", handler: h });
      for (const j of [a, b, c]) await addRun(store, j, T0);
      const taken = await lease(store, h, T0);
      const byJob = new Map(taken.map((r) => [r.jobId, r]));
      const at = (id: string) => leaseOf(must(byJob.get(id)));
      const now = T0 + 5 * S;
      const verdicts = await store.completeRuns(
        now,
        [
          { lease: at("ok"), outcome: ok({ rows: 3 }) },
          { lease: at("retry"), outcome: boom },
          { lease: at("fail"), outcome: boom },
        ],
        (vs) =>
          runEvents(
            vs.flatMap((v) => (v.accepted && v.recorded ? [v.run] : [])),
            now,
            "results-1",
          ),
      );
      expect(verdicts.map((v) => (v.accepted ? v.run.status : v.reason))).toEqual([
        "succeeded",
        "pending",
        "failed",
      ]);
      expect(await store.getRun(at("ok").runId)).toMatchObject({
        status: "succeeded",
        result: { rows: 3 },
        finishedAt: now,
        leaseExpiresAt: null,
      });
      expect(await store.getRun(at("retry").runId)).toMatchObject({
        status: "pending",
        attempt: 2,
        dueAt: now + 1000,
        leaseToken: null,
        error: { type: "Boom", message: "boom" },
      });
      expect(await store.getRun(at("fail").runId)).toMatchObject({
        status: "failed",
        statusReason: "Boom",
      });
      for (const v of verdicts) if (v.accepted) expect(await store.getRun(v.run.id)).toEqual(v.run);
      const events = (await allEvents(store)).filter((e) => e.data.nodeId === "results-1");
      expect(events.map((e) => e.type).sort()).toEqual(["job_error", "job_error", "job_executed"]);
    });

    it("control characters in a worker's error are stored: the type's replaced, the message and stack as sent", async () => {
      // PostgreSQL refuses a NUL in text: the type (also the run's status reason) is stored
      // with U+FFFD for each control character, the message and stack inside JSON as they are;
      // a good result in the same batch is recorded with them.
      const { store } = stores;
      const h = "h.ctl";
      const good = job("ctl-ok", { scheduler: "results", handler: h });
      const bad = job("ctl-bad", { scheduler: "results", handler: h });
      for (const j of [good, bad]) await addRun(store, j, T0);
      const taken = await lease(store, h, T0);
      const at = (id: string) => leaseOf(must(taken.find((r) => r.jobId === id)));
      const odd: Outcome = {
        kind: "error",
        error: {
          message: "nul \u0000 and bell \u0007",
          type: "Bad\u0000Type\n",
          stack: "at \u0000x",
          nonRetryable: false,
        },
      };
      const verdicts = await store.completeRuns(T0 + S, [
        { lease: at("ctl-ok"), outcome: ok(1) },
        { lease: at("ctl-bad"), outcome: odd },
      ]);
      expect(verdicts.map((v) => (v.accepted ? v.run.status : v.reason))).toEqual([
        "succeeded",
        "failed",
      ]);
      expect(await store.getRun(at("ctl-bad").runId)).toMatchObject({
        status: "failed",
        statusReason: "Bad\ufffdType\ufffd",
        error: {
          type: "Bad\ufffdType\ufffd",
          message: "nul \u0000 and bell \u0007",
          stack: "at \u0000x",
        },
      });
      expect((await store.getRun(at("ctl-ok").runId))?.status).toBe("succeeded");
    });

    it("fencing: a result for a lease that is no longer the worker's is rejected", async () => {
      const { store } = stores;
      const h = "h.r2";
      const j = job("fenced", { scheduler: "results-fence", handler: h, retry });
      await addRun(store, j, T0);
      const [first] = await lease(store, h, T0, { token: "first", leaseMs: 10 * S });
      if (first === undefined) throw new Error("leased");
      // The first lease expires; the run is retried under a new lease.
      await store.sweep({ now: T0 + 11 * S, limit: 100, misfires: false, leases: true });
      const [second] = await lease(store, h, T0 + 12 * S, { token: "second", workerId: "w2" });
      if (second === undefined) throw new Error("leased again");
      expect(second.attempt).toBe(2);
      const stale = await store.completeRuns(T0 + 13 * S, [
        { lease: leaseOf(first), outcome: ok(1) },
      ]);
      const unknown = await store.completeRuns(T0 + 13 * S, [
        { lease: { runId: second.id, attempt: 3, token: "second" }, outcome: ok(1) },
      ]);
      const current = await store.completeRuns(T0 + 13 * S, [
        { lease: leaseOf(second), outcome: ok(2) },
      ]);
      expect(stale[0]).toMatchObject({ accepted: false, reason: "lease_expired" });
      expect(unknown[0]).toMatchObject({ accepted: false, reason: "unknown_lease" });
      expect(current[0]).toMatchObject({ accepted: true, recorded: true });
      // The same attempt under another lease (handed back, then leased again): the old token
      // is refused, and the run goes on under the new one.
      await addRun(
        store,
        job("fenced-token", { scheduler: "results-fence", handler: "h.r2b" }),
        T0,
      );
      const [old] = await lease(store, "h.r2b", T0, { token: "old" });
      expect(await store.releaseLeases(T0 + S, [leaseOf(must(old))])).toBe(1);
      const [renewed] = await lease(store, "h.r2b", T0 + S, { token: "new", workerId: "w3" });
      expect(must(renewed).attempt).toBe(1);
      expect(
        (await store.completeRuns(T0 + 2 * S, [{ lease: leaseOf(must(old)), outcome: ok(1) }]))[0],
      ).toMatchObject({ accepted: false, reason: "lease_expired" });
      expect(await store.getRun(must(renewed).id)).toMatchObject({
        status: "running",
        leaseToken: "new",
      });
      // The same result again is accepted, and changes nothing.
      const again = await store.completeRuns(T0 + 20 * S, [
        { lease: leaseOf(second), outcome: ok(3) },
      ]);
      expect(again[0]).toMatchObject({ accepted: true, recorded: false });
      expect(await store.getRun(second.id)).toMatchObject({
        status: "succeeded",
        result: 2,
        finishedAt: T0 + 13 * S,
      });
      expect(
        (
          await store.completeRuns(T0, [
            { lease: { runId: "nope", attempt: 1, token: "x" }, outcome: ok(1) },
          ])
        )[0],
      ).toMatchObject({ accepted: false, reason: "unknown_lease", run: null });
    });

    it("a result after the lease expired and the run failed, or after a cancel or a timeout, is rejected", async () => {
      const { store } = stores;
      const h = "h.r3";
      for (const id of ["exp", "can", "tim"])
        await addRun(
          store,
          job(id, { scheduler: "results-late", handler: h, timeoutMs: 60 * S }),
          T0,
        );
      const taken = await lease(store, h, T0, { leaseMs: 10 * S });
      const of = (id: string) => must(taken.find((r) => r.jobId === id));
      await store.sweep({ now: T0 + 11 * S, limit: 100, misfires: false, leases: true });
      // (no retry policy: the expired attempt failed)
      expect((await store.getRun(of("exp").id))?.status).toBe("failed");
      // The sweep expired the others too: give them fresh runs to cancel and time out.
      const can = await addRun(
        store,
        job("can2", { scheduler: "results-late", handler: h }),
        T0 + 20 * S,
      );
      const tim = await addRun(
        store,
        job("tim2", { scheduler: "results-late", handler: h, timeoutMs: 5 * S }),
        T0 + 20 * S,
      );
      const fresh = await lease(store, h, T0 + 20 * S, { leaseMs: 60 * S, token: "fresh" });
      const canRun = must(fresh.find((r) => r.id === can.id));
      const timRun = must(fresh.find((r) => r.id === tim.id));
      await store.cancelRun(T0 + 21 * S, canRun.id, "stop it");
      expect(await store.timeOutRun(T0 + 25 * S, leaseOf(timRun))).toMatchObject({
        status: "timed_out",
        statusReason: "timeout of 5s passed",
      });
      expect(await store.timeOutRun(T0 + 25 * S, leaseOf(timRun))).toBeNull();
      const verdicts = await store.completeRuns(T0 + 26 * S, [
        { lease: leaseOf(of("exp")), outcome: ok(1) },
        { lease: leaseOf(canRun), outcome: ok(1) },
        { lease: leaseOf(timRun), outcome: ok(1) },
      ]);
      expect(verdicts.map((v) => (v.accepted ? "accepted" : v.reason))).toEqual([
        "lease_expired",
        "cancelled",
        "timed_out",
      ]);
    });
  });
}
