/**
 * metronome_fire_lateness_seconds counts each run once, when its first attempt is sent to a
 * worker: a run leased ahead to a session that ends before the run's time (it was held, never
 * sent) is handed back and leased to another session, and is counted when that one gets it —
 * not at each lease (the first of which counted 0). A real node on a manual clock (SQLite), two
 * worker sessions over @grpc/grpc-js, /metrics scraped.
 */
import { describe, expect, it } from "vitest";
import { engineHarness, T0 } from "../support/engine-harness.js";
import { timestamp as ts, type Reply } from "../support/grpc-js.js";
import { createSqliteStore } from "../support/stores.js";

const S = 1000;
const HANDLER = "h.late";

describe("fire lateness of a run handed back before it was sent", () => {
  const h = engineHarness(() => createSqliteStore("lateness-handed-back"));
  const worker = (id: string) => h.worker(id, HANDLER, 1);

  async function theRun(): Promise<Reply> {
    const page = await h.c.run("ListRuns", { job_id: "once" });
    const [run] = (page.runs ?? []) as Reply[];
    if (run === undefined) throw new Error("no run");
    return run;
  }

  /** The histogram's count and sum for the default scheduler, from /metrics. */
  async function lateness(): Promise<{ count: number; sum: number }> {
    const text = await (await fetch(`${h.node.url}/metrics`)).text();
    const value = (name: string): number =>
      Number(
        text
          .split("\n")
          .find((l) => l.startsWith(`${name}{scheduler="default"}`))
          ?.split(" ")
          .pop() ?? "0",
      );
    return {
      count: value("metronome_fire_lateness_seconds_count"),
      sum: value("metronome_fire_lateness_seconds_sum"),
    };
  }

  it("counts the run once, when the second session gets it", async () => {
    const first = await worker("w-first");
    await h.c.job("AddJob", {
      job: { id: "once", handler: HANDLER, trigger: { date: { run_date: ts(T0 + 10 * S) } } },
    });
    // 0.4 s before its time the run is leased ahead to the first session and held by the node.
    await h.advance(9.6 * S);
    expect(await theRun()).toMatchObject({ status: "RUN_STATUS_RUNNING", worker_id: "w-first" });

    // The first session ends before the run's time: the run, never sent, is handed back.
    await first.end();
    for (let tries = 0; (await theRun()).status !== "RUN_STATUS_PENDING"; tries++)
      if (tries > 200) throw new Error("the run was not handed back");
    expect(await lateness()).toEqual({ count: 0, sum: 0 });

    // The second session gets it at its time, 2 s late.
    const second = await worker("w-second");
    await h.advance(2.4 * S);
    const m = await second.next();
    expect(m.payload).toBe("assignment");
    const assignment = m.assignment as Reply;
    expect((assignment.lease as Reply).attempt).toBe(1);
    expect(await lateness()).toEqual({ count: 1, sum: 2 });

    second.send({ result: { lease: assignment.lease, success: {} } });
    expect((await second.next()).payload).toBe("result_accepted");
    expect(await theRun()).toMatchObject({ status: "RUN_STATUS_SUCCEEDED", attempt: 1 });
    expect(await lateness()).toEqual({ count: 1, sum: 2 });
  });
});
