/**
 * Coalesce over an outage (domain/runs.ts, domain/claim-plan.ts): a plan names the run several
 * overdue fire times became, and a job's earlier pending scheduled runs (prepared before the
 * outage) fold into it, missed; manual runs, retries and later runs stay.
 */
import { describe, expect, it } from "vitest";
import { foldIntoCoalesced, planClaim } from "../../server/src/domain/claim-plan.js";
import { runEvent } from "../../server/src/domain/events.js";
import type { Job } from "../../server/src/domain/jobs.js";
import { canTransition } from "../../server/src/domain/run-transitions.js";
import { planFires, type Run } from "../../server/src/domain/runs.js";
import { compileTrigger } from "../../server/src/domain/triggers/index.js";
import { jobRecord } from "../support/job-record.js";

const T0 = Date.parse("2026-03-02T08:00:00Z");
const S = 1000;

function job(over: Partial<Job> = {}): Job {
  return jobRecord({
    trigger: { type: "interval", seconds: 5, timezone: "UTC", startDate: T0, jitter: null },
    nextRunTime: T0,
    createdAt: T0,
    updatedAt: T0,
    ...over,
  });
}

let seq = 0;
function plan(j: Job, now: number, horizon = now + 2 * S) {
  return planFires(j, compileTrigger(j.trigger), {
    now,
    horizon,
    newId: () => `r${String(++seq)}`,
  });
}

describe("coalesce over an outage", () => {
  it("a plan names the run several overdue fire times became, only then", () => {
    const p = plan(job({ nextRunTime: T0 + 10 * S }), T0 + 34 * S);
    expect(p.runs.map((r) => (r.scheduledTime - T0) / S)).toEqual([30, 35]);
    expect(p.coalesced).toBe(p.runs[0]);
    // On time, one overdue fire time, or without coalesce: nothing is coalesced.
    expect(plan(job({ nextRunTime: T0 + 10 * S }), T0 + 9 * S).coalesced).toBeUndefined();
    expect(plan(job({ nextRunTime: T0 + 10 * S }), T0 + 11 * S).coalesced).toBeUndefined();
    expect(
      plan(job({ coalesce: false, nextRunTime: T0 + 10 * S }), T0 + 34 * S).coalesced,
    ).toBeUndefined();
    // A claim gathers them.
    const j = job({ nextRunTime: T0 + 10 * S });
    const claim = planClaim([j, { ...j, id: "k", nextRunTime: T0 + 33 * S }], (x) =>
      plan(x, T0 + 34 * S),
    );
    expect(claim.coalesced.map((r) => [r.jobId, (r.scheduledTime - T0) / S])).toEqual([["j", 30]]);
  });

  it("the job's earlier pending scheduled runs fold into it, missed; the others stay", () => {
    const now = T0 + 34 * S;
    const j = job({ nextRunTime: T0 + 10 * S });
    const [into, later] = plan(j, now).runs as [Run, Run];
    const prepared = plan(job({ nextRunTime: T0 + 5 * S }), T0 + 4 * S).runs;
    const stale = { ...(prepared[0] as Run), createdAt: T0 + 4 * S };
    const pending: Run[] = [
      stale,
      { ...stale, id: "manual", manual: true },
      { ...stale, id: "retry", attempt: 2 },
      { ...stale, id: "other", jobId: "other" },
      { ...stale, id: "ended", status: "succeeded" },
      later,
      into,
    ];
    const folded = foldIntoCoalesced(into, pending);
    expect(folded).toEqual([
      {
        ...stale,
        status: "missed",
        statusReason: "coalesced into the run of 2026-03-02T08:00:30.000Z",
        dueAt: null,
        expiresAt: null,
        finishedAt: now,
        updatedAt: now,
      },
    ]);
    expect(canTransition("pending", "missed")).toBe(true);
    // Its event: job_missed, with the reason.
    expect(runEvent(folded[0] as Run, now, "n1")).toMatchObject({
      type: "job_missed",
      runId: stale.id,
      data: { reason: "coalesced into the run of 2026-03-02T08:00:30.000Z" },
    });
  });
});
