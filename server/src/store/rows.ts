/**
 * The row shape both stores share, and its mapping to domain objects. JSON columns are text.
 */
import type { Job, JsonObject, JsonValue, RetryPolicy, Scheduler } from "../domain/jobs.js";
import type { TriggerSpec } from "../domain/triggers/index.js";

export interface SchedulerRow {
  name: string;
  timezone: string;
  coalesce: boolean;
  maxInstances: number;
  misfireGraceMs: number | null;
  paused: boolean;
  createdAt: number;
  updatedAt: number;
  version: number;
}

export interface JobRow {
  scheduler: string;
  id: string;
  name: string;
  handler: string;
  trigger: string;
  args: string;
  kwargs: string;
  coalesce: boolean;
  maxInstances: number;
  misfireGraceMs: number | null;
  timeoutMs: number | null;
  retry: string | null;
  paused: boolean;
  nextRunTime: number | null;
  createdAt: number;
  updatedAt: number;
  version: number;
}

export function schedulerToRow(s: Scheduler): SchedulerRow {
  return {
    name: s.name,
    timezone: s.timezone,
    coalesce: s.defaults.coalesce,
    maxInstances: s.defaults.maxInstances,
    misfireGraceMs: s.defaults.misfireGraceTimeMs,
    paused: s.paused,
    createdAt: s.createdAt,
    updatedAt: s.updatedAt,
    version: s.version,
  };
}

export function schedulerFromRow(r: SchedulerRow): Scheduler {
  return {
    name: r.name,
    timezone: r.timezone,
    defaults: {
      coalesce: r.coalesce,
      maxInstances: r.maxInstances,
      misfireGraceTimeMs: r.misfireGraceMs,
    },
    paused: r.paused,
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
    version: r.version,
  };
}

export function jobToRow(j: Job): JobRow {
  return {
    scheduler: j.scheduler,
    id: j.id,
    name: j.name,
    handler: j.handler,
    trigger: JSON.stringify(j.trigger),
    args: JSON.stringify(j.args),
    kwargs: JSON.stringify(j.kwargs),
    coalesce: j.coalesce,
    maxInstances: j.maxInstances,
    misfireGraceMs: j.misfireGraceTimeMs,
    timeoutMs: j.timeoutMs,
    retry: j.retry === null ? null : JSON.stringify(j.retry),
    paused: j.paused,
    nextRunTime: j.nextRunTime,
    createdAt: j.createdAt,
    updatedAt: j.updatedAt,
    version: j.version,
  };
}

export function jobFromRow(r: JobRow): Job {
  return {
    scheduler: r.scheduler,
    id: r.id,
    name: r.name,
    handler: r.handler,
    trigger: JSON.parse(r.trigger) as TriggerSpec,
    args: JSON.parse(r.args) as JsonValue[],
    kwargs: JSON.parse(r.kwargs) as JsonObject,
    coalesce: r.coalesce,
    maxInstances: r.maxInstances,
    misfireGraceTimeMs: r.misfireGraceMs,
    timeoutMs: r.timeoutMs,
    retry: r.retry === null ? null : (JSON.parse(r.retry) as RetryPolicy),
    paused: r.paused,
    nextRunTime: r.nextRunTime,
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
    version: r.version,
  };
}

/** The jobs table's SQL column names, in JobRow order (both stores use the same names). */
export const JOB_COLUMNS: readonly (readonly [keyof JobRow, string])[] = [
  ["scheduler", "scheduler"],
  ["id", "id"],
  ["name", "name"],
  ["handler", "handler"],
  ["trigger", "trigger"],
  ["args", "args"],
  ["kwargs", "kwargs"],
  ["coalesce", "coalesce"],
  ["maxInstances", "max_instances"],
  ["misfireGraceMs", "misfire_grace_ms"],
  ["timeoutMs", "timeout_ms"],
  ["retry", "retry"],
  ["paused", "paused"],
  ["nextRunTime", "next_run_time"],
  ["createdAt", "created_at"],
  ["updatedAt", "updated_at"],
  ["version", "version"],
];

/** A JobRow's values in JOB_COLUMNS order, booleans as 0/1 (what both drivers accept). */
export function jobRowCells(r: JobRow): (string | number | null)[] {
  return JOB_COLUMNS.map(([key]) => {
    const v = r[key];
    return typeof v === "boolean" ? (v ? 1 : 0) : v;
  });
}
