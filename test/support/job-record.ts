/**
 * A job record as the domain holds it, for unit tests of the domain's decisions (claims, fires,
 * coalescing, what reads show): a date job of scheduler `default` with every setting at its
 * default (coalesce, max_instances 1, a grace of 60 s), `over` on top.
 */
import type { Job } from "../../server/src/domain/jobs.js";

const T0 = Date.parse("2026-03-02T08:00:00Z");

export function jobRecord(over: Partial<Job> = {}): Job {
  return {
    scheduler: "default",
    id: "j",
    name: "J",
    handler: "h",
    trigger: { type: "date", runDate: T0, timezone: "UTC", jitter: null },
    args: [],
    kwargs: {},
    coalesce: true,
    maxInstances: 1,
    misfireGraceTimeMs: 60_000,
    timeoutMs: null,
    retry: null,
    paused: false,
    nextRunTime: T0,
    createdAt: T0,
    updatedAt: T0,
    version: 1,
    ...over,
  };
}
