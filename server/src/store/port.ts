/**
 * The store port: everything the server keeps, in the scheduler's terms. Management, the engine,
 * dispatch, the event log and the hub see only these interfaces; no connection, transaction, SQL
 * or driver type appears in them. Each method is one atomic operation: what it changes, and the
 * events it records, commit together or not at all.
 *
 * Implementations: the SQL stores (sql/store.ts; mysql/ for several nodes, sqlite/ for one).
 * A new store (PostgreSQL, Redis) implements this file and passes the contract suite in
 * test/store/contract/ (docs/storage.md).
 *
 * Conventions:
 * - `now` is always passed in (the engine's clock), never read from the database.
 * - Decisions are pure domain functions: a store applies run transitions from
 *   domain/run-transitions.ts; where the engine decides (which fire times become runs, the run of a
 *   manual request), the decision is passed in as a pure function of what the store read.
 * - `events` makes the events of a change from what the operation did; the store writes them in
 *   the same transaction (and calls them once, after the change is decided, before it commits).
 * - Operations the engine runs in batches take and answer batches.
 */
import type { JobPlan } from "../domain/claim-plan.js";
import type { EventDraft } from "../domain/events.js";
import type { Job, Scheduler } from "../domain/jobs.js";
import type { Lease, Outcome, Run, RunStatus } from "../domain/runs.js";
import type { EventStore } from "./port-events.js";
import type { IdempotencyStore } from "./port-idempotency.js";
import type { KeyStore } from "./port-keys.js";
import type { ChangeFeed, ClusterRegistry, WorkerRegistry } from "./port-nodes.js";

export type * from "./port-events.js";
export type * from "./port-idempotency.js";
export type * from "./port-keys.js";
export type * from "./port-nodes.js";

/** The events an operation records in its own transaction, made from what it did. */
export type EventsOf<T> = (result: T) => readonly EventDraft[];

// ---- jobs and schedulers ----

export type JobOrder = "next_run_time" | "id";

export interface ListJobsQuery {
  readonly scheduler?: string | undefined;
  readonly handler?: string | undefined;
  readonly paused?: boolean | undefined;
  readonly idPrefix?: string | undefined;
  readonly namePrefix?: string | undefined;
  readonly orderBy: JobOrder;
  readonly pageSize: number;
  /** Keyset position from a previous page (`nextPageToken`). */
  readonly pageToken?: string | undefined;
}

export interface Page<T> {
  readonly items: T[];
  /** Empty when there are no more items. */
  readonly nextPageToken: string;
}

export interface DeleteJobOptions {
  /** Delete only the job at this version. */
  readonly expectedVersion?: number | undefined;
  /**
   * Also cancel the job's pending runs as of this time (runs prepared ahead for later fire times
   * are withdrawn): removing a job. Running runs go on (as in APScheduler, removing a job does
   * not stop an execution in progress).
   */
  readonly cancelPendingRunsAt?: number | undefined;
  /** The events of the deletion: the job deleted, and the runs it cancelled. */
  readonly events?:
    ((deleted: Job, cancelled: readonly Run[]) => readonly EventDraft[]) | undefined;
}

export interface DeleteAllJobsOptions {
  /** Also cancel the scheduler's pending runs as of this time (see DeleteJobOptions). */
  readonly cancelPendingRunsAt?: number | undefined;
  /**
   * Cancel at most this many pending runs with the jobs (those due first); the rest are left to
   * cancelPendingRuns, in transactions of their own. All of them when absent.
   */
  readonly cancelLimit?: number | undefined;
  readonly events?:
    ((deleted: number, cancelled: readonly Run[]) => readonly EventDraft[]) | undefined;
}

/** Which pending runs of a scheduler cancelPendingRuns cancels, and with which events. */
export interface CancelPendingRunsOptions {
  /** The time of the cancellation; runs prepared ahead for later fire times are withdrawn. */
  readonly now: number;
  /** Only runs whose id sorts before this one (run ids begin with their creation time). */
  readonly idBefore: string;
  /** At most this many runs (those due first). */
  readonly limit: number;
  readonly events?: ((cancelled: readonly Run[]) => readonly EventDraft[]) | undefined;
}

export interface SchedulerStore {
  getScheduler(name: string): Promise<Scheduler | null>;
  /** By name. */
  listSchedulers(): Promise<Scheduler[]>;
  /** Insert a scheduler; false when one of that name exists already. */
  insertScheduler(scheduler: Scheduler): Promise<boolean>;
  /**
   * Read a scheduler under a lock, apply `change` and write its result (unless it returns the
   * same object) with the events `events` makes of the change. Concurrent changes queue instead
   * of failing, so none is lost. `change` may throw to abort. Null when it does not exist.
   */
  updateScheduler(
    name: string,
    change: (current: Scheduler) => Scheduler,
    events?: (before: Scheduler, after: Scheduler) => readonly EventDraft[],
  ): Promise<Scheduler | null>;
  /** The names of the paused schedulers (their jobs are not claimed, their runs not handed out). */
  pausedSchedulers(): Promise<string[]>;
}

export interface JobStore {
  /** Insert a job with its events; false (nothing written) when (scheduler, id) exists. */
  insertJob(job: Job, events?: readonly EventDraft[]): Promise<boolean>;
  /**
   * insertJob, with the other nodes' sessions serving the job's handler at `now` read in the
   * same transaction (as getJobServed; undefined when they were not read). Optional: a store
   * without it has the two read apart.
   */
  insertJobServed?(
    job: Job,
    events: readonly EventDraft[],
    now: number,
    exceptNode: string,
  ): Promise<{ inserted: boolean; remoteWorkers: number | undefined }>;
  getJob(scheduler: string, id: string): Promise<Job | null>;
  /**
   * getJob, with what Job.worker_count needs from the store read in the same statement: how
   * many unexpired worker sessions of nodes other than `exceptNode` serve the job's handler at
   * `now` (as WorkerRegistry.servingSessions counts them). Optional: a store without it has the
   * two read apart. Null when the job does not exist.
   */
  getJobServed?(
    scheduler: string,
    id: string,
    now: number,
    exceptNode: string,
  ): Promise<{ job: Job; remoteWorkers: number } | null>;
  listJobs(query: ListJobsQuery): Promise<Page<Job>>;
  /** How many jobs the scheduler holds (the limit on jobs per scheduler reads it). */
  countJobs(scheduler: string): Promise<number>;
  /**
   * The locked read-modify-write of a job (`change` is pure; returning its argument means "no
   * change"), written with the events `events` makes of the new job when it changed. With `now`,
   * runs prepared ahead for the job (fire times after `now`) are withdrawn if the job changes, and
   * its next_run_time rewound to the first of them before `change` sees it, so the change applies
   * to those fire times too. Null when the job does not exist.
   */
  updateJob(
    scheduler: string,
    id: string,
    change: (current: Job) => Job,
    now?: number,
    events?: (after: Job) => readonly EventDraft[],
  ): Promise<Job | null>;
  /** Delete a job (see DeleteJobOptions); false when nothing was deleted. */
  deleteJob(scheduler: string, id: string, options?: DeleteJobOptions): Promise<boolean>;
  /** Delete every job of a scheduler; answers how many. */
  deleteAllJobs(scheduler: string, options?: DeleteAllJobsOptions): Promise<number>;
  /**
   * Cancel some pending runs of a scheduler in one transaction (withdrawing those prepared
   * ahead): the rest of a RemoveAllJobs whose runs did not fit in its own. Answers how many it
   * cancelled; fewer than `limit` means none of them is left.
   */
  cancelPendingRuns(scheduler: string, options: CancelPendingRunsOptions): Promise<number>;
}

// ---- firing: claims and manual runs ----

/**
 * What one claim decided for one job (its runs, its next run time, what it keeps of the runs
 * prepared ahead: domain/claim-plan.ts); null: the job cannot be planned (it is paused).
 */
export type PlanFn = (job: Job) => JobPlan | null;

export interface ClaimRequest {
  /** Jobs with next_run_time up to this instant are claimed. */
  readonly horizon: number;
  /** The most jobs one claim takes. */
  readonly limit: number;
  /** Turns a claimed job's fire times into runs (pending, missed or skipped). */
  readonly plan: PlanFn;
  /**
   * Only jobs with next_run_time >= this are claimed: the position of a drain, the `through` of
   * the previous claim when it was full. Jobs due before it wait for a claim without it. (On SQL
   * the due jobs the previous claims advanced leave index entries behind until InnoDB or
   * PostgreSQL purge them, and a claim from the start of the range steps over every one of
   * them.) A store may ignore it.
   */
  readonly after?: number;
}

export interface ClaimResult {
  /** Jobs claimed (due and locked by this operation). */
  readonly jobs: number;
  /**
   * Runs created, and the runs a coalesced run among them ended (missed: domain/claim-plan.ts,
   * foldIntoCoalesced).
   */
  readonly runs: Run[];
  /** Runs not created because one exists for the same job and fire time. */
  readonly ignored: number;
  /** The paused schedulers, as the claim read them. */
  readonly paused: readonly string[];
  /**
   * Jobs removed because their trigger has no fire time left (once their last run is due: a
   * job whose last run was prepared ahead stays until then, and a later claim removes it).
   */
  readonly ended: readonly Job[];
  /** Jobs paused because they cannot be planned. */
  readonly broken: readonly Job[];
  /**
   * The largest next_run_time of the jobs claimed, where the store claims in next_run_time order
   * and honours `after` (the next claim of a drain may start there).
   */
  readonly through?: number;
}

export interface DueJob {
  readonly scheduler: string;
  readonly id: string;
  readonly handler: string;
  readonly nextRunTime: number;
}

export interface FiringStore {
  /**
   * Claims up to `limit` jobs due by `horizon` (their scheduler not paused) so that no other node
   * claims them at the same time, turns their fire times into runs as `plan` decides, advances
   * their next_run_time, removes jobs whose trigger has ended and pauses those that cannot be
   * planned. A run that exists already for the same job and fire time is not created again.
   */
  claimDueJobs(request: ClaimRequest, events?: EventsOf<ClaimResult>): Promise<ClaimResult>;
  /** The earliest next_run_time of a job whose scheduler is not in `paused`. */
  nextDueTime(paused: readonly string[]): Promise<number | null>;
  /** Jobs of these schedulers due by `horizon`, earliest first. */
  dueJobsOf(schedulers: readonly string[], horizon: number, limit: number): Promise<DueJob[]>;
  /**
   * A manual run of a job, made by `make` from the job as locked (`shift`: milliseconds to add to
   * its time when a run of the same job and time exists). Null when the job does not exist.
   */
  createManualRun(
    scheduler: string,
    jobId: string,
    make: (job: Job, shift: number) => Run,
  ): Promise<Run | null>;
  /**
   * A scheduler paused since `since` is about to be resumed: the runs prepared before the pause
   * for fire times during or after it are withdrawn and their jobs' next_run_time rewound to the
   * first of them, so those fire times go through the misfire rules like the pause's others.
   * Answers how many runs were withdrawn.
   */
  withdrawPreparedRuns(scheduler: string, since: number): Promise<number>;
}

// ---- runs: leases, results, cancels, sweeps ----

export interface LeaseRequest {
  readonly now: number;
  /** Free slots per handler (already bounded by the worker's total). */
  readonly slots: ReadonlyMap<string, number>;
  readonly total: number;
  readonly workerId: string;
  readonly leaseToken: string;
  readonly leaseMs: number;
  /** Paused schedulers, whose runs wait. */
  readonly paused: readonly string[];
  /**
   * Runs due by this instant (>= now) are leased; those due after now are leased ahead, to be
   * sent at their due time by the session's node: their start, lease and timeout count from it.
   * Only first attempts of jobs with none running are leased ahead.
   */
  readonly dueBy?: number;
  /**
   * Handlers no session of the node has a free slot for, each with the due time up to which the
   * node looked at their runs before: their pending first attempts due after it and by now (at
   * most BUSY_LIMIT each) are read only for max_instances, which is decided at a fire's time
   * whether a slot is free or not. Skipped if their job has max_instances runs running, else left
   * pending for a slot (past their grace, missed). Nothing of theirs is taken.
   */
  readonly busy?: ReadonlyMap<string, number>;
  /**
   * Per handler, since when the node's sessions have served it without a gap. A coalescing job's
   * fire whose first attempt came due before then waited while no worker here served it: if a
   * later fire of its job is due too, it folds into the latest (domain/hand-out.ts). Absent: no
   * run folds.
   */
  readonly servedSince?: ReadonlyMap<string, number>;
}

/** The most runs of one busy handler (LeaseRequest.busy) one hand-out reads. */
export const BUSY_LIMIT = 1000;

export interface LeaseResult {
  /** Runs now running under the lease. */
  readonly taken: Run[];
  /**
   * Runs ended at hand-out: skipped (max_instances runs of their job running) or missed (their
   * misfire grace ran out while they waited).
   */
  readonly ended: Run[];
}

export type Verdict =
  /** `recorded`: by this call (false: a repeat of a result recorded before). */
  | { readonly accepted: true; readonly run: Run; readonly recorded: boolean }
  | {
      readonly accepted: false;
      readonly reason: "lease_expired" | "cancelled" | "timed_out" | "unknown_lease";
      readonly run: Run | null;
    };

export interface LeaseState {
  readonly status: RunStatus;
  readonly reason: string;
  /** Still the run's current running lease. */
  readonly current: boolean;
}

export type CancelOutcome =
  | { readonly kind: "not_found" }
  | { readonly kind: "final"; readonly run: Run }
  | {
      readonly kind: "cancelled";
      readonly run: Run;
      readonly wasRunning: boolean;
      /** By this call (false: it was cancelled before). */
      readonly changed: boolean;
    };

export interface SweepRequest {
  readonly now: number;
  /** The most runs of each kind one sweep handles. */
  readonly limit: number;
  /** Pending runs past their misfire grace become missed. */
  readonly misfires: boolean;
  /** Running runs whose lease expired are retried or failed. */
  readonly leases: boolean;
}

export interface SweepResult {
  readonly missed: Run[];
  readonly expired: Run[];
  readonly timedOut: Run[];
}

export interface ListRunsQuery {
  readonly scheduler: string;
  readonly jobId?: string | undefined;
  readonly statuses: readonly RunStatus[];
  readonly limit: number;
  /** Keyset: runs strictly before (scheduled_time, id) in the descending order. */
  readonly after?: { readonly scheduledTime: number; readonly id: string } | undefined;
}

/** How many runs are pending (due or later) and running, per scheduler: for metrics. */
export interface ActiveRunCount {
  readonly scheduler: string;
  readonly state: "due" | "later" | "running";
  readonly count: number;
}

export interface RunStore {
  /**
   * Hands due pending runs of the request's handlers to one worker, each running under the given
   * lease, so that no other node hands them out too. This is when max_instances is decided: a
   * run whose job has that many running is skipped. Runs past their misfire grace are missed.
   */
  leaseRuns(request: LeaseRequest, events?: EventsOf<LeaseResult>): Promise<LeaseResult>;
  /** Hands back runs leased ahead and never sent (handedBack); answers how many. */
  releaseLeases(now: number, leases: readonly Lease[]): Promise<number>;
  /**
   * The earliest due time of a pending run of these handlers outside `paused` (only of those due
   * after `after` when given).
   */
  nextPendingDue(
    handlers: readonly string[],
    paused: readonly string[],
    after?: number,
  ): Promise<number | null>;
  /**
   * Extends the leases that are still their run's current, unexpired lease to now + leaseMs
   * (moving them to `workerId`); answers the others (lost).
   */
  extendLeases(
    now: number,
    leases: readonly Lease[],
    leaseMs: number,
    workerId: string,
  ): Promise<Lease[]>;
  /** For each lease (by run id): is it still its run's current running lease? */
  leaseStates(leases: readonly Lease[]): Promise<Map<string, LeaseState>>;
  /** The handler of each of these runs (by run id). */
  runHandlers(runIds: readonly string[]): Promise<Map<string, string>>;
  /**
   * Records the outcomes of attempts, one verdict per item in order. Each is accepted only for
   * its run's current lease (run id, attempt and token, run still running: fencing); a repeat of
   * an accepted result for the same lease is accepted again without a change.
   */
  completeRuns(
    now: number,
    items: readonly { readonly lease: Lease; readonly outcome: Outcome }[],
    events?: EventsOf<Verdict[]>,
  ): Promise<Verdict[]>;
  /** Ends one attempt as timed out if it still runs under this lease; null otherwise. */
  timeOutRun(now: number, lease: Lease, events?: EventsOf<Run | null>): Promise<Run | null>;
  /** Cancels a pending or running run. */
  cancelRun(
    now: number,
    runId: string,
    reason: string,
    events?: EventsOf<CancelOutcome>,
  ): Promise<CancelOutcome>;
  /**
   * One pass of the sweeper, up to `limit` runs of each kind: pending runs past their misfire
   * grace become missed, running runs whose lease expired are retried or failed, running runs
   * past their timeout become timed_out.
   */
  sweep(request: SweepRequest, events?: EventsOf<SweepResult>): Promise<SweepResult>;
  /** Retention: deletes up to `limit` ended runs fired before `before`; answers how many. */
  deleteOldRuns(before: number, limit: number): Promise<number>;
  getRun(runId: string): Promise<Run | null>;
  /** A scheduler's runs, newest fire time first. */
  listRuns(query: ListRunsQuery): Promise<Run[]>;
  /** Pending runs due by `now` or later, and running runs, counted per scheduler. */
  countActiveRuns(now: number): Promise<ActiveRunCount[]>;
}

// ---- the whole ----

/** A database connection pool's use (metrics). */
export interface PoolStat {
  readonly pool: string;
  /** Connections open (in use or idle). */
  readonly open: number;
  readonly idle: number;
  /** Requests waiting for a connection. */
  readonly waiting: number;
  /** The most connections the pool opens. */
  readonly limit: number;
}

export interface StoreLifecycle {
  /** Applies pending schema migrations (serialised across nodes). */
  migrate(): Promise<void>;
  /** How many of this build's migrations the store has not applied. */
  pendingMigrations(): Promise<number>;
  /** A round trip to the database. */
  ping(): Promise<void>;
  /** The use of the store's connection pools, where it has pools (optional: metrics). */
  poolStats?(): readonly PoolStat[];
  close(): Promise<void>;
}

/** What management needs: jobs and schedulers. */
export type ManagementStore = SchedulerStore & JobStore;

export interface Store
  extends
    StoreLifecycle,
    SchedulerStore,
    JobStore,
    FiringStore,
    RunStore,
    EventStore,
    WorkerRegistry,
    ChangeFeed,
    ClusterRegistry,
    KeyStore {
  /** Idempotency keys (port-idempotency.ts); absent where the store has none (Redis Cluster). */
  readonly idempotency?: IdempotencyStore | undefined;
}
