/**
 * The engine's rules, one test each, on each store (embedded SQLite and MariaDB) through the real
 * API and a worker session over @grpc/grpc-js. Time is a manual clock: the test moves it and runs one engine pass
 * (`engine.pass()`), so nothing waits on wall-clock time.
 */
import { describe, expect, it } from "vitest";
import { engineHarness, T0 } from "../support/engine-harness.js";
import { type Reply, timestamp as ts, duration as dur, msOf } from "../support/grpc-js.js";
import { describeEachStore } from "../support/mysql.js";
import type { TestStore } from "../support/stores.js";

const S = 1000;

describeEachStore("engine rules", engineRules, { cluster: true });

function engineRules(makeStore: () => Promise<TestStore>): void {
  const h = engineHarness(makeStore);
  const { clock, advance, runs, next } = h;
  const worker = (handler: string, concurrency = 5) =>
    h.worker(`w-${handler}`, handler, concurrency);

  /** An interval job every `every` ms, first fire one interval from now. */
  async function addInterval(id: string, every: number, extra: object = {}): Promise<void> {
    await h.c.job("AddJob", {
      job: {
        id,
        handler: `h.${id}`,
        trigger: { interval: { seconds: every / 1000, start_date: ts(clock.now() + every) } },
        misfire_grace_time: { duration: dur(5 * S) },
        ...extra,
      },
    });
  }

  const summary = (rs: Reply[]) =>
    rs.map((r) => [(msOf(r.scheduled_time as Reply) - T0) / S, r.status]);

  describe("misfire grace and coalesce", () => {
    it("without coalesce, each overdue fire time is a run; those past the grace are missed", async () => {
      await addInterval("nocoalesce", 10 * S, { coalesce: false });
      const start = clock.now();
      await advance(33 * S); // fires due at +10, +20, +30; grace 5 s
      const rs = await runs("nocoalesce");
      const rel = rs.map((r) => [(msOf(r.scheduled_time as Reply) - start) / S, r.status]);
      expect(rel).toEqual([
        [10, "RUN_STATUS_MISSED"],
        [20, "RUN_STATUS_MISSED"],
        [30, "RUN_STATUS_PENDING"],
      ]);
      expect(rs[0]?.status_reason).toMatch(/misfire grace 5s exceeded \(late by 23s\)/);
    });

    it("with coalesce, the overdue fire times become one run for the latest", async () => {
      await addInterval("coalesce", 10 * S, { coalesce: true });
      const start = clock.now();
      await advance(33 * S);
      const rs = await runs("coalesce");
      expect(rs.map((r) => [(msOf(r.scheduled_time as Reply) - start) / S, r.status])).toEqual([
        [30, "RUN_STATUS_PENDING"],
      ]);
      expect(rs[0]?.status_reason).toMatch(/^coalesced 2 earlier fire times/);
    });

    it("a run that waits for a worker past its grace becomes missed", async () => {
      await addInterval("waits", 60 * S);
      await advance(60 * S);
      expect((await runs("waits")).map((r) => r.status)).toEqual(["RUN_STATUS_PENDING"]);
      await advance(4 * S);
      expect((await runs("waits")).map((r) => r.status)).toEqual(["RUN_STATUS_PENDING"]);
      await advance(2 * S);
      const [missed] = await runs("waits");
      expect(missed).toMatchObject({ status: "RUN_STATUS_MISSED" });
      expect(missed?.status_reason).toMatch(/no worker took it within its misfire grace/);
    });
  });

  it("max_instances: a fire time that finds the job running is skipped", async () => {
    const w = await worker("h.single");
    await addInterval("single", 10 * S);
    await advance(10 * S);
    const first = await next(w, "assignment");
    await advance(10 * S); // the first run still holds the only instance
    expect(summary(await runs("single")).map((x) => x[1])).toEqual([
      "RUN_STATUS_RUNNING",
      "RUN_STATUS_SKIPPED",
    ]);
    w.send({ result: { lease: first.lease, success: {} } });
    await next(w, "result_accepted");
    await advance(10 * S);
    const second = await next(w, "assignment");
    expect(msOf(second.scheduled_time as Reply)).toBe(clock.now());
  });

  it("a worker at its concurrency limit gets the next due run as soon as a result frees a slot", async () => {
    const w = await worker("h.slots", 1);
    const at = clock.now() + 10 * S;
    for (const id of ["slots-a", "slots-b"])
      await h.c.job("AddJob", {
        job: { id, handler: "h.slots", trigger: { date: { run_date: ts(at) } } },
      });
    await advance(10 * S);
    const first = await next(w, "assignment");
    // The only slot is taken: the other run waits, pending.
    const waiting = ["slots-a", "slots-b"].find((id) => id !== first.job_id) ?? "";
    expect((await runs(waiting)).map((r) => r.status)).toEqual(["RUN_STATUS_PENDING"]);
    // The result frees the slot, and that alone hands the other run out: the clock stays put
    // and no pass is run by the test.
    w.send({ result: { lease: first.lease, success: {} } });
    const kinds = [(await w.next()).payload, (await w.next()).payload].sort();
    expect(kinds).toEqual(["assignment", "result_accepted"]);
    expect((await runs(waiting)).map((r) => r.status)).toEqual(["RUN_STATUS_RUNNING"]);
  });

  it("a handler at its own limit gets its next due run when its slot frees, whatever the others took", async () => {
    const w = h.session();
    w.send({
      hello: {
        worker_id: "w-two-handlers",
        handlers: [
          { handler: "h.one", max_concurrency: 1 },
          { handler: "h.many", max_concurrency: 5 },
        ],
        max_concurrency: 6,
      },
    });
    expect((await w.next()).payload).toBe("welcome");
    const add = (id: string, handler: string, at: number) =>
      h.c.job("AddJob", { job: { id, handler, trigger: { date: { run_date: ts(at) } } } });
    await add("one-a", "h.one", clock.now() + 10 * S);
    await add("one-b", "h.one", clock.now() + 20 * S);
    await add("many-a", "h.many", clock.now() + 20 * S);
    await advance(10 * S);
    const first = await next(w, "assignment");
    expect(first.job_id).toBe("one-a");
    // h.one is at its limit; the pass hands out h.many's run, with slots of h.many to spare.
    await advance(10 * S);
    expect((await next(w, "assignment")).job_id).toBe("many-a");
    expect((await runs("one-b")).map((r) => r.status)).toEqual(["RUN_STATUS_PENDING"]);
    // h.one's result frees its slot, and that alone hands one-b out.
    w.send({ result: { lease: first.lease, success: {} } });
    const got = [await w.next(), await w.next()];
    expect(got.map((m) => m.payload).sort()).toEqual(["assignment", "result_accepted"]);
    expect(got.find((m) => m.payload === "assignment")?.assignment).toMatchObject({
      job_id: "one-b",
    });
  });

  it("timeout: the handler is told to stop and the run ends timed out", async () => {
    const w = await worker("h.slow");
    await addInterval("slow", 60 * S, { timeout: dur(5 * S) });
    await advance(60 * S);
    const a = await next(w, "assignment");
    expect(a.timeout).toMatchObject({ seconds: "5" });
    clock.advance(5 * S); // the node's own deadline timer fires
    expect(await next(w, "cancellation")).toMatchObject({
      lease: a.lease,
      reason: "CANCELLATION_REASON_TIMED_OUT",
    });
    const run = (await h.c.run("GetRun", { run_id: (a.lease as Reply).run_id })).run as Reply;
    expect(run).toMatchObject({ status: "RUN_STATUS_TIMED_OUT", error: { type: "TimeoutError" } });
  });

  it("cancel: a pending run is never handed out; a running one is stopped", async () => {
    await addInterval("cancelme", 60 * S, { max_instances: 2 });
    await advance(60 * S);
    const [pending] = await runs("cancelme");
    await h.c.run("CancelRun", { run_id: pending?.run_id });
    const w = await worker("h.cancelme");
    await advance(60 * S);
    const a = await next(w, "assignment"); // the next fire time's run, not the cancelled one
    expect((a.lease as Reply).run_id).not.toBe(pending?.run_id);
    await h.c.run("CancelRun", { run_id: (a.lease as Reply).run_id, reason: "stop" });
    expect(await next(w, "cancellation")).toMatchObject({
      reason: "CANCELLATION_REASON_CANCELLED",
    });
    expect(summary(await runs("cancelme")).map((x) => x[1])).toEqual([
      "RUN_STATUS_CANCELLED",
      "RUN_STATUS_CANCELLED",
    ]);
  });

  it("retry with backoff: the next attempt waits for its backoff", async () => {
    const w = await worker("h.retry");
    await addInterval("retry", 3600 * S, {
      retry_policy: { max_attempts: 3, initial_backoff: dur(10 * S), backoff_multiplier: 3 },
    });
    await advance(3600 * S);
    const a1 = await next(w, "assignment");
    w.send({ result: { lease: a1.lease, error: { message: "e1", type: "E" } } });
    await next(w, "result_accepted");
    const runId = (a1.lease as Reply).run_id;
    const waiting = (await h.c.run("GetRun", { run_id: runId })).run as Reply;
    expect(waiting).toMatchObject({ status: "RUN_STATUS_PENDING", attempt: 2 });
    expect(msOf(waiting.retry_at as Reply)).toBe(clock.now() + 10 * S);
    await advance(9 * S);
    expect(((await h.c.run("GetRun", { run_id: runId })).run as Reply).status).toBe(
      "RUN_STATUS_PENDING",
    );
    await advance(1 * S);
    const a2 = await next(w, "assignment");
    expect(a2.lease).toMatchObject({ run_id: runId, attempt: 2 });
    w.send({ result: { lease: a2.lease, error: { message: "e2", type: "E" } } });
    await next(w, "result_accepted");
    const third = (await h.c.run("GetRun", { run_id: runId })).run as Reply;
    expect(msOf(third.retry_at as Reply)).toBe(clock.now() + 30 * S); // 10 s x 3
    await advance(30 * S);
    const a3 = await next(w, "assignment");
    w.send({ result: { lease: a3.lease, error: { message: "e3", type: "E" } } });
    expect(await next(w, "result_accepted")).toMatchObject({ run_status: "RUN_STATUS_FAILED" });
  });

  it("a worker that stops heartbeating loses its lease: the run is retried elsewhere", async () => {
    await addInterval("lost", 3600 * S, {
      retry_policy: { max_attempts: 2, initial_backoff: dur(0) },
    });
    const gone = await worker("h.lost");
    await advance(3600 * S);
    const a1 = await next(gone, "assignment");
    gone.cancel(); // the worker's connection drops; its lease stays until it expires
    const other = await worker("h.lost");
    await advance(599 * S);
    expect(
      ((await h.c.run("GetRun", { run_id: (a1.lease as Reply).run_id })).run as Reply).status,
    ).toBe("RUN_STATUS_RUNNING");
    await advance(2 * S); // past the 600 s lease
    const a2 = await next(other, "assignment");
    expect(a2.lease).toMatchObject({ run_id: (a1.lease as Reply).run_id, attempt: 2 });
    const run = (await h.c.run("GetRun", { run_id: (a1.lease as Reply).run_id })).run as Reply;
    expect(run).toMatchObject({ status: "RUN_STATUS_RUNNING", error: { type: "LeaseExpired" } });
  });

  it("pause and resume: a paused job creates no runs; resuming fires from now on", async () => {
    await addInterval("pausable", 10 * S);
    await h.c.job("PauseJob", { job_id: "pausable" });
    await advance(35 * S);
    expect(await runs("pausable")).toEqual([]);
    const resumed = (await h.c.job("ResumeJob", { job_id: "pausable" })).job as Reply;
    const next = msOf(resumed.next_run_time as Reply);
    expect(next).toBeGreaterThanOrEqual(clock.now());
    await advance(next - clock.now());
    expect((await runs("pausable")).map((r) => msOf(r.scheduled_time as Reply))).toEqual([next]);
  });

  it("a paused scheduler creates no runs; resumed, its overdue fire times follow the misfire rules", async () => {
    await h.c.job("AddJob", {
      job: {
        scheduler: "nightly",
        id: "sched",
        handler: "h.sched",
        trigger: { interval: { seconds: 10, start_date: ts(clock.now() + 10 * S) } },
        coalesce: true,
        misfire_grace_time: { no_limit: true },
      },
    });
    await h.c.scheduler("PauseScheduler", { name: "nightly" });
    await advance(25 * S);
    const list = async () =>
      ((await h.c.run("ListRuns", { scheduler: "nightly" })).runs ?? []) as Reply[];
    expect(await list()).toEqual([]);
    await h.c.scheduler("ResumeScheduler", { name: "nightly" });
    await h.node.node.engine.pass();
    const rs = await list();
    expect(rs).toHaveLength(1);
    expect(rs[0]).toMatchObject({ status: "RUN_STATUS_PENDING" });
    expect(rs[0]?.status_reason).toMatch(/^coalesced 1 earlier fire time/);
  });

  it("runs prepared before a scheduler pause are withdrawn on resume, so the pause coalesces", async () => {
    await h.c.job("AddJob", {
      job: {
        scheduler: "pausing",
        id: "p1",
        handler: "h.p1",
        trigger: { interval: { seconds: 1, start_date: ts(clock.now() + S) } },
        coalesce: true,
        misfire_grace_time: { no_limit: true },
      },
    });
    await advance(0); // claimed ahead: runs prepared for the next 2 s
    const list = async () =>
      ((await h.c.run("ListRuns", { scheduler: "pausing" })).runs ?? []) as Reply[];
    expect((await list()).length).toBe(2);
    await h.c.scheduler("PauseScheduler", { name: "pausing" });
    await advance(20 * S);
    await h.c.scheduler("ResumeScheduler", { name: "pausing" });
    await h.node.node.engine.pass();
    const due = (await list()).filter((r) => msOf(r.scheduled_time as Reply) <= clock.now());
    expect(due).toHaveLength(1);
    expect(due[0]).toMatchObject({ status: "RUN_STATUS_PENDING" });
    expect(due[0]?.status_reason).toMatch(/^coalesced 19 earlier fire times/);
  });

  it("the pause still coalesces when the scheduler is configured while paused", async () => {
    await h.c.job("AddJob", {
      job: {
        scheduler: "configured",
        id: "c1",
        handler: "h.c1",
        trigger: { interval: { seconds: 1, start_date: ts(clock.now() + S) } },
        coalesce: true,
        misfire_grace_time: { no_limit: true },
      },
    });
    await advance(0); // claimed ahead: runs prepared for the next 2 s
    const list = async () =>
      ((await h.c.run("ListRuns", { scheduler: "configured" })).runs ?? []) as Reply[];
    expect((await list()).length).toBe(2);
    await h.c.scheduler("PauseScheduler", { name: "configured" });
    await advance(5 * S);
    // A change while paused moves the scheduler's updated_at past the runs prepared before.
    await h.c.scheduler("ConfigureScheduler", { name: "configured", timezone: "Europe/Berlin" });
    await advance(15 * S);
    await h.c.scheduler("ResumeScheduler", { name: "configured" });
    await h.node.node.engine.pass();
    const due = (await list()).filter((r) => msOf(r.scheduled_time as Reply) <= clock.now());
    expect(due.map((r) => r.status)).toEqual(["RUN_STATUS_PENDING"]);
    expect(due[0]?.status_reason).toMatch(/^coalesced 19 earlier fire times/);
  });

  it("removing a job cancels its pending runs; they are never handed out", async () => {
    await addInterval("removed", 10 * S);
    await advance(10 * S);
    const [pending] = await runs("removed");
    expect(pending?.status).toBe("RUN_STATUS_PENDING");
    await h.c.job("RemoveJob", { job_id: "removed" });
    const run = (await h.c.run("GetRun", { run_id: pending?.run_id })).run as Reply;
    expect(run).toMatchObject({ status: "RUN_STATUS_CANCELLED", status_reason: "job removed" });
  });

  it("a job removed and added again just before its fire time still fires once", async () => {
    const t = clock.now() + 10 * S;
    const add = () =>
      h.c.job("AddJob", {
        job: {
          id: "readded",
          handler: "h.readded",
          trigger: { interval: { seconds: 10, start_date: ts(t) } },
        },
      });
    await add();
    await advance(9 * S); // claimed ahead: a run for t is prepared
    expect((await runs("readded")).map((r) => msOf(r.scheduled_time as Reply))).toEqual([t]);
    await h.c.job("RemoveJob", { job_id: "readded" });
    await add();
    await advance(1 * S);
    const rs = await runs("readded");
    expect(rs.map((r) => [msOf(r.scheduled_time as Reply), r.status])).toEqual([
      [t, "RUN_STATUS_PENDING"],
    ]);
  });

  it("run now: a manual run of a paused job goes to the worker at once", async () => {
    const w = await worker("h.manual");
    await addInterval("manual", 3600 * S, { paused: true });
    const run = (await h.c.job("RunJobNow", { job_id: "manual" })).run as Reply;
    await h.node.node.engine.pass();
    const a = await next(w, "assignment");
    expect(a).toMatchObject({ manual: true, lease: { run_id: run.run_id } });
    expect(msOf(a.scheduled_time as Reply)).toBe(clock.now());
  });

  // Last: it moves the clock a month.
  it("retention: ended runs are deleted 30 days after their fire time; waiting runs stay", async () => {
    await addInterval("kept", 3600 * S, { misfire_grace_time: { no_limit: true }, paused: true });
    await addInterval("ended", 3600 * S, { paused: true });
    const waiting = (await h.c.job("RunJobNow", { job_id: "kept" })).run as Reply;
    const ended = (await h.c.job("RunJobNow", { job_id: "ended" })).run as Reply;
    await h.c.run("CancelRun", { run_id: ended.run_id });
    await advance(29 * 24 * 3600 * S);
    expect(((await h.c.run("GetRun", { run_id: ended.run_id })).run as Reply).status).toBe(
      "RUN_STATUS_CANCELLED",
    );
    await advance(2 * 24 * 3600 * S);
    await expect(h.c.run("GetRun", { run_id: ended.run_id })).rejects.toMatchObject({ code: 5 });
    expect(((await h.c.run("GetRun", { run_id: waiting.run_id })).run as Reply).status).toBe(
      "RUN_STATUS_PENDING",
    );
  });
}
