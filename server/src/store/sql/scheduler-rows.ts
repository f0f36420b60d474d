/** The `schedulers` table's rows, the same in every SQL store, and their mapping to schedulers. */
import type { Scheduler } from "../../domain/jobs.js";
import { num, numOrNull, strOrNull, type Param, type Row } from "./runner.js";

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
  modifiedBy: string | null;
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
    modifiedBy: s.modifiedBy ?? null,
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
    ...(r.modifiedBy === null ? {} : { modifiedBy: r.modifiedBy }),
  };
}

/** The scheduler columns of a SELECT, named as SchedulerRow's keys. */
export const SCHEDULER_SELECT =
  "`name`, `timezone`, `coalesce`, `max_instances` AS `maxInstances`, `misfire_grace_ms` AS `misfireGraceMs`, `paused`, `created_at` AS `createdAt`, `updated_at` AS `updatedAt`, `version`, `modified_by` AS `modifiedBy`";

/** The columns an INSERT or UPDATE writes, in schedulerCells order. */
export const SCHEDULER_COLUMNS = [
  "name",
  "timezone",
  "coalesce",
  "max_instances",
  "misfire_grace_ms",
  "paused",
  "created_at",
  "updated_at",
  "version",
  "modified_by",
] as const;

/** A scheduler's values in SCHEDULER_COLUMNS order, booleans as 0/1. */
export function schedulerCells(s: Scheduler): Param[] {
  const r = schedulerToRow(s);
  return [
    r.name,
    r.timezone,
    r.coalesce ? 1 : 0,
    r.maxInstances,
    r.misfireGraceMs,
    r.paused ? 1 : 0,
    r.createdAt,
    r.updatedAt,
    r.version,
    r.modifiedBy,
  ];
}

/** A scheduler from a row selected with SCHEDULER_SELECT. */
export function schedulerFromSelected(r: Row): Scheduler {
  return schedulerFromRow({
    name: String(r.name),
    timezone: String(r.timezone),
    coalesce: num(r.coalesce) === 1,
    maxInstances: num(r.maxInstances),
    misfireGraceMs: numOrNull(r.misfireGraceMs),
    paused: num(r.paused) === 1,
    createdAt: num(r.createdAt),
    updatedAt: num(r.updatedAt),
    version: num(r.version),
    modifiedBy: strOrNull(r.modifiedBy),
  });
}
