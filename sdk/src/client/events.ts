/**
 * Events in the SDK: typed event objects and APScheduler-style masks (`EVENT_JOB_EXECUTED |
 * EVENT_JOB_ERROR`). `EventStream` (event-stream.ts) delivers them.
 */
import { timestampDate, type Timestamp } from "@bufbuild/protobuf/wkt";
import { toJson } from "@bufbuild/protobuf";
import { ValueSchema } from "@bufbuild/protobuf/wkt";
import type { JsonValue } from "@bufbuild/protobuf";
import { EventType as PbEventType, type Event as PbEvent } from "../gen/metronome/v1/event_pb.js";
import { runStatusName, type RunStatusName } from "./run-status.js";

export type { RunStatusName } from "./run-status.js";

/** The event types (APScheduler's EVENT_* names, lower case). */
export type EventTypeName =
  | "scheduler_started"
  | "scheduler_shutdown"
  | "scheduler_paused"
  | "scheduler_resumed"
  | "job_added"
  | "job_modified"
  | "job_removed"
  | "all_jobs_removed"
  | "job_submitted"
  | "job_executed"
  | "job_error"
  | "job_missed"
  | "job_max_instances"
  | "run_cancelled"
  | "worker_connected"
  | "worker_disconnected"
  | "job_at_risk"
  | "key_created"
  | "key_revoked";

/** Each type's bit, in the proto's order: the masks below are unions of these. */
const TYPE_BITS: Readonly<Record<EventTypeName, number>> = {
  scheduler_started: 1 << 0,
  scheduler_shutdown: 1 << 1,
  scheduler_paused: 1 << 2,
  scheduler_resumed: 1 << 3,
  job_added: 1 << 4,
  job_modified: 1 << 5,
  job_removed: 1 << 6,
  all_jobs_removed: 1 << 7,
  job_submitted: 1 << 8,
  job_executed: 1 << 9,
  job_error: 1 << 10,
  job_missed: 1 << 11,
  job_max_instances: 1 << 12,
  run_cancelled: 1 << 13,
  worker_connected: 1 << 14,
  worker_disconnected: 1 << 15,
  job_at_risk: 1 << 16,
  key_created: 1 << 17,
  key_revoked: 1 << 18,
};

export const EVENT_SCHEDULER_STARTED = TYPE_BITS.scheduler_started;
export const EVENT_SCHEDULER_SHUTDOWN = TYPE_BITS.scheduler_shutdown;
export const EVENT_SCHEDULER_PAUSED = TYPE_BITS.scheduler_paused;
export const EVENT_SCHEDULER_RESUMED = TYPE_BITS.scheduler_resumed;
export const EVENT_JOB_ADDED = TYPE_BITS.job_added;
export const EVENT_JOB_MODIFIED = TYPE_BITS.job_modified;
export const EVENT_JOB_REMOVED = TYPE_BITS.job_removed;
export const EVENT_ALL_JOBS_REMOVED = TYPE_BITS.all_jobs_removed;
export const EVENT_JOB_SUBMITTED = TYPE_BITS.job_submitted;
export const EVENT_JOB_EXECUTED = TYPE_BITS.job_executed;
export const EVENT_JOB_ERROR = TYPE_BITS.job_error;
export const EVENT_JOB_MISSED = TYPE_BITS.job_missed;
export const EVENT_JOB_MAX_INSTANCES = TYPE_BITS.job_max_instances;
export const EVENT_RUN_CANCELLED = TYPE_BITS.run_cancelled;
export const EVENT_WORKER_CONNECTED = TYPE_BITS.worker_connected;
export const EVENT_WORKER_DISCONNECTED = TYPE_BITS.worker_disconnected;
/** A fire time of a job cannot run: no worker serves its handler, or its scheduler is paused. */
export const EVENT_JOB_AT_RISK = TYPE_BITS.job_at_risk;
/** An API key was created. */
export const EVENT_KEY_CREATED = TYPE_BITS.key_created;
/** An API key was revoked. */
export const EVENT_KEY_REVOKED = TYPE_BITS.key_revoked;
/** Every event type (APScheduler's EVENT_ALL). */
export const EVENT_ALL = (1 << 19) - 1;

const TYPE_NAMES = Object.keys(TYPE_BITS) as EventTypeName[];

/** Every event type's name, in the API's order (for checking what a user typed). */
export const EVENT_TYPE_NAMES: readonly EventTypeName[] = TYPE_NAMES;

/** The bit of an event type, for testing it against a mask: `eventCode(e) & mask`. */
export function eventCode(type: EventTypeName): number {
  return TYPE_BITS[type];
}

/** The type names a mask selects (all of them for EVENT_ALL). */
export function typesOfMask(mask: number): EventTypeName[] {
  if (!Number.isInteger(mask) || mask <= 0 || mask > EVENT_ALL)
    throw new RangeError(`not an event mask: ${String(mask)} (combine EVENT_* constants with |)`);
  return TYPE_NAMES.filter((t) => (TYPE_BITS[t] & mask) !== 0);
}

interface BaseEvent {
  /** The event's position in the log: resume after it. */
  readonly cursor: bigint;
  /** Its bit (EVENT_*), as APScheduler's `event.code`. */
  readonly code: number;
  /** When it happened (the recording node's clock). */
  readonly time: Date;
  /** The Metronome node that recorded it. */
  readonly nodeId: string;
  /**
   * Who made the change through the API: a key id, `env:<n>` (a bootstrap token) or
   * `anonymous`; empty for what the scheduler did by itself.
   */
  readonly actor: string;
}

/** key_created, key_revoked: an API key was created or revoked (by `actor`). */
export interface KeyEvent extends BaseEvent {
  readonly type: "key_created" | "key_revoked";
  readonly keyId: string;
}

/** scheduler_started, scheduler_shutdown: a Metronome node started or stopped firing. */
export interface NodeEvent extends BaseEvent {
  readonly type: "scheduler_started" | "scheduler_shutdown";
}

/** scheduler_paused, scheduler_resumed, all_jobs_removed. */
export interface SchedulerEvent extends BaseEvent {
  readonly type: "scheduler_paused" | "scheduler_resumed" | "all_jobs_removed";
  readonly scheduler: string;
}

/** job_added, job_modified, job_removed. */
export interface JobEvent extends BaseEvent {
  readonly type: "job_added" | "job_modified" | "job_removed";
  readonly scheduler: string;
  readonly jobId: string;
  readonly handler: string;
  /** job_removed: "removed", "date trigger fired" or "no fire time left". */
  readonly reason: string;
}

export interface RunErrorInfo {
  readonly message: string;
  readonly type: string;
  readonly stack: string;
  readonly nonRetryable: boolean;
}

/** job_submitted, job_executed, job_error, job_missed, job_max_instances, run_cancelled. */
export interface RunEvent extends BaseEvent {
  readonly type:
    | "job_submitted"
    | "job_executed"
    | "job_error"
    | "job_missed"
    | "job_max_instances"
    | "run_cancelled";
  readonly scheduler: string;
  readonly jobId: string;
  readonly handler: string;
  readonly runId: string;
  /** The run's nominal fire time (a manual run's: when it was requested). */
  readonly scheduledTime: Date;
  /** The attempt (job_submitted, job_executed, job_error, run_cancelled); 0 otherwise. */
  readonly attempt: number;
  readonly manual: boolean;
  /** The run's status after the event (job_error: "pending" when a retry follows). */
  readonly runStatus: RunStatusName | undefined;
  /** The worker that held the attempt, if any. */
  readonly workerId: string;
  /** job_executed: the handler's return value. */
  readonly result: JsonValue | undefined;
  /** job_error: the attempt's error. */
  readonly error: RunErrorInfo | undefined;
  /** job_missed, job_max_instances, run_cancelled: why. */
  readonly reason: string;
}

/** worker_connected, worker_disconnected. */
export interface WorkerEvent extends BaseEvent {
  readonly type: "worker_connected" | "worker_disconnected";
  readonly workerId: string;
  readonly sessionId: string;
  readonly handlers: readonly { readonly handler: string; readonly maxConcurrency: number }[];
  readonly maxConcurrency: number;
  readonly labels: Readonly<Record<string, string>>;
  /** worker_disconnected: "closed", "heartbeat timeout", "cancelled", ... */
  readonly reason: string;
}

/**
 * job_at_risk: a fire time of the job is coming (or came) and cannot run. Recorded when a node
 * claims the fire time (about 2 s ahead), finds it due in a paused scheduler, or creates a
 * manual run that cannot run; at most once per job and reason per hour from each node.
 */
export interface JobAtRiskEvent extends BaseEvent {
  readonly type: "job_at_risk";
  readonly scheduler: string;
  readonly jobId: string;
  readonly handler: string;
  /** The run at risk when it exists already (a claimed fire time, a manual run); else "". */
  readonly runId: string;
  /** The fire time at risk. */
  readonly scheduledTime: Date;
  readonly manual: boolean;
  /** "no connected worker serves the handler" or "the scheduler is paused". */
  readonly reason: string;
}

/** An event: narrow on `type`. */
export type MetronomeEvent =
  NodeEvent | SchedulerEvent | JobEvent | RunEvent | WorkerEvent | JobAtRiskEvent | KeyEvent;

/** The enum's members are the type names in upper case (EVENT_TYPE_JOB_ADDED: job_added). */
const NAME_OF = new Map<PbEventType, EventTypeName>();
for (const v of Object.values(PbEventType)) {
  if (typeof v === "string") continue;
  const name = TYPE_NAMES.find((t) => t === PbEventType[v].toLowerCase());
  if (name !== undefined) NAME_OF.set(v, name);
}
const PB_TYPE = new Map([...NAME_OF].map(([v, t]) => [t, v]));

const date = (t: Timestamp | undefined): Date => (t === undefined ? new Date(0) : timestampDate(t));

/** The typed event of a message; undefined for a type this SDK does not know (newer server). */
export function eventFromProto(e: PbEvent): MetronomeEvent | undefined {
  const type = NAME_OF.get(e.type);
  if (type === undefined) return undefined;
  const base = {
    cursor: e.cursor,
    code: TYPE_BITS[type],
    time: date(e.time),
    nodeId: e.nodeId,
    actor: e.actor,
  };
  switch (type) {
    case "scheduler_started":
    case "scheduler_shutdown":
      return { ...base, type };
    case "scheduler_paused":
    case "scheduler_resumed":
    case "all_jobs_removed":
      return { ...base, type, scheduler: e.scheduler };
    case "job_added":
    case "job_modified":
    case "job_removed":
      return {
        ...base,
        type,
        scheduler: e.scheduler,
        jobId: e.jobId,
        handler: e.handler,
        reason: e.reason,
      };
    case "worker_connected":
    case "worker_disconnected":
      return {
        ...base,
        type,
        workerId: e.workerId,
        sessionId: e.worker?.sessionId ?? "",
        handlers: (e.worker?.handlers ?? []).map((h) => ({
          handler: h.handler,
          maxConcurrency: h.maxConcurrency,
        })),
        maxConcurrency: e.worker?.maxConcurrency ?? 0,
        labels: { ...(e.worker?.labels ?? {}) },
        reason: e.reason,
      };
    case "key_created":
    case "key_revoked":
      return { ...base, type, keyId: e.keyId };
    case "job_at_risk":
      return {
        ...base,
        type,
        scheduler: e.scheduler,
        jobId: e.jobId,
        handler: e.handler,
        runId: e.runId,
        scheduledTime: date(e.scheduledTime),
        manual: e.manual,
        reason: e.reason,
      };
    default:
      return {
        ...base,
        type,
        scheduler: e.scheduler,
        jobId: e.jobId,
        handler: e.handler,
        runId: e.runId,
        scheduledTime: date(e.scheduledTime),
        attempt: e.attempt,
        manual: e.manual,
        runStatus: runStatusName(e.runStatus),
        workerId: e.workerId,
        result: e.result === undefined ? undefined : toJson(ValueSchema, e.result),
        error:
          e.error === undefined
            ? undefined
            : {
                message: e.error.message,
                type: e.error.type,
                stack: e.error.stack,
                nonRetryable: e.error.nonRetryable,
              },
        reason: e.reason,
      };
  }
}

/**
 * The API's type filter for these types (names, or a mask); every type is asked as no type
 * filter, so that a server older than this SDK (which does not know the newest types) accepts
 * the request.
 */
export function typeFilter(types: readonly EventTypeName[] | number | undefined): PbEventType[] {
  const names = types === undefined ? [] : typeof types === "number" ? typesOfMask(types) : types;
  const all = TYPE_NAMES.every((t) => names.includes(t));
  return all ? [] : names.map((t) => PB_TYPE.get(t) ?? PbEventType.UNSPECIFIED);
}

/** Which events to receive: criteria combine with AND, values within one with OR. */
export interface EventFilter {
  readonly schedulers?: readonly string[] | undefined;
  readonly jobIds?: readonly string[] | undefined;
  readonly handlers?: readonly string[] | undefined;
  /** Type names, or a mask of EVENT_* constants. */
  readonly types?: readonly EventTypeName[] | number | undefined;
}
