/**
 * Records as Redis hashes: one field per column of the SQL stores' rows (sql/*-rows.ts, the same
 * names and text forms, so both read a record alike), a NULL column an absent field.
 */
import type { Job, Scheduler } from "../../domain/jobs.js";
import type { Run } from "../../domain/runs.js";
import { JOB_COLUMNS, jobFromSelected, jobRowCells, jobToRow } from "../sql/job-rows.js";
import { RUN_COLUMNS, runCells, runFromRow } from "../sql/run-rows.js";
import type { Param, Row } from "../sql/runner.js";
import { SCHEDULER_COLUMNS, schedulerCells, schedulerFromSelected } from "../sql/scheduler-rows.js";
import { KEY_COLUMNS, keyCells, keyFromRow } from "../sql/keys/key-rows.js";
import type { ApiKeyRecord } from "../../domain/keys.js";

/** A hash as HGETALL answers it (empty: no such key). */
export type Fields = Record<string, string>;

function fields(columns: readonly string[], cells: readonly Param[]): Fields {
  const out: Fields = {};
  columns.forEach((c, i) => {
    const v = cells[i];
    if (v !== null && v !== undefined) out[c] = String(v);
  });
  return out;
}

/** The row of `columns` a hash holds, absent fields as NULL, named as `names` says. */
function row(h: Fields, columns: readonly string[], names: readonly string[] = columns): Row {
  const r: Row = {};
  columns.forEach((c, i) => {
    r[names[i] ?? c] = h[c] ?? null;
  });
  return r;
}

export function jobFields(job: Job): Fields {
  return fields(
    JOB_COLUMNS.map(([, c]) => c),
    jobRowCells(jobToRow(job)),
  );
}

export function jobFromFields(h: Fields): Job {
  return jobFromSelected(
    row(
      h,
      JOB_COLUMNS.map(([, c]) => c),
      JOB_COLUMNS.map(([k]) => k),
    ),
  );
}

export function runFields(run: Run): Fields {
  return fields(RUN_COLUMNS, runCells(run));
}

export function runFromFields(h: Fields): Run {
  return runFromRow(row(h, RUN_COLUMNS));
}

const SCHEDULER_NAMES = [
  "name",
  "timezone",
  "coalesce",
  "maxInstances",
  "misfireGraceMs",
  "paused",
  "createdAt",
  "updatedAt",
  "version",
  "modifiedBy",
] as const;

export function schedulerFields(s: Scheduler): Fields {
  return fields(SCHEDULER_COLUMNS, schedulerCells(s));
}

export function schedulerFromFields(h: Fields): Scheduler {
  return schedulerFromSelected(row(h, SCHEDULER_COLUMNS, SCHEDULER_NAMES));
}

export function apiKeyFields(k: ApiKeyRecord): Fields {
  return fields(KEY_COLUMNS, keyCells(k));
}

export function apiKeyFromFields(h: Fields): ApiKeyRecord {
  return keyFromRow(row(h, KEY_COLUMNS));
}

/**
 * A run's write as scripts/lib.ts's put_changes takes it: what changed between the record as read
 * (its fields; null: a new run) and as written, at revision `rev`, with the statuses and scores
 * its indexes need. `drop`: fields that are no columns to remove too (a hold's `held_until`).
 */
export interface RunChange {
  s: string;
  id: string;
  set: string[];
  del?: string[];
  from?: string;
  to: string;
  h: string;
  j: string;
  a?: string;
  b?: string;
  st?: string;
  m?: string;
}

export function runChange(
  before: Fields | null,
  after: Fields,
  rev: string,
  drop: readonly string[] = [],
): RunChange {
  const set = ["rev", rev];
  const to = after.status ?? "";
  const change: RunChange = {
    s: after.scheduler ?? "",
    id: after.id ?? "",
    set,
    to,
    h: after.handler ?? "",
    j: after.job_id ?? "",
  };
  if (before === null) {
    for (const k in after) set.push(k, after[k] as string);
    change.st = after.scheduled_time ?? "";
    change.m = after.manual ?? "";
  } else {
    for (const k in after) {
      const v = after[k] as string;
      if (before[k] !== v) set.push(k, v);
    }
    let del: string[] | undefined = drop.length > 0 ? [...drop] : undefined;
    for (const k of RUN_COLUMNS)
      if (after[k] === undefined && before[k] !== undefined) (del ??= []).push(k);
    if (del !== undefined) change.del = del;
    change.from = before.status ?? "";
  }
  const a = to === "pending" ? after.due_at : to === "running" ? after.lease_expires_at : undefined;
  const b = to === "pending" ? after.expires_at : to === "running" ? after.deadline_at : undefined;
  if (a !== undefined) change.a = a;
  if (b !== undefined) change.b = b;
  return change;
}

/** A record's revision as read ('0': absent). */
export function revOf(h: Fields | null): string {
  return h?.rev ?? "0";
}
