/** The `runs` table's rows, the same in every SQL store, and their mapping to runs. */
import type { JsonObject, JsonValue, RetryPolicy } from "../../domain/jobs.js";
import type { Run, RunError, RunStatus } from "../../domain/runs.js";
import {
  num,
  numOrNull,
  placeholders,
  strOrNull,
  type Param,
  type Row,
  type Tx,
  write,
} from "./runner.js";

const json = (v: unknown): string => JSON.stringify(v);

/** The runs table's columns and how a Run fills each (booleans as 0/1, JSON as text). */
const RUN_FIELDS: readonly (readonly [column: string, cell: (r: Run) => Param])[] = [
  ["id", (r) => r.id],
  ["scheduler", (r) => r.scheduler],
  ["job_id", (r) => r.jobId],
  ["job_name", (r) => r.jobName],
  ["handler", (r) => r.handler],
  ["scheduled_time", (r) => r.scheduledTime],
  ["fire_time", (r) => r.fireTime],
  ["manual", (r) => (r.manual ? 1 : 0)],
  ["args", (r) => json(r.args)],
  ["kwargs", (r) => json(r.kwargs)],
  ["timeout_ms", (r) => r.timeoutMs],
  ["retry", (r) => (r.retry === null ? null : json(r.retry))],
  ["max_instances", (r) => r.maxInstances],
  ["attempt", (r) => r.attempt],
  ["status", (r) => r.status],
  ["status_reason", (r) => r.statusReason],
  ["due_at", (r) => r.dueAt],
  ["expires_at", (r) => r.expiresAt],
  ["worker_id", (r) => r.workerId],
  ["lease_token", (r) => r.leaseToken],
  ["lease_expires_at", (r) => r.leaseExpiresAt],
  ["deadline_at", (r) => r.deadlineAt],
  ["started_at", (r) => r.startedAt],
  ["finished_at", (r) => r.finishedAt],
  ["result", (r) => (r.result === undefined ? null : json(r.result))],
  ["error", (r) => (r.error === null ? null : json(r.error))],
  ["created_at", (r) => r.createdAt],
  ["updated_at", (r) => r.updatedAt],
  ["triggered_by", (r) => r.triggeredBy ?? null],
];

export const RUN_COLUMNS = RUN_FIELDS.map(([column]) => column);

/** The columns that change after a run is created (what writeRun writes). */
const RUN_MUTABLE = new Set([
  "attempt",
  "status",
  "status_reason",
  "due_at",
  "expires_at",
  "worker_id",
  "lease_token",
  "lease_expires_at",
  "deadline_at",
  "started_at",
  "finished_at",
  "result",
  "error",
  "updated_at",
]);
const RUN_MUTABLE_FIELDS = RUN_FIELDS.filter(([column]) => RUN_MUTABLE.has(column));

/** Every column of a run, for a SELECT or an INSERT. */
export const RUN_SELECT = RUN_COLUMNS.map((c) => `\`${c}\``).join(", ");

export function runFromRow(r: Row): Run {
  const result = strOrNull(r.result);
  const error = strOrNull(r.error);
  const retry = strOrNull(r.retry);
  return {
    id: String(r.id),
    scheduler: String(r.scheduler),
    jobId: String(r.job_id),
    jobName: String(r.job_name),
    handler: String(r.handler),
    scheduledTime: num(r.scheduled_time),
    fireTime: num(r.fire_time),
    manual: num(r.manual) === 1,
    args: JSON.parse(String(r.args)) as JsonValue[],
    kwargs: JSON.parse(String(r.kwargs)) as JsonObject,
    timeoutMs: numOrNull(r.timeout_ms),
    retry: retry === null ? null : (JSON.parse(retry) as RetryPolicy),
    maxInstances: num(r.max_instances),
    attempt: num(r.attempt),
    status: String(r.status) as RunStatus,
    statusReason: String(r.status_reason),
    dueAt: numOrNull(r.due_at),
    expiresAt: numOrNull(r.expires_at),
    workerId: strOrNull(r.worker_id),
    leaseToken: strOrNull(r.lease_token),
    leaseExpiresAt: numOrNull(r.lease_expires_at),
    deadlineAt: numOrNull(r.deadline_at),
    startedAt: numOrNull(r.started_at),
    finishedAt: numOrNull(r.finished_at),
    result: result === null ? undefined : (JSON.parse(result) as JsonValue),
    error: error === null ? null : (JSON.parse(error) as RunError),
    createdAt: num(r.created_at),
    updatedAt: num(r.updated_at),
    ...triggeredBy(strOrNull(r.triggered_by)),
  };
}

const triggeredBy = (by: string | null): { triggeredBy?: string } =>
  by === null ? {} : { triggeredBy: by };

/** A run's values in RUN_COLUMNS order. */
export function runCells(r: Run): Param[] {
  return RUN_FIELDS.map(([, cell]) => cell(r));
}

/** Writes every mutable column of a run (its new state after a transition). */
export function* writeRun(r: Run): Tx<void> {
  yield* write(
    `UPDATE \`runs\` SET ${RUN_MUTABLE_FIELDS.map(([c]) => `\`${c}\` = ?`).join(", ")} WHERE \`id\` = ?`,
    [...RUN_MUTABLE_FIELDS.map(([, cell]) => cell(r)), r.id],
  );
}

/** Pending runs ended per statement by writeEnded (each a status, a reason and an id). */
const ENDED_PER_STATEMENT = 500;

/**
 * Pending runs that ended without running — missed (grace, coalesced into a later run) or
 * skipped (max_instances), the transitions that change only these columns: their status, reason,
 * finish and update times, their due and expiry cleared, in one statement per
 * ENDED_PER_STATEMENT runs instead of one per run. Any other run is written whole (writeRun).
 */
export function* writeEnded(runs: readonly Run[]): Tx<void> {
  const ended: Run[] = [];
  for (const r of runs)
    if (
      (r.status === "missed" || r.status === "skipped") &&
      r.dueAt === null &&
      r.expiresAt === null
    )
      ended.push(r);
    else yield* writeRun(r);
  for (let i = 0; i < ended.length; i += ENDED_PER_STATEMENT) {
    const part = ended.slice(i, i + ENDED_PER_STATEMENT);
    // ELSE the column itself (never taken): on PostgreSQL it gives the CASE the column's type.
    const cases = (column: string) =>
      `\`${column}\` = CASE \`id\` ${part.map(() => "WHEN ? THEN ?").join(" ")} ELSE \`${column}\` END`;
    yield* write(
      `UPDATE \`runs\` SET ${cases("status")}, ${cases("status_reason")}, ${cases("finished_at")}, ${cases("updated_at")}, \`due_at\` = NULL, \`expires_at\` = NULL WHERE \`status\` = 'pending' AND \`id\` IN (${placeholders(part.length)})`,
      [
        ...part.flatMap((r) => [r.id, r.status]),
        ...part.flatMap((r) => [r.id, r.statusReason]),
        ...part.flatMap((r) => [r.id, r.finishedAt]),
        ...part.flatMap((r) => [r.id, r.updatedAt]),
        ...part.map((r) => r.id),
      ],
    );
  }
}

/**
 * Runs prepared ahead of their fire time by a claim: pending first attempts of scheduled fire
 * times, not yet due (the parameter is now): their due time, the nominal time plus jitter, is
 * after now, even when the nominal time has passed (domain/prepared-runs.ts). A pending row
 * always has a due_at. Selected with a job's id, runs_job_status finds its pending rows.
 */
export const PREPARED = "`status` = 'pending' AND `manual` = 0 AND `attempt` = 1 AND `due_at` > ?";
