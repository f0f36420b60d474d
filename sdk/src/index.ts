/**
 * The Metronome TypeScript SDK (`@metronome/sdk`): the worker (register handlers, execute
 * runs), the client (schedulers, jobs, runs, events), the handler contract and the typed
 * errors. Unit tests of handlers use the testing entry (`@metronome/sdk/testing`,
 * testing/index.ts). The generated protobuf code stays under `gen/`.
 */
export type { JsonObject, JsonValue } from "@bufbuild/protobuf";
export {
  Worker,
  type ConnectedEvent,
  type DisconnectedEvent,
  type HandlerOptions,
  type StateChange,
  type StopOptions,
  type WorkerEvents,
  type WorkerOptions,
  type WorkerState,
} from "./worker/worker.js";
export { NonRetryableError, RunAbortedError, type AbortKind } from "./errors.js";
export type { LogFn, WorkerLogger } from "./logger.js";
export { SDK_NAME, SDK_VERSION } from "./version.js";
export { MetronomeClient, type ClientOptions } from "./client/client.js";
export type { TlsOptions } from "./transport.js";
export {
  Scheduler,
  type AddJobSpec,
  type HandlerRef,
  type JobChanges,
  type JobFilter,
  type Listener,
  type OptionsArg,
  type ScheduledJobOptions,
  type SchedulerSettings,
  type StringModeOptions,
} from "./client/scheduler.js";
export { SchedulerManager, DEFAULT_URL } from "./client/manager.js";
export {
  defineHandler,
  type Args,
  type Handler,
  type HandlerDef,
  type HandlerFn,
  type Kwargs,
  type RunContext,
} from "./handlers.js";
export type { ChangeOptions, Job, JobOptions, JobSettings, RetryOptions } from "./client/jobs.js";
export type { Run } from "./client/runs.js";
export { RUN_STATUS } from "./client/run-status.js";
export {
  AndTrigger,
  CronTrigger,
  CrontabTrigger,
  DateTrigger,
  IntervalTrigger,
  OrTrigger,
  Trigger,
  triggerOf,
  type CombinedOptions,
  type CronFields,
  type CronValue,
  type DateFields,
  type Instant,
  type IntervalFields,
  type TriggerFields,
  type TriggerKind,
} from "./client/triggers.js";
export {
  AlreadyExistsError,
  FailedPreconditionError,
  InvalidArgumentError,
  MetronomeError,
  NotFoundError,
  OutOfRangeError,
  PermissionDeniedError,
  ResourceExhaustedError,
  retryDelayOf,
  UnauthenticatedError,
  UnavailableError,
  toMetronomeError,
} from "./rpc-errors.js";
export { briefError, exitOnError } from "./exit-on-error.js";
export { EventStream, type SubscribeOptions } from "./client/event-stream.js";
export {
  eventCode,
  eventFromProto,
  typesOfMask,
  EVENT_ALL,
  EVENT_ALL_JOBS_REMOVED,
  EVENT_JOB_ADDED,
  EVENT_JOB_AT_RISK,
  EVENT_KEY_CREATED,
  EVENT_KEY_REVOKED,
  EVENT_JOB_ERROR,
  EVENT_JOB_EXECUTED,
  EVENT_JOB_MAX_INSTANCES,
  EVENT_JOB_MISSED,
  EVENT_JOB_MODIFIED,
  EVENT_JOB_REMOVED,
  EVENT_JOB_SUBMITTED,
  EVENT_RUN_CANCELLED,
  EVENT_SCHEDULER_PAUSED,
  EVENT_SCHEDULER_RESUMED,
  EVENT_SCHEDULER_SHUTDOWN,
  EVENT_SCHEDULER_STARTED,
  EVENT_WORKER_CONNECTED,
  EVENT_WORKER_DISCONNECTED,
  EVENT_TYPE_NAMES,
  type EventFilter,
  type EventTypeName,
  type JobAtRiskEvent,
  type KeyEvent,
  type JobEvent,
  type MetronomeEvent,
  type NodeEvent,
  type RunErrorInfo,
  type RunEvent,
  type RunStatusName,
  type SchedulerEvent,
  type WorkerEvent,
} from "./client/events.js";
