/**
 * Events in the SDK: typed event objects, APScheduler-style masks (`EVENT_JOB_EXECUTED |
 * EVENT_JOB_ERROR`), and `EventStream`, an async iterable over EventService.Subscribe that
 * resumes by itself after a disconnect from the last cursor it saw, so that it yields every
 * matching event once, in order, across reconnections and server restarts.
 */
import { timestampDate, type Timestamp } from "@bufbuild/protobuf/wkt";
import { toJson } from "@bufbuild/protobuf";
import { ValueSchema } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type Client } from "@connectrpc/connect";
import type { JsonValue } from "@bufbuild/protobuf";
import { EventType as PbEventType, type Event as PbEvent } from "../gen/metronome/v1/event_pb.js";
import type { EventService, SubscribeResponse } from "../gen/metronome/v1/event_service_pb.js";
import { RunStatus as PbRunStatus } from "../gen/metronome/v1/run_pb.js";
import { toMetronomeError } from "../rpc-errors.js";

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
  | "job_at_risk";

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
/** Every event type (APScheduler's EVENT_ALL). */
export const EVENT_ALL = (1 << 17) - 1;

const TYPE_NAMES = Object.keys(TYPE_BITS) as EventTypeName[];

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

export type RunStatusName =
  "pending" | "running" | "succeeded" | "failed" | "timed_out" | "cancelled" | "missed" | "skipped";

const RUN_STATUS: Partial<Record<PbRunStatus, RunStatusName>> = {
  [PbRunStatus.PENDING]: "pending",
  [PbRunStatus.RUNNING]: "running",
  [PbRunStatus.SUCCEEDED]: "succeeded",
  [PbRunStatus.FAILED]: "failed",
  [PbRunStatus.TIMED_OUT]: "timed_out",
  [PbRunStatus.CANCELLED]: "cancelled",
  [PbRunStatus.MISSED]: "missed",
  [PbRunStatus.SKIPPED]: "skipped",
};

interface BaseEvent {
  /** The event's position in the log: resume after it. */
  readonly cursor: bigint;
  /** Its bit (EVENT_*), as APScheduler's `event.code`. */
  readonly code: number;
  /** When it happened (the recording node's clock). */
  readonly time: Date;
  /** The Metronome node that recorded it. */
  readonly nodeId: string;
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
  NodeEvent | SchedulerEvent | JobEvent | RunEvent | WorkerEvent | JobAtRiskEvent;

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
  const base = { cursor: e.cursor, code: TYPE_BITS[type], time: date(e.time), nodeId: e.nodeId };
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
        runStatus: RUN_STATUS[e.runStatus],
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

/** Which events to receive: criteria combine with AND, values within one with OR. */
export interface EventFilter {
  readonly schedulers?: readonly string[] | undefined;
  readonly jobIds?: readonly string[] | undefined;
  readonly handlers?: readonly string[] | undefined;
  /** Type names, or a mask of EVENT_* constants. */
  readonly types?: readonly EventTypeName[] | number | undefined;
}

export interface SubscribeOptions {
  readonly filter?: EventFilter | undefined;
  /** Start after this cursor (every later matching event, then live ones); default: from now. */
  readonly afterCursor?: bigint | number | string | undefined;
  /** Ends the stream (the iteration returns). */
  readonly signal?: AbortSignal | undefined;
  /** Delays between reconnection attempts (exponential backoff with full jitter). */
  readonly reconnect?:
    | { readonly initialDelayMs?: number | undefined; readonly maxDelayMs?: number | undefined }
    | undefined;
}

/**
 * Errors a reconnection cannot fix: the stream ends with them. OUT_OF_RANGE means events after
 * the cursor were deleted by the server's retention (resuming would skip them).
 */
const FATAL = new Set<Code>([
  Code.InvalidArgument,
  Code.OutOfRange,
  Code.Unauthenticated,
  Code.PermissionDenied,
  Code.Unimplemented,
]);

/**
 * A resumable event stream: iterate it with `for await`. After a disconnect (the server
 * restarted, the network failed) it subscribes again after the last cursor it saw — from an
 * event or a checkpoint — so the iteration sees each matching event once, in cursor order.
 * `cursor` is where to resume in a later process (persist it with your own state).
 */
export class EventStream implements AsyncIterable<MetronomeEvent> {
  private position: bigint | undefined;
  private isLive = false;
  private readonly controller = new AbortController();
  private iterating = false;

  constructor(
    private readonly client: Client<typeof EventService>,
    private readonly options: SubscribeOptions,
    private readonly headers: Record<string, string> = {},
  ) {
    if (options.afterCursor !== undefined) {
      const c = BigInt(options.afterCursor);
      if (c < 0n) throw new RangeError("afterCursor must not be negative");
      this.position = c;
    }
    options.signal?.addEventListener("abort", () => {
      this.controller.abort();
    });
  }

  /**
   * The position of the last event handed to the iteration (or of the last message, which may
   * move it on past events that did not match): resume after it. It moves when an event is
   * handed out, before the loop body has handled it; a consumer that must not skip an event it
   * failed to handle saves `event.cursor` itself once it has handled the event. Undefined before
   * the first message.
   */
  get cursor(): bigint | undefined {
    return this.position;
  }

  /** Whether the stored backlog has been delivered (the stream follows live events). */
  get live(): boolean {
    return this.isLive;
  }

  private readonly liveWaiters = new Set<() => void>();
  /** The iteration has ended (closed, or a fatal error). */
  private ended = false;

  /**
   * Resolves once the stream is live: the backlog was delivered and events committed from now
   * on will follow (while it is being iterated).
   */
  whenLive(): Promise<void> {
    if (this.isLive || this.ended || this.closed) return Promise.resolve();
    return new Promise((resolve) => this.liveWaiters.add(resolve));
  }

  private get closed(): boolean {
    return this.controller.signal.aborted;
  }

  /** Ends the iteration (an event being handed out is the last one). */
  close(): void {
    this.controller.abort();
    for (const w of this.liveWaiters) w();
    this.liveWaiters.clear();
  }

  private request() {
    const f = this.options.filter ?? {};
    const names =
      f.types === undefined ? [] : typeof f.types === "number" ? typesOfMask(f.types) : f.types;
    // Every type is asked as no type filter, so that a server older than this SDK (which does
    // not know the newest types) accepts the request.
    const all = TYPE_NAMES.every((t) => names.includes(t));
    const types = all ? [] : names.map((t) => PB_TYPE.get(t) ?? PbEventType.UNSPECIFIED);
    return {
      filter: {
        schedulers: [...(f.schedulers ?? [])],
        jobIds: [...(f.jobIds ?? [])],
        handlers: [...(f.handlers ?? [])],
        types,
      },
      start:
        this.position === undefined
          ? { case: "fromNow" as const, value: true }
          : { case: "afterCursor" as const, value: this.position },
    };
  }

  [Symbol.asyncIterator](): AsyncIterator<MetronomeEvent> {
    if (this.iterating) throw new Error("an EventStream can be iterated once");
    this.iterating = true;
    return this.iterate();
  }

  private async *iterate(): AsyncGenerator<MetronomeEvent> {
    try {
      yield* this.follow();
    } finally {
      this.ended = true;
      // Whoever waits for the stream to be live stops waiting when it ends.
      for (const w of this.liveWaiters) w();
      this.liveWaiters.clear();
    }
  }

  private async *follow(): AsyncGenerator<MetronomeEvent> {
    const signal = this.controller.signal;
    const initial = this.options.reconnect?.initialDelayMs ?? 200;
    const max = this.options.reconnect?.maxDelayMs ?? 10_000;
    let failures = 0;
    while (!signal.aborted) {
      try {
        const responses: AsyncIterable<SubscribeResponse> = this.client.subscribe(this.request(), {
          signal,
          headers: this.headers,
        });
        for await (const res of responses) {
          failures = 0;
          for (const pb of res.events) {
            // Closed while a message was being handed out: its other events are not.
            if (this.closed) return;
            this.position = pb.cursor;
            const event = eventFromProto(pb);
            if (event !== undefined) yield event;
          }
          this.position = res.cursor;
          this.isLive = res.live;
          if (res.live) {
            for (const w of this.liveWaiters) w();
            this.liveWaiters.clear();
          }
        }
      } catch (err) {
        if (this.closed) break;
        const e = ConnectError.from(err);
        if (FATAL.has(e.code)) throw toMetronomeError(e);
      }
      if (this.closed) break;
      // The stream ended (the server shut down) or failed: subscribe again after a pause.
      this.isLive = false;
      failures++;
      const delay = Math.random() * Math.min(max, initial * 2 ** (failures - 1));
      await sleep(delay, signal);
    }
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done);
  });
}
