import { describe, expect, it } from "vitest";
import type { Job } from "../../server/src/domain/jobs.js";
import {
  afterFailure,
  backoffMs,
  latestFireTime,
  manualRun,
  MAX_FIRES_PER_CLAIM,
  planFires,
  type Run,
} from "../../server/src/domain/runs.js";
import { skippedForMaxInstances } from "../../server/src/domain/run-transitions.js";
import { compileTrigger, type TriggerSpec } from "../../server/src/domain/triggers/index.js";
import { jobRecord } from "../support/job-record.js";

const T0 = Date.parse("2026-03-02T08:00:00Z");
const MIN = 60_000;

function everyMinute(jitter?: number): TriggerSpec {
  return { type: "interval", minutes: 1, timezone: "UTC", startDate: T0, jitter: jitter ?? null };
}

function job(over: Partial<Job> = {}): Job {
  return jobRecord({
    trigger: everyMinute(),
    args: [1],
    kwargs: { a: true },
    coalesce: false,
    nextRunTime: T0,
    createdAt: T0 - MIN,
    updatedAt: T0 - MIN,
    ...over,
  });
}

let seq = 0;
const ctx = (now: number, horizon = now) => ({ now, horizon, newId: () => `r${String(++seq)}` });

function plan(j: Job, now: number, horizon = now) {
  return planFires(j, compileTrigger(j.trigger), ctx(now, horizon));
}

const summary = (runs: Run[]) =>
  runs.map((r) => [new Date(r.scheduledTime).toISOString(), r.status]);

describe("planFires", () => {
  it("a job due now becomes one pending run and advances to its next fire time", () => {
    const p = plan(job(), T0 + 5);
    expect(summary(p.runs)).toEqual([["2026-03-02T08:00:00.000Z", "pending"]]);
    expect(p.nextRunTime).toBe(T0 + MIN);
    const r = p.runs[0];
    expect(r).toMatchObject({ attempt: 1, dueAt: T0, expiresAt: T0 + 60_000, manual: false });
    expect(r?.args).toEqual([1]);
  });

  it("a job not yet due is left alone", () => {
    expect(plan(job(), T0 - 1)).toEqual({ runs: [], nextRunTime: T0 });
  });

  it("without coalesce every overdue fire time is a run; those past the grace are missed", () => {
    // Down from 08:00 to 08:03:30 with a grace of 90 s: 08:00 and 08:01 are missed.
    const p = plan(job({ misfireGraceTimeMs: 90_000, maxInstances: 10 }), T0 + 3.5 * MIN);
    expect(summary(p.runs)).toEqual([
      ["2026-03-02T08:00:00.000Z", "missed"],
      ["2026-03-02T08:01:00.000Z", "missed"],
      ["2026-03-02T08:02:00.000Z", "pending"],
      ["2026-03-02T08:03:00.000Z", "pending"],
    ]);
    expect(p.runs[0]?.statusReason).toMatch(/misfire grace 90s exceeded \(late by 210s\)/);
    expect(p.nextRunTime).toBe(T0 + 4 * MIN);
  });

  it("with coalesce the overdue fire times become one run for the latest, naming the others", () => {
    const p = plan(job({ coalesce: true, misfireGraceTimeMs: 90_000 }), T0 + 3.5 * MIN);
    expect(summary(p.runs)).toEqual([["2026-03-02T08:03:00.000Z", "pending"]]);
    expect(p.runs[0]?.statusReason).toBe(
      "coalesced 3 earlier fire times from 2026-03-02T08:00:00.000Z",
    );
    expect(p.nextRunTime).toBe(T0 + 4 * MIN);
  });

  it("coalesce over a long outage finds the latest fire time without walking all of them", () => {
    const now = T0 + 365 * 24 * 60 * MIN + 30_000; // a year of minutes later
    const p = plan(job({ coalesce: true, misfireGraceTimeMs: null }), now);
    expect(p.runs).toHaveLength(1);
    expect(p.runs[0]?.scheduledTime).toBe(now - 30_000);
    expect(p.runs[0]?.statusReason).toMatch(/^coalesced over 1000 earlier fire times/);
    expect(p.nextRunTime).toBe(now + 30_000);
  });

  it("with no grace limit an old fire time still runs", () => {
    const p = plan(job({ misfireGraceTimeMs: null }), T0 + 10 * 24 * 60 * MIN);
    expect(p.runs[0]).toMatchObject({ status: "pending", expiresAt: null });
  });

  it("without coalesce at most MAX_FIRES_PER_CLAIM fire times per claim; the rest stay due", () => {
    const now = T0 + 1000 * MIN;
    const p = plan(job({ misfireGraceTimeMs: null, maxInstances: 10_000 }), now);
    expect(p.runs).toHaveLength(MAX_FIRES_PER_CLAIM);
    expect(p.nextRunTime).toBe(T0 + MAX_FIRES_PER_CLAIM * MIN);
    expect(p.nextRunTime).toBeLessThan(now);
  });

  it("fire times up to the horizon are prepared ahead, due at their own time", () => {
    const p = plan(job({ maxInstances: 1 }), T0 - 500, T0 + 2 * MIN + 1);
    expect(summary(p.runs)).toEqual([
      ["2026-03-02T08:00:00.000Z", "pending"],
      ["2026-03-02T08:01:00.000Z", "pending"],
      ["2026-03-02T08:02:00.000Z", "pending"],
    ]);
    expect(p.runs.map((r) => r.dueAt)).toEqual([T0, T0 + MIN, T0 + 2 * MIN]);
    expect(p.nextRunTime).toBe(T0 + 3 * MIN);
    // Nothing due before the horizon: nothing to do.
    expect(plan(job(), T0 - 2000, T0 - 1000)).toEqual({ runs: [], nextRunTime: T0 });
  });

  it("max_instances is decided at hand-out: a run finding the limit running is skipped", () => {
    const [r] = plan(job({ maxInstances: 2 }), T0).runs;
    if (r === undefined) throw new Error("no run");
    expect(skippedForMaxInstances(r, 1, T0 + 5)).toBeNull();
    expect(skippedForMaxInstances(r, 2, T0 + 5)).toMatchObject({
      status: "skipped",
      statusReason: "max_instances 2 reached",
      finishedAt: T0 + 5,
      dueAt: null,
    });
  });

  it("a date trigger's only fire time ends the job (next run time null)", () => {
    const date: TriggerSpec = { type: "date", runDate: T0, timezone: "UTC" };
    const p = plan(job({ trigger: date }), T0);
    expect(summary(p.runs)).toEqual([["2026-03-02T08:00:00.000Z", "pending"]]);
    expect(p.nextRunTime).toBeNull();
  });

  it("jitter delays the due time, never the nominal time, and stays within the jitter", () => {
    const trigger = everyMinute(10);
    for (let i = 0; i < 20; i++) {
      const [r] = plan(job({ trigger }), T0).runs;
      expect(r?.scheduledTime).toBe(T0);
      expect(r?.fireTime).toBeGreaterThanOrEqual(T0);
      expect(r?.fireTime).toBeLessThanOrEqual(T0 + 10_000);
      expect(r?.dueAt).toBe(r?.fireTime);
    }
  });
});

describe("latestFireTime", () => {
  it("is the last fire time at or before now", () => {
    const t = compileTrigger(everyMinute());
    expect(latestFireTime(t, T0, T0)).toBe(T0);
    expect(latestFireTime(t, T0, T0 + MIN - 1)).toBe(T0);
    expect(latestFireTime(t, T0, T0 + MIN)).toBe(T0 + MIN);
    expect(latestFireTime(t, T0, T0 + 7 * 24 * 60 * MIN + 1)).toBe(T0 + 7 * 24 * 60 * MIN);
  });
});

describe("manual runs", () => {
  it("run now at the current time, marked manual, with the job's settings", () => {
    const j = job({ maxInstances: 3 });
    const r = manualRun(j, compileTrigger(j.trigger), ctx(T0 + 123));
    expect(r).toMatchObject({
      manual: true,
      scheduledTime: T0 + 123,
      dueAt: T0 + 123,
      status: "pending",
      maxInstances: 3,
      expiresAt: T0 + 123 + 60_000,
    });
  });
});

describe("retries", () => {
  const policy = { maxAttempts: 4, initialBackoffMs: 1000, maxBackoffMs: 3000, multiplier: 2 };
  const failed = (attempt: number, retry = policy): Run =>
    ({ ...plan(job({ retry }), T0).runs[0], attempt }) as Run;
  const error = { message: "boom", type: "Error", stack: "", nonRetryable: false };

  it("backs off exponentially up to the maximum", () => {
    expect([1, 2, 3, 4].map((a) => backoffMs(policy, a))).toEqual([1000, 2000, 3000, 3000]);
  });

  it("retries until max_attempts, then fails; a non-retryable error fails at once", () => {
    expect(afterFailure(failed(1), error, T0)).toEqual({
      retry: true,
      attempt: 2,
      dueAt: T0 + 1000,
    });
    expect(afterFailure(failed(3), error, T0)).toEqual({
      retry: true,
      attempt: 4,
      dueAt: T0 + 3000,
    });
    expect(afterFailure(failed(4), error, T0)).toEqual({ retry: false });
    expect(afterFailure(failed(1), { ...error, nonRetryable: true }, T0)).toEqual({ retry: false });
  });

  it("no retry policy means no retry", () => {
    const r = { ...plan(job(), T0).runs[0], attempt: 1 } as Run;
    expect(afterFailure(r, error, T0)).toEqual({ retry: false });
  });
});
