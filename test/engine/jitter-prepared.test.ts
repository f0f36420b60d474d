/**
 * Jitter and runs prepared ahead, through the API on each store with a manual clock: a run whose
 * nominal time has passed but whose jittered fire time has not is not due yet, so a change of
 * its job (PauseJob, ModifyJob, RescheduleJob) applies to it (docs/guarantees.md: a paused job creates no
 * runs; jitter only shifts when a fire happens). Before the fix such a run was left in place and
 * went to a worker at its jittered time, paused or not, with the old arguments.
 */
import { expect, it } from "vitest";
import { engineHarness } from "../support/engine-harness.js";
import { type Reply, timestamp as ts, msOf } from "../support/grpc-js.js";
import { describeEachStore } from "../support/mysql.js";
import type { TestStore } from "../support/stores.js";

const S = 1000;
const HOUR = 3600 * S;

describeEachStore("jitter and prepared runs", jitterRules);

function jitterRules(makeStore: () => Promise<TestStore>): void {
  const h = engineHarness(makeStore);
  const { clock, advance, runs } = h;

  /**
   * An hourly job with an hour of jitter, its first fire an hour from now; the clock moved to
   * that nominal time, when its run is made: answers the nominal time and the run, due later.
   */
  async function jitteredRunMade(id: string): Promise<{ nominal: number; run: Reply }> {
    const nominal = clock.now() + HOUR;
    await h.c.job("AddJob", {
      job: {
        id,
        handler: `h.${id}`,
        trigger: { interval: { hours: 1, start_date: ts(nominal) }, jitter: { seconds: 3600 } },
        args: { values: [{ stringValue: "old" }] },
        misfire_grace_time: { no_limit: true },
      },
    });
    await advance(nominal - clock.now());
    const made = await runs(id);
    expect(made).toHaveLength(1);
    const run = made[0] as Reply;
    expect(msOf(run.scheduled_time as Reply)).toBe(nominal);
    expect(run.status).toBe("RUN_STATUS_PENDING");
    // Jittered: not due yet (a zero delay has odds of one in 3.6 million).
    expect(msOf(run.fire_time as Reply)).toBeGreaterThan(clock.now());
    return { nominal, run };
  }

  it("PauseJob after the nominal time but before the jittered time: the run is withdrawn", async () => {
    const { run } = await jitteredRunMade("paused");
    const paused = (await h.c.job("PauseJob", { job_id: "paused" })).job as Reply;
    expect(paused.paused).toBe(true);
    expect(await runs("paused")).toEqual([]);
    await advance(msOf(run.fire_time as Reply) - clock.now() + S);
    expect(await runs("paused")).toEqual([]);
  });

  it("ModifyJob after the nominal time but before the jittered time: the fire gets the new arguments", async () => {
    const w = await h.worker("w-modified", "h.modified", 1);
    const { nominal, run } = await jitteredRunMade("modified");
    const modified = (
      await h.c.job("ModifyJob", {
        job: { id: "modified", args: { values: [{ stringValue: "new" }] } },
        update_mask: { paths: ["args"] },
      })
    ).job as Reply;
    // The withdrawn fire time is the job's next one again: it is made anew, with the new args.
    expect(msOf(modified.next_run_time as Reply)).toBe(nominal);
    await advance(0); // claimed again (the change may have woken the node to do it already)
    const made = await runs("modified");
    expect(made.map((r) => msOf(r.scheduled_time as Reply))).toEqual([nominal]);
    expect(made[0]?.run_id).not.toBe(run.run_id);
    // Handed out at its (new) jittered time, at once if that has passed (no misfire limit).
    await advance(Math.max(0, msOf(made[0]?.fire_time as Reply) - clock.now()) + S);
    const m = await w.next();
    expect(m.payload).toBe("assignment");
    const a = m.assignment as Reply;
    expect(a.lease).toMatchObject({ run_id: made[0]?.run_id });
    expect(JSON.parse(String(a.args_json))).toEqual(["new"]);
  });

  it("RescheduleJob after the nominal time but before the jittered time: the old fire is withdrawn", async () => {
    const { nominal, run } = await jitteredRunMade("rescheduled");
    const later = nominal + 10 * HOUR;
    const rescheduled = (
      await h.c.job("RescheduleJob", {
        job_id: "rescheduled",
        trigger: { interval: { hours: 1, start_date: ts(later) } },
      })
    ).job as Reply;
    expect(msOf(rescheduled.next_run_time as Reply)).toBe(later);
    await advance(msOf(run.fire_time as Reply) - clock.now() + S);
    expect(await runs("rescheduled")).toEqual([]);
  });
}
