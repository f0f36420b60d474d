/**
 * What clients see of a job whose next fire a claim prepared ahead (docs/guarantees.md), through
 * the API on each store with a manual clock. A node claims 2 s ahead: it creates the run and
 * moves the job's claim position past it. Before the fix that position leaked out: GetJob and
 * ListJobs showed the fire after the upcoming one during those 2 s, and a date job (a trigger
 * ending) was removed by the claim up to 2 s before its fire — GetJob, PauseJob and RemoveJob
 * answered NOT_FOUND, `job_removed` came before the fire, and a job added again with the same id
 * and fire time lost its run to the runs' unique key (the old job's run fired instead).
 */
import { expect, it } from "vitest";
import type { EventDraft, LoggedEvent } from "../../server/src/domain/events.js";
import type { Store } from "../../server/src/store/port.js";
import { engineHarness } from "../support/engine-harness.js";
import { type Reply, timestamp as ts, msOf } from "../support/grpc-js.js";
import { describeEachStore } from "../support/mysql.js";
import type { TestStore } from "../support/stores.js";

const S = 1000;
const MINUTE = 60 * S;

describeEachStore("the upcoming fire of a job claimed ahead", upcomingFire);

/** The events of a job in the log so far. */
async function eventsOf(store: Store, jobId: string): Promise<EventDraft[]> {
  while ((await store.sequenceEvents(500)) > 0);
  const state = await store.logState();
  const out: LoggedEvent[] = [];
  for (let after = 0; ;) {
    const page = (await store.readEvents(after, state.last, 1_000_000)).events;
    const last = page[page.length - 1];
    if (last === undefined) return out.filter((e) => e.jobId === jobId);
    out.push(...page);
    after = last.cursor;
  }
}

function upcomingFire(makeStore: () => Promise<TestStore>): void {
  const h = engineHarness(makeStore);
  const { clock, advance, runs } = h;

  const getJob = async (id: string): Promise<Reply> =>
    (await h.c.job("GetJob", { job_id: id })).job as Reply;

  /** A date job firing at `at`, its handler `h.<id>`. */
  const addDateJob = (id: string, at: number, arg = "old") =>
    h.c.job("AddJob", {
      job: {
        id,
        handler: `h.${id}`,
        trigger: { date: { run_date: ts(at) } },
        args: { values: [{ stringValue: arg }] },
      },
    });

  it("GetJob and ListJobs during the lookahead show the upcoming fire, not the one after it", async () => {
    const first = clock.now() + 85 * S;
    await h.c.job("AddJob", {
      job: {
        id: "minutely",
        handler: "h.minutely",
        trigger: { interval: { minutes: 1, start_date: ts(first) } },
      },
    });
    // 1.5 s before the fire: claimed, its run made ahead.
    await advance(first - 1500 - clock.now());
    expect((await runs("minutely")).map((r) => msOf(r.scheduled_time as Reply))).toEqual([first]);
    expect(msOf((await getJob("minutely")).next_run_time as Reply)).toBe(first);
    const listed = (
      await h.c.job("ListJobs", { order_by: "JOB_ORDER_NEXT_RUN_TIME", page_size: 100 })
    ).jobs as Reply[];
    const mine = listed.find((j) => j.id === "minutely");
    expect(msOf(mine?.next_run_time as Reply)).toBe(first);
    // Once it has come, the fire after it.
    await advance(first + 1 - clock.now());
    expect(msOf((await getJob("minutely")).next_run_time as Reply)).toBe(first + MINUTE);
    await h.c.job("RemoveJob", { job_id: "minutely" });
  });

  it("a date job 1 s before its fire can be read; job_removed comes once its run has fired", async () => {
    const w = await h.worker("w-once", "h.once", 1);
    const at = clock.now() + MINUTE;
    await addDateJob("once", at);
    await advance(at - S - clock.now());
    const [run] = await runs("once");
    expect(run).toMatchObject({ status: "RUN_STATUS_PENDING" });
    expect(await getJob("once")).toMatchObject({ id: "once", paused: false });
    expect(msOf((await getJob("once")).next_run_time as Reply)).toBe(at);
    expect((await eventsOf(h.node.node.store, "once")).map((e) => e.type)).not.toContain(
      "job_removed",
    );
    // Its fire time: the run goes to the worker, and the job is removed.
    await advance(at - clock.now());
    expect((await h.next(w, "assignment")).lease).toMatchObject({ run_id: run?.run_id });
    // (A hand-out holds the job's row a moment: a claim skips it then and looks again soon.)
    await advance(0);
    await expect(h.c.job("GetJob", { job_id: "once" })).rejects.toMatchObject({ code: 5 });
    // Removed when its run's time had come (the run was made a second before), not ahead.
    const removed = (await eventsOf(h.node.node.store, "once")).filter(
      (e) => e.type === "job_removed",
    );
    expect(removed).toHaveLength(1);
    expect(removed[0]?.time).toBeGreaterThanOrEqual(at);
  });

  it("a date job paused 1 s before its fire does not run; resumed before it, it fires once", async () => {
    const w = await h.worker("w-paused", "h.paused", 1);
    const at = clock.now() + MINUTE;
    await addDateJob("paused", at);
    await advance(at - S - clock.now());
    expect(await runs("paused")).toHaveLength(1);
    const paused = (await h.c.job("PauseJob", { job_id: "paused" })).job as Reply;
    expect(paused).toMatchObject({ paused: true });
    expect(paused.next_run_time ?? null).toBeNull();
    // Its run was withdrawn: nothing goes to the worker at the fire time.
    expect(await runs("paused")).toEqual([]);
    await advance(at - 500 - clock.now());
    expect(await runs("paused")).toEqual([]);
    // Resumed before its time (as any job: the next fire time from now), it fires then, once.
    const resumed = (await h.c.job("ResumeJob", { job_id: "paused" })).job as Reply;
    expect(msOf(resumed.next_run_time as Reply)).toBe(at);
    await advance(at - clock.now());
    const made = await runs("paused");
    expect(made.map((r) => msOf(r.scheduled_time as Reply))).toEqual([at]);
    expect((await h.next(w, "assignment")).lease).toMatchObject({ run_id: made[0]?.run_id });
    await advance(2 * S);
    await expect(h.c.job("GetJob", { job_id: "paused" })).rejects.toMatchObject({ code: 5 });
  });

  it("a date job paused 1 s before its fire and resumed after it is removed, as any job past its trigger", async () => {
    const at = clock.now() + MINUTE;
    await addDateJob("late", at);
    await advance(at - S - clock.now());
    await h.c.job("PauseJob", { job_id: "late" });
    await advance(at + 5 * S - clock.now());
    expect(await runs("late")).toEqual([]);
    expect(await h.c.job("ResumeJob", { job_id: "late" })).toMatchObject({ removed: true });
    await expect(h.c.job("GetJob", { job_id: "late" })).rejects.toMatchObject({ code: 5 });
  });

  it("a date job removed 1 s before its fire and added again with the same fire time fires once, as added again", async () => {
    const w = await h.worker("w-again", "h.again", 1);
    const at = clock.now() + MINUTE;
    await addDateJob("again", at, "old");
    await advance(at - S - clock.now());
    expect(await runs("again")).toHaveLength(1);
    await h.c.job("RemoveJob", { job_id: "again" });
    expect(await runs("again")).toEqual([]);
    await addDateJob("again", at, "new");
    await advance(at - clock.now());
    const made = await runs("again");
    expect(made.map((r) => msOf(r.scheduled_time as Reply))).toEqual([at]);
    const a = await h.next(w, "assignment");
    expect(a.lease).toMatchObject({ run_id: made[0]?.run_id });
    expect(JSON.parse(String(a.args_json))).toEqual(["new"]);
  });
}
