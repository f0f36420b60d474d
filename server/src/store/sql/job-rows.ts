/**
 * The `jobs` table's rows, the same in every SQL store, and their mapping to jobs. JSON columns
 * are text; booleans are 0/1 in statements.
 */
import type { Job, JsonObject, JsonValue, RetryPolicy } from "../../domain/jobs.js";
import type { TriggerSpec } from "../../domain/triggers/index.js";
import { chunks } from "../../lib/chunks.js";
import { num, numOrNull, strOrNull, type Param, type Row } from "./runner.js";

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
  modifiedBy: string | null;
  /** The first fire time prepared ahead not come at the last claim (domain/jobs.ts). */
  preparedFirst: number | null;
  /** The trigger ended with its last run prepared ahead (domain/jobs.ts). */
  lastFirePrepared: boolean;
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
    modifiedBy: j.modifiedBy ?? null,
    preparedFirst: j.preparedFirst ?? null,
    lastFirePrepared: j.lastFirePrepared === true,
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
    ...(r.modifiedBy === null ? {} : { modifiedBy: r.modifiedBy }),
    ...(r.preparedFirst === null ? {} : { preparedFirst: r.preparedFirst }),
    ...(r.lastFirePrepared ? { lastFirePrepared: true } : {}),
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
  ["modifiedBy", "modified_by"],
  ["preparedFirst", "prepared_first"],
  ["lastFirePrepared", "last_fire_prepared"],
];

/** A JobRow's values in JOB_COLUMNS order, booleans as 0/1 (what both drivers accept). */
export function jobRowCells(r: JobRow): Param[] {
  return JOB_COLUMNS.map(([key]) => {
    const v = r[key];
    return typeof v === "boolean" ? (v ? 1 : 0) : v;
  });
}

/** The job columns of a SELECT, named as JobRow's keys. */
export const JOB_SELECT = JOB_COLUMNS.map(([key, column]) =>
  key === column ? `\`${column}\`` : `\`${column}\` AS \`${key}\``,
).join(", ");

/** A job from a row selected with JOB_SELECT (drivers answer booleans and numbers variously). */
export function jobFromSelected(r: Row): Job {
  return jobFromRow({
    ...(r as unknown as JobRow),
    coalesce: num(r.coalesce) === 1,
    paused: num(r.paused) === 1,
    maxInstances: num(r.maxInstances),
    misfireGraceMs: numOrNull(r.misfireGraceMs),
    timeoutMs: numOrNull(r.timeoutMs),
    nextRunTime: numOrNull(r.nextRunTime),
    createdAt: num(r.createdAt),
    updatedAt: num(r.updatedAt),
    version: num(r.version),
    modifiedBy: strOrNull(r.modifiedBy),
    preparedFirst: numOrNull(r.preparedFirst),
    // Absent on a Redis record written before the field existed, as NULL is.
    lastFirePrepared: r.lastFirePrepared !== null && num(r.lastFirePrepared) === 1,
  });
}

/**
 * Items grouped by scheduler, in parts of at most `size`: statements name jobs as
 * `scheduler = ? AND id IN (…)`, which MySQL and MariaDB resolve on the primary key, where an OR
 * of `(scheduler = ? AND id = ?)` pairs was an order of magnitude slower.
 */
export function byScheduler<T extends { scheduler: string }>(
  items: readonly T[],
  size: number,
): [string, T[]][] {
  const groups = new Map<string, T[]>();
  for (const it of items) {
    let g = groups.get(it.scheduler);
    if (g === undefined) groups.set(it.scheduler, (g = []));
    g.push(it);
  }
  return [...groups].flatMap(([scheduler, list]) =>
    chunks(list, size).map((part): [string, T[]] => [scheduler, part]),
  );
}

/** A (scheduler, id) pair as one map key. */
export const jobKey = (scheduler: string, id: string): string => `${scheduler}\u0000${id}`;
