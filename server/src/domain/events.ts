/**
 * Events: immutable records of what happened, written in the same transaction as the change they
 * report (see docs/events.md). This module is pure: the event types, how an event is built from
 * a job, a run or a worker session, and how a subscriber's filter matches one.
 */
import type { Job, JsonValue } from "./jobs.js";
import type { Run, RunError, RunStatus } from "./runs.js";

/** The event types (APScheduler's EVENT_* names, lower case; docs/events.md lists them). */
export const EVENT_TYPES = [
  "scheduler_started",
  "scheduler_shutdown",
  "scheduler_paused",
  "scheduler_resumed",
  "job_added",
  "job_modified",
  "job_removed",
  "all_jobs_removed",
  "job_submitted",
  "job_executed",
  "job_error",
  "job_missed",
  "job_max_instances",
  "run_cancelled",
  "worker_connected",
  "worker_disconnected",
  "job_at_risk",
  "key_created",
  "key_revoked",
] as const;

export type EventType = (typeof EVENT_TYPES)[number];

const WORKER_TYPES: ReadonlySet<EventType> = new Set(["worker_connected", "worker_disconnected"]);

export interface WorkerSessionInfo {
  readonly workerId: string;
  readonly sessionId: string;
  /** Handler name and its concurrency limit (0: only the worker's total applies). */
  readonly handlers: readonly (readonly [string, number])[];
  readonly maxConcurrency: number;
  readonly labels: Readonly<Record<string, string>>;
}

/** What an event carries besides its indexed columns (stored as JSON). */
export interface EventData {
  readonly nodeId: string;
  readonly workerId?: string | undefined;
  readonly scheduledTime?: number | undefined;
  readonly attempt?: number | undefined;
  readonly manual?: boolean | undefined;
  readonly runStatus?: RunStatus | undefined;
  readonly result?: JsonValue | undefined;
  readonly error?: RunError | undefined;
  readonly reason?: string | undefined;
  readonly worker?: WorkerSessionInfo | undefined;
  /** Who made the change through the API (a key id, env:<n>, anonymous); never a secret. */
  readonly actor?: string | undefined;
  /** The API key concerned (key_created, key_revoked). */
  readonly keyId?: string | undefined;
}

/** An event to write: everything but its cursor, which the log assigns after it commits. */
export interface EventDraft {
  readonly type: EventType;
  /** Milliseconds since the epoch, on the recording node's clock. */
  readonly time: number;
  readonly scheduler: string | null;
  readonly jobId: string | null;
  readonly runId: string | null;
  readonly handler: string | null;
  readonly data: EventData;
}

/** A committed event, with its place in the log. */
export interface LoggedEvent extends EventDraft {
  readonly cursor: number;
  /** About how many bytes it takes as stored (bounds the memory kept for subscribers). */
  readonly bytes?: number;
}

export function jobEvent(
  type: "job_added" | "job_modified" | "job_removed",
  job: Pick<Job, "scheduler" | "id" | "handler">,
  time: number,
  nodeId: string,
  reason?: string,
): EventDraft {
  return {
    type,
    time,
    scheduler: job.scheduler,
    jobId: job.id,
    runId: null,
    handler: job.handler,
    data: reason === undefined ? { nodeId } : { nodeId, reason },
  };
}

/** Why a fire time cannot run (JOB_AT_RISK's reason: exact texts, documented in event.proto). */
export const AT_RISK = {
  noWorker: "no connected worker serves the handler",
  paused: "the scheduler is paused",
} as const;
export type AtRiskReason = (typeof AT_RISK)[keyof typeof AT_RISK];

/**
 * A fire time of a job that cannot run (job_at_risk): `run` when the run already exists (a fire
 * time claimed ahead, a manual run), else the job's next fire time.
 */
export function atRiskEvent(
  job: Pick<Job, "scheduler" | "id" | "handler">,
  reason: AtRiskReason,
  fire: { readonly scheduledTime: number; readonly runId: string | null; readonly manual: boolean },
  time: number,
  nodeId: string,
): EventDraft {
  return {
    type: "job_at_risk",
    time,
    scheduler: job.scheduler,
    jobId: job.id,
    runId: fire.runId,
    handler: job.handler,
    data: { nodeId, scheduledTime: fire.scheduledTime, manual: fire.manual, reason },
  };
}

export function schedulerEvent(
  type: "scheduler_paused" | "scheduler_resumed" | "all_jobs_removed",
  scheduler: string,
  time: number,
  nodeId: string,
): EventDraft {
  return { type, time, scheduler, jobId: null, runId: null, handler: null, data: { nodeId } };
}

/** An API key was created or revoked, by `actor`. */
export function keyEvent(
  type: "key_created" | "key_revoked",
  keyId: string,
  time: number,
  nodeId: string,
  actor: string,
): EventDraft {
  return {
    type,
    time,
    scheduler: null,
    jobId: null,
    runId: null,
    handler: null,
    data: { nodeId, keyId, actor },
  };
}

/** The events with their actor (who made the change through the API); unchanged without one. */
export function byActor(
  events: readonly EventDraft[],
  actor: string | undefined,
): readonly EventDraft[] {
  if (actor === undefined) return events;
  return events.map((e) => ({ ...e, data: { ...e.data, actor } }));
}

export function nodeEvent(
  type: "scheduler_started" | "scheduler_shutdown",
  time: number,
  nodeId: string,
): EventDraft {
  return { type, time, scheduler: null, jobId: null, runId: null, handler: null, data: { nodeId } };
}

export function workerEvent(
  type: "worker_connected" | "worker_disconnected",
  worker: WorkerSessionInfo,
  time: number,
  nodeId: string,
  reason?: string,
): EventDraft {
  return {
    type,
    time,
    scheduler: null,
    jobId: null,
    runId: null,
    handler: null,
    data: {
      nodeId,
      workerId: worker.workerId,
      worker,
      ...(reason === undefined ? {} : { reason }),
    },
  };
}

/**
 * The event a run's new state reports, or null when it reports none (a run created pending). A
 * run pending again after an error (a retry follows) reports that error, for the failed attempt.
 */
export function runEvent(run: Run, time: number, nodeId: string): EventDraft | null {
  const type = runEventType(run);
  if (type === null) return null;
  const held = type !== "job_missed" && type !== "job_max_instances";
  const data: EventData = {
    nodeId,
    scheduledTime: run.scheduledTime,
    manual: run.manual,
    runStatus: run.status,
    ...(held ? { attempt: run.status === "pending" ? run.attempt - 1 : run.attempt } : {}),
    ...(held && run.workerId !== null ? { workerId: run.workerId } : {}),
    ...(type === "job_executed" && run.result !== undefined ? { result: run.result } : {}),
    ...(type === "job_error" && run.error !== null ? { error: run.error } : {}),
    ...(type === "job_missed" || type === "job_max_instances" || type === "run_cancelled"
      ? { reason: run.statusReason }
      : {}),
    // A manual run's events name who asked for it (a cancel through the API restamps it).
    ...(run.triggeredBy === undefined ? {} : { actor: run.triggeredBy }),
  };
  return {
    type,
    time,
    scheduler: run.scheduler,
    jobId: run.jobId,
    runId: run.id,
    handler: run.handler,
    data,
  };
}

function runEventType(run: Run): EventType | null {
  switch (run.status) {
    case "running":
      return "job_submitted";
    case "succeeded":
      return "job_executed";
    case "failed":
    case "timed_out":
      return "job_error";
    case "missed":
      return "job_missed";
    case "skipped":
      return "job_max_instances";
    case "cancelled":
      return "run_cancelled";
    case "pending":
      // Pending after an attempt: a retry follows an error.
      return run.error !== null && run.attempt > 1 ? "job_error" : null;
  }
}

/** Run events for several runs (those whose state reports one). */
export function runEvents(runs: readonly Run[], time: number, nodeId: string): EventDraft[] {
  const out: EventDraft[] = [];
  for (const r of runs) {
    const e = runEvent(r, time, nodeId);
    if (e !== null) out.push(e);
  }
  return out;
}

/** A subscriber's filter: empty criteria match everything (see event_service.proto). */
export interface EventFilter {
  readonly schedulers: readonly string[];
  readonly jobIds: readonly string[];
  readonly handlers: readonly string[];
  readonly types: readonly EventType[];
}

export const MATCH_ALL: EventFilter = { schedulers: [], jobIds: [], handlers: [], types: [] };

/** A filter compiled to sets; `matches` is called for every event and subscriber. */
export class EventMatcher {
  private readonly schedulers: ReadonlySet<string> | null;
  private readonly jobIds: ReadonlySet<string> | null;
  private readonly handlers: ReadonlySet<string> | null;
  private readonly types: ReadonlySet<string> | null;

  constructor(readonly filter: EventFilter) {
    const set = <T>(xs: readonly T[]) => (xs.length === 0 ? null : new Set(xs));
    this.schedulers = set(filter.schedulers);
    this.jobIds = set(filter.jobIds);
    this.handlers = set(filter.handlers);
    this.types = set(filter.types);
    this.matchesAll =
      this.schedulers === null &&
      this.jobIds === null &&
      this.handlers === null &&
      this.types === null;
  }

  /** The filter is empty: every event matches. */
  readonly matchesAll: boolean;

  matches(e: EventDraft): boolean {
    if (this.types !== null && !this.types.has(e.type)) return false;
    if (this.schedulers !== null && (e.scheduler === null || !this.schedulers.has(e.scheduler)))
      return false;
    if (this.jobIds !== null && (e.jobId === null || !this.jobIds.has(e.jobId))) return false;
    if (this.handlers !== null) {
      if (WORKER_TYPES.has(e.type)) {
        const hs = this.handlers;
        return e.data.worker?.handlers.some(([h]) => hs.has(h)) ?? false;
      }
      if (e.handler === null || !this.handlers.has(e.handler)) return false;
    }
    return true;
  }
}

export function isWorkerEvent(type: EventType): boolean {
  return WORKER_TYPES.has(type);
}
