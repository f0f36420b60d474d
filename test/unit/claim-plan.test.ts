/** A claim's plan (domain/claim-plan.ts) and runs prepared ahead (domain/prepared-runs.ts). */
import { describe, expect, it } from "vitest";
import { planClaim } from "../../server/src/domain/claim-plan.js";
import type { Job } from "../../server/src/domain/jobs.js";
import { isPrepared, rewoundToPrepared } from "../../server/src/domain/prepared-runs.js";
import { manualRun, type Run } from "../../server/src/domain/runs.js";
import { compileTrigger } from "../../server/src/domain/triggers/index.js";
import { jobRecord } from "../support/job-record.js";

const T0 = Date.parse("2026-03-02T08:00:00Z");

function job(id: string, nextRunTime: number | null = T0): Job {
  return jobRecord({
    id,
    name: id,
    trigger: { type: "date", runDate: T0, timezone: "UTC", jitter: null },
    coalesce: false,
    nextRunTime,
    createdAt: T0,
    updatedAt: T0,
  });
}

const runOf = (j: Job, overrides: Partial<Run> = {}): Run => ({
  ...manualRun(j, compileTrigger(j.trigger), { now: T0, newId: () => `run-${j.id}` }),
  manual: false,
  ...overrides,
});

describe("a claim's plan", () => {
  it("creates each job's runs, advances the jobs that go on, removes those that ended, pauses those it cannot plan", () => {
    const [going, ending, broken] = [job("going"), job("ending"), job("broken")];
    const plan = planClaim([going, ending, broken], (j) => {
      if (j.id === "broken") return null;
      return { runs: [runOf(j)], nextRunTime: j.id === "going" ? T0 + 1000 : null };
    });
    expect(plan.runs.map((r) => r.jobId)).toEqual(["going", "ending"]);
    expect(plan.advance).toEqual([
      { job: going, nextRunTime: T0 + 1000, preparedFirst: null, lastFirePrepared: false },
    ]);
    expect(plan.ended).toEqual([ending]);
    expect(plan.broken).toEqual([broken]);
  });

  it("plans nothing for no jobs", () => {
    expect(planClaim([], () => null)).toEqual({
      runs: [],
      advance: [],
      ended: [],
      broken: [],
      coalesced: [],
    });
  });
});

describe("runs prepared ahead", () => {
  it("are pending first attempts of scheduled fire times not due yet", () => {
    const j = job("p");
    const at = T0 + 1000;
    const ahead = runOf(j, { scheduledTime: at, fireTime: at, dueAt: at });
    expect(isPrepared(ahead, T0)).toBe(true);
    expect(isPrepared(ahead, T0 + 1000)).toBe(false); // its time has come
    expect(isPrepared({ ...ahead, manual: true }, T0)).toBe(false);
    expect(isPrepared({ ...ahead, attempt: 2 }, T0)).toBe(false);
    expect(isPrepared({ ...ahead, status: "running" }, T0)).toBe(false);
  });

  it("with jitter, are not due yet whatever their nominal time", () => {
    // Nominal T0, jittered to T0 + 10 min: prepared until then, though T0 has passed.
    const jittered = runOf(job("j"), { scheduledTime: T0, fireTime: T0 + 600_000 });
    const run = { ...jittered, dueAt: T0 + 600_000 };
    expect(isPrepared(run, T0 + 60_000)).toBe(true);
    expect(isPrepared(run, T0 + 600_000)).toBe(false); // due: a fire waiting for a worker
  });

  it("rewind the job a change sees to the first of them, never forward", () => {
    expect(rewoundToPrepared(job("a", T0 + 5000), T0 + 1000).nextRunTime).toBe(T0 + 1000);
    expect(rewoundToPrepared(job("b", null), T0 + 1000).nextRunTime).toBe(T0 + 1000);
    const earlier = job("c", T0);
    expect(rewoundToPrepared(earlier, T0 + 1000)).toEqual(earlier);
    expect(rewoundToPrepared(earlier, null)).toEqual(earlier);
  });
});
