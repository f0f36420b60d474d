/**
 * What a job keeps of the runs a claim prepared ahead (domain/prepared-runs.ts): the first fire
 * time prepared, shown while it has not come (upcomingFireTime), and a trigger that ended with
 * its last run prepared (keepingPrepared); what a change writes of them (changedJob).
 */
import { describe, expect, it } from "vitest";
import type { Job } from "../../server/src/domain/jobs.js";
import {
  changedJob,
  keepingPrepared,
  rewoundToPrepared,
  upcomingFireTime,
} from "../../server/src/domain/prepared-runs.js";
import { planFires } from "../../server/src/domain/runs.js";
import { compileTrigger, type TriggerSpec } from "../../server/src/domain/triggers/index.js";
import { jobRecord } from "../support/job-record.js";

const T0 = Date.parse("2026-03-02T08:00:00Z");
const S = 1000;
const AHEAD = 2 * S;

function job(trigger: TriggerSpec, nextRunTime: number | null, more: Partial<Job> = {}): Job {
  return jobRecord({ name: "j", trigger, nextRunTime, createdAt: T0, updatedAt: T0, ...more });
}

const everySeconds = (seconds: number, jitter: number | null = null): TriggerSpec => ({
  type: "interval",
  seconds,
  startDate: T0,
  timezone: "UTC",
  jitter,
});
const once: TriggerSpec = { type: "date", runDate: T0, timezone: "UTC", jitter: null };

/** The engine's plan of `j` at `now` (engine/firing.ts). */
function plan(j: Job, now: number) {
  const trigger = compileTrigger(j.trigger);
  let n = 0;
  const fires = planFires(j, trigger, {
    now,
    horizon: now + AHEAD,
    newId: () => `r${String(++n)}`,
    random: () => 0.5,
  });
  return keepingPrepared(j, trigger, fires, now, AHEAD);
}

describe("the upcoming fire of a job claimed ahead", () => {
  it("a claim 1.5 s ahead of a minutely job keeps that fire time; reads show it until it comes", () => {
    const j = job(everySeconds(60), T0);
    const p = plan(j, T0 - 1500);
    expect(p).toMatchObject({ nextRunTime: T0 + 60 * S, preparedFirst: T0 });
    expect(p.lastFirePrepared).toBeUndefined();
    const claimed = { ...j, nextRunTime: T0 + 60 * S, preparedFirst: T0 };
    expect(upcomingFireTime(claimed, T0 - 1500)).toBe(T0);
    expect(upcomingFireTime(claimed, T0)).toBe(T0 + 60 * S);
    // A job claimed by an earlier version (nothing recorded): its claim's position.
    expect(upcomingFireTime({ ...j, nextRunTime: T0 + 60 * S }, T0 - 1500)).toBe(T0 + 60 * S);
  });

  it("a job firing every 0.5 s: the first prepared fire time still to come, earlier claims' included", () => {
    const j = job(everySeconds(0.5), T0);
    const first = plan(j, T0 - 1500);
    expect(first.runs.map((r) => r.scheduledTime)).toEqual([T0, T0 + 500]);
    expect(first).toMatchObject({ nextRunTime: T0 + 1000, preparedFirst: T0 });
    // The next claim, once T0 has come: T0 + 500 was prepared by the first and is still to come.
    const next = plan({ ...j, nextRunTime: T0 + 1000, preparedFirst: T0 }, T0 + 100);
    expect(next.runs.map((r) => r.scheduledTime)).toEqual([T0 + 1000, T0 + 1500, T0 + 2000]);
    expect(next.preparedFirst).toBe(T0 + 500);
  });

  it("a date job claimed ahead stays until its run is due, then the claim removes it", () => {
    const p = plan(job(once, T0), T0 - S);
    expect(p.runs.map((r) => r.scheduledTime)).toEqual([T0]);
    expect(p).toMatchObject({
      nextRunTime: T0 + AHEAD,
      preparedFirst: T0,
      lastFirePrepared: true,
    });
    const kept = job(once, T0 + AHEAD, { preparedFirst: T0, lastFirePrepared: true });
    expect(upcomingFireTime(kept, T0 - S)).toBe(T0);
    // Its fire time has come: nothing more to show (the claim removes it next).
    expect(upcomingFireTime(kept, T0)).toBeNull();
  });

  it("with jitter, a date job stays until its jittered time", () => {
    const p = plan(job({ ...once, jitter: 10 }, T0), T0 - S);
    const due = p.runs[0]?.dueAt ?? 0;
    expect(due).toBe(T0 + 5 * S);
    expect(p).toMatchObject({ nextRunTime: due + AHEAD, lastFirePrepared: true });
  });

  it("a date job claimed late (its run due already) is removed by that claim", () => {
    const p = plan(job(once, T0), T0 + S);
    expect(p.runs).toHaveLength(1);
    expect(p.nextRunTime).toBeNull();
    expect(p.lastFirePrepared).toBeUndefined();
  });

  it("a change sees nothing prepared; the job it writes keeps nothing of it", () => {
    const kept = job(once, T0 + AHEAD, { preparedFirst: T0, lastFirePrepared: true });
    const base = rewoundToPrepared(kept, T0);
    expect(base).toEqual(job(once, T0));
    const paused = changedJob(base, { ...base, paused: true, nextRunTime: null });
    expect(paused.preparedFirst ?? null).toBeNull();
    expect(paused.lastFirePrepared).toBeUndefined();
    // Its run already due (nothing withdrawn): it still waits for the claim that removes it,
    // unless the change moved its next run time.
    const due = rewoundToPrepared(kept, null);
    expect(changedJob(due, { ...due, args: ["new"] }).lastFirePrepared).toBe(true);
    expect(
      changedJob(due, { ...due, nextRunTime: T0 + 3600 * S }).lastFirePrepared,
    ).toBeUndefined();
    expect(
      changedJob(due, { ...due, paused: true, nextRunTime: null }).lastFirePrepared,
    ).toBeUndefined();
  });
});
