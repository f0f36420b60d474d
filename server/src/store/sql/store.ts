/**
 * The store port (port.ts) over SQL: each method runs one operation module of this folder on
 * one of the store's runners. MySQL and SQLite subclass it with their connections, migrations
 * and (MySQL) hot paths; the SQL is the same.
 */
import type { EventDraft, EventMatcher } from "../../domain/events.js";
import type { Job, Scheduler } from "../../domain/jobs.js";
import type { ApiKeyRecord } from "../../domain/keys.js";
import type { Lease, Outcome, Run } from "../../domain/runs.js";
import { isDuplicate } from "../errors.js";
import type {
  ActiveRunCount,
  CancelOutcome,
  ClaimRequest,
  ClaimResult,
  CancelPendingRunsOptions,
  DeleteAllJobsOptions,
  DeleteJobOptions,
  DueJob,
  EventsOf,
  EventsRead,
  IdempotencyStore,
  LeaseRequest,
  LeaseResult,
  LeaseState,
  ListJobsQuery,
  ListRunsQuery,
  LogState,
  Page,
  NodeRecord,
  Sequenced,
  SessionRecord,
  Store,
  StoreChange,
  StoredNode,
  SweepRequest,
  SweepResult,
  Verdict,
} from "../port.js";
import type { Dialect } from "./dialect.js";
import { appendEvents, withEvents } from "./events/append-events.js";
import { hasUnsequenced } from "./events/has-unsequenced.js";
import { logState } from "./events/log-state.js";
import { pruneEvents } from "./events/prune-events.js";
import { readEvents } from "./events/read-events.js";
import { sequenceEvents, sequenceEventsRead, sequencedEvents } from "./events/sequence-events.js";
import { claimDueJobs } from "./firing/claim-due-jobs.js";
import { createManualRun } from "./firing/create-manual-run.js";
import { dueJobsOf } from "./firing/due-jobs-of.js";
import { nextDueTime } from "./firing/next-due-time.js";
import { withdrawPreparedRuns } from "./firing/withdraw-prepared-runs.js";
import { cancelSchedulerRuns, deleteAllJobs } from "./jobs/delete-all-jobs.js";
import { deleteJob } from "./jobs/delete-job.js";
import { countJobs } from "./jobs/count-jobs.js";
import { getJob } from "./jobs/get-job.js";
import { insertJob } from "./jobs/insert-job.js";
import { listJobs } from "./jobs/list-jobs.js";
import { updateJob } from "./jobs/update-job.js";
import { isMissingTable, lastMigration, migrationsAfter } from "./pending-migrations.js";
import type { SequencedRows, SqlRunner } from "./runner.js";
import { CommittedListeners } from "./events/committed-listeners.js";
import { keyedRunner } from "./keyed-runner.js";
import { sqlIdempotencyStore } from "./idempotency/idempotency-store.js";
import { cancelRun } from "./runs/cancel-run.js";
import { countActiveRuns } from "./runs/count-active-runs.js";
import { completeRuns } from "./runs/complete-runs.js";
import { deleteOldRuns } from "./runs/delete-old-runs.js";
import { extendLeases } from "./runs/extend-leases.js";
import { getRun } from "./runs/get-run.js";
import { leaseRuns } from "./runs/lease-runs.js";
import { leaseStates } from "./runs/lease-states.js";
import { listRuns } from "./runs/list-runs.js";
import { nextPendingDue } from "./runs/next-pending-due.js";
import { releaseLeases } from "./runs/release-leases.js";
import { runHandlers } from "./runs/run-handlers.js";
import { sweep } from "./runs/sweep.js";
import { timeOutRun } from "./runs/time-out-run.js";
import { getScheduler } from "./schedulers/get-scheduler.js";
import { insertScheduler } from "./schedulers/insert-scheduler.js";
import { listSchedulers } from "./schedulers/list-schedulers.js";
import { pausedSchedulers } from "./schedulers/paused-schedulers.js";
import { updateScheduler } from "./schedulers/update-scheduler.js";
import { listNodes } from "./cluster/list-nodes.js";
import { getKey } from "./keys/get-key.js";
import { insertKey } from "./keys/insert-key.js";
import { listKeys } from "./keys/list-keys.js";
import { revokeKey } from "./keys/revoke-key.js";
import { deleteExpiredNodes, recordNode, removeNode } from "./cluster/record-node.js";
import { deleteExpiredSessions } from "./workers/delete-expired-sessions.js";
import { refreshSessions } from "./workers/refresh-sessions.js";
import { registerSession } from "./workers/register-session.js";
import { servingSessions } from "./workers/serving-sessions.js";
import { unregisterSession } from "./workers/unregister-session.js";

/**
 * Where each kind of operation runs. On MySQL three pools, so that the engine's load does not
 * delay the API or the event log; on SQLite one connection for all.
 */
export interface SqlRunners {
  /** Management's reads and writes of jobs and schedulers. */
  readonly api: SqlRunner;
  /** The engine's and dispatch's operations (claims, leases, results, sweeps, the registry). */
  readonly engine: SqlRunner;
  /** The event log's sequencing, reads and retention. */
  readonly events: SqlRunner;
}

export abstract class SqlStore implements Store {
  private readonly listeners = new CommittedListeners();
  private readonly runners: SqlRunners;
  /** Idempotency keys' records (port-idempotency.ts). */
  readonly idempotency: IdempotencyStore;

  protected constructor(
    protected readonly dialect: Dialect,
    runners: SqlRunners,
  ) {
    // Management's changes (on the API's and the engine's runners) carry the key of a keyed
    // call in their transactions (keyed-runner.ts).
    this.runners = {
      api: keyedRunner(runners.api, dialect),
      engine: keyedRunner(runners.engine, dialect),
      events: runners.events,
    };
    this.idempotency = sqlIdempotencyStore(dialect, runners.api);
    for (const r of new Set([runners.api, runners.engine, runners.events]))
      r.onEventsCommitted((events, sequenced) => {
        this.eventsCommitted(events, sequenced);
      });
  }

  /** Where the store tells other nodes of a change (none here: they poll). */
  // eslint-disable-next-line @typescript-eslint/no-unused-vars
  protected announce(change: StoreChange): void {
    // MySQL and SQLite have no notices: other nodes find the change at their next poll.
  }

  /** A store that hears other nodes' changes overrides this (see port.ts, ChangeFeed). */
  // eslint-disable-next-line @typescript-eslint/no-unused-vars
  onChange(listener: (change: StoreChange) => void): void {
    // Never called: see announce.
  }

  /** Announces `change` once `op` succeeded and `when` holds for its result. */
  private async announcing<T>(
    change: StoreChange,
    op: Promise<T>,
    when: (value: T) => boolean = () => true,
  ): Promise<T> {
    const value = await op;
    if (when(value)) this.announce(change);
    return value;
  }

  abstract migrate(): Promise<void>;
  abstract ping(): Promise<void>;
  abstract close(): Promise<void>;

  private get api(): SqlRunner {
    return this.runners.api;
  }

  private get engine(): SqlRunner {
    return this.runners.engine;
  }

  private get log(): SqlRunner {
    return this.runners.events;
  }

  /**
   * Subclasses that write events outside the runners (a hot path) call this after commit, with
   * what the commit sequenced if it gave the events their cursors.
   */
  protected eventsCommitted(events: readonly EventDraft[], sequenced?: SequencedRows): void {
    if (sequenced !== undefined) this.announce("events");
    this.listeners.tell(events, sequenced);
  }

  /**
   * EventStore.onEventsSequenced, for the subclasses whose runners give cursors at commit (the
   * others never call the listener).
   */
  protected listenSequenced(listener: (s: Sequenced) => void, wants: () => boolean): void {
    this.listeners.onSequenced(listener, wants);
  }

  async pendingMigrations(): Promise<number> {
    let last = Number.NEGATIVE_INFINITY;
    try {
      last = await this.engine.autocommit(lastMigration);
    } catch (err) {
      if (!isMissingTable(err)) throw err;
    }
    return migrationsAfter(this.dialect.name, last);
  }

  // ---- schedulers ----

  getScheduler(name: string): Promise<Scheduler | null> {
    return this.api.autocommit(() => getScheduler(name));
  }

  listSchedulers(): Promise<Scheduler[]> {
    return this.api.autocommit(listSchedulers);
  }

  insertScheduler(scheduler: Scheduler): Promise<boolean> {
    return falseOnDuplicate(this.api.autocommit(() => insertScheduler(scheduler)));
  }

  updateScheduler(
    name: string,
    change: (current: Scheduler) => Scheduler,
    events?: (before: Scheduler, after: Scheduler) => readonly EventDraft[],
  ): Promise<Scheduler | null> {
    return this.announcing(
      "jobs",
      this.api.tx(() => updateScheduler(this.dialect, name, change, events)),
      (s) => s !== null,
    );
  }

  pausedSchedulers(): Promise<string[]> {
    return this.engine.autocommit(pausedSchedulers);
  }

  // ---- jobs ----

  insertJob(job: Job, events: readonly EventDraft[] = []): Promise<boolean> {
    return this.announcing(
      "jobs",
      falseOnDuplicate(this.api.tx(() => insertJob(job, events))),
      (inserted) => inserted && job.nextRunTime !== null,
    );
  }

  getJob(scheduler: string, id: string): Promise<Job | null> {
    return this.api.autocommit(() => getJob(scheduler, id));
  }

  listJobs(query: ListJobsQuery): Promise<Page<Job>> {
    return this.api.autocommit(() => listJobs(query));
  }

  countJobs(scheduler: string): Promise<number> {
    return this.api.autocommit(() => countJobs(scheduler));
  }

  updateJob(
    scheduler: string,
    id: string,
    change: (current: Job) => Job,
    now?: number,
    events?: (after: Job) => readonly EventDraft[],
  ): Promise<Job | null> {
    return this.announcing(
      "jobs",
      this.engine.tx(() => updateJob(this.dialect, scheduler, id, change, now, events)),
      (job) => job !== null && job.nextRunTime !== null,
    );
  }

  deleteJob(scheduler: string, id: string, options: DeleteJobOptions = {}): Promise<boolean> {
    return this.api.tx(() => deleteJob(this.dialect, scheduler, id, options));
  }

  deleteAllJobs(scheduler: string, options: DeleteAllJobsOptions = {}): Promise<number> {
    return this.api.tx(() => deleteAllJobs(this.dialect, scheduler, options));
  }

  cancelPendingRuns(scheduler: string, options: CancelPendingRunsOptions): Promise<number> {
    return this.api.tx(() => cancelSchedulerRuns(this.dialect, scheduler, options));
  }

  // ---- firing ----

  claimDueJobs(request: ClaimRequest, events?: EventsOf<ClaimResult>): Promise<ClaimResult> {
    return this.announcing(
      "runs",
      this.engine.tx(() => withEvents(claimDueJobs(this.dialect, request), events)),
      (claimed) => claimed.runs.length > 0,
    );
  }

  nextDueTime(paused: readonly string[]): Promise<number | null> {
    return this.engine.autocommit(() => nextDueTime(paused));
  }

  dueJobsOf(schedulers: readonly string[], horizon: number, limit: number): Promise<DueJob[]> {
    return this.engine.autocommit(() => dueJobsOf(schedulers, horizon, limit));
  }

  createManualRun(
    scheduler: string,
    jobId: string,
    make: (job: Job, shift: number) => Run,
  ): Promise<Run | null> {
    return this.announcing(
      "runs",
      this.engine.tx(() => createManualRun(this.dialect, scheduler, jobId, make)),
      (run) => run !== null,
    );
  }

  withdrawPreparedRuns(scheduler: string, since: number): Promise<number> {
    return this.announcing(
      "jobs",
      this.engine.tx(() => withdrawPreparedRuns(this.dialect, scheduler, since)),
      (n) => n > 0,
    );
  }

  // ---- runs ----

  leaseRuns(request: LeaseRequest, events?: EventsOf<LeaseResult>): Promise<LeaseResult> {
    return this.engine.tx(() => withEvents(leaseRuns(this.dialect, request), events));
  }

  releaseLeases(now: number, leases: readonly Lease[]): Promise<number> {
    return this.announcing(
      "runs",
      this.engine.tx(() => releaseLeases(now, leases)),
      (n) => n > 0,
    );
  }

  nextPendingDue(
    handlers: readonly string[],
    paused: readonly string[],
    after?: number,
  ): Promise<number | null> {
    return this.engine.autocommit(() => nextPendingDue(handlers, paused, after));
  }

  extendLeases(
    now: number,
    leases: readonly Lease[],
    leaseMs: number,
    workerId: string,
  ): Promise<Lease[]> {
    return this.engine.autocommit(() => extendLeases(now, leases, leaseMs, workerId));
  }

  leaseStates(leases: readonly Lease[]): Promise<Map<string, LeaseState>> {
    return this.engine.autocommit(() => leaseStates(leases));
  }

  runHandlers(runIds: readonly string[]): Promise<Map<string, string>> {
    return this.engine.autocommit(() => runHandlers(runIds));
  }

  completeRuns(
    now: number,
    items: readonly { readonly lease: Lease; readonly outcome: Outcome }[],
    events?: EventsOf<Verdict[]>,
  ): Promise<Verdict[]> {
    // A failed attempt with retries left is pending again.
    return this.announcing(
      "runs",
      this.engine.tx(() => withEvents(completeRuns(this.dialect, now, items), events)),
      (verdicts) => verdicts.some((v) => v.run?.status === "pending"),
    );
  }

  timeOutRun(now: number, lease: Lease, events?: EventsOf<Run | null>): Promise<Run | null> {
    return this.engine.tx(() => withEvents(timeOutRun(this.dialect, now, lease), events));
  }

  cancelRun(
    now: number,
    runId: string,
    reason: string,
    events?: EventsOf<CancelOutcome>,
  ): Promise<CancelOutcome> {
    return this.engine.tx(() => withEvents(cancelRun(this.dialect, now, runId, reason), events));
  }

  sweep(request: SweepRequest, events?: EventsOf<SweepResult>): Promise<SweepResult> {
    return this.announcing(
      "runs",
      this.engine.tx(() => withEvents(sweep(this.dialect, request), events)),
      (swept) => [...swept.expired, ...swept.timedOut].some((r) => r.status === "pending"),
    );
  }

  deleteOldRuns(before: number, limit: number): Promise<number> {
    return this.engine.tx(() => deleteOldRuns(before, limit));
  }

  getRun(runId: string): Promise<Run | null> {
    return this.engine.autocommit(() => getRun(runId));
  }

  listRuns(query: ListRunsQuery): Promise<Run[]> {
    return this.engine.autocommit(() => listRuns(query));
  }

  // ---- events ----

  appendEvents(events: readonly EventDraft[]): Promise<void> {
    return this.engine.tx(() => appendEvents(events));
  }

  onEventsCommitted(listener: (events: readonly EventDraft[], sequenced: boolean) => void): void {
    this.listeners.onCommitted(listener);
  }

  sequenceEvents(limit: number): Promise<number> {
    return this.announcing(
      "events",
      this.log.tx(() => sequenceEvents(this.dialect, limit)),
      (n) => n > 0,
    );
  }

  async sequenceEventsRead(limit: number): Promise<Sequenced> {
    return sequencedEvents(
      await this.announcing(
        "events",
        this.log.tx(() => sequenceEventsRead(this.dialect, limit)),
        (s) => s.count > 0,
      ),
    );
  }

  hasUnsequenced(): Promise<boolean> {
    return this.log.autocommit(hasUnsequenced);
  }

  logState(): Promise<LogState> {
    return this.log.autocommit(logState);
  }

  readEvents(
    after: number,
    upTo: number,
    limit: number,
    matcher?: EventMatcher,
  ): Promise<EventsRead> {
    return this.log.autocommit(() => readEvents(after, upTo, limit, matcher));
  }

  pruneEvents(before: number, limit: number): Promise<number> {
    return this.log.tx(() => pruneEvents(this.dialect, before, limit));
  }

  // ---- the worker registry ----

  registerSession(
    session: SessionRecord,
    expiresAt: number,
    events: readonly EventDraft[] = [],
  ): Promise<void> {
    return this.engine.tx(() => registerSession(session, expiresAt, events));
  }

  unregisterSession(sessionId: string, events: readonly EventDraft[] = []): Promise<void> {
    return this.engine.tx(() => unregisterSession(sessionId, events));
  }

  refreshSessions(sessionIds: readonly string[], expiresAt: number): Promise<void> {
    return this.engine.tx(() => refreshSessions(sessionIds, expiresAt));
  }

  servingSessions(
    handlers: readonly string[],
    now: number,
    exceptNode: string,
  ): Promise<Map<string, number>> {
    return this.engine.autocommit(() => servingSessions(handlers, now, exceptNode));
  }

  deleteExpiredSessions(before: number): Promise<number> {
    return this.engine.tx(() => deleteExpiredSessions(before));
  }

  countActiveRuns(now: number): Promise<ActiveRunCount[]> {
    return this.api.autocommit(() => countActiveRuns(now));
  }

  // ---- the cluster ----

  recordNode(node: NodeRecord, expiresAt: number): Promise<void> {
    return this.api.tx(() => recordNode(node, expiresAt));
  }

  removeNode(nodeId: string): Promise<void> {
    return this.api.autocommit(() => removeNode(nodeId));
  }

  listNodes(now: number): Promise<StoredNode[]> {
    return this.api.autocommit(() => listNodes(now));
  }

  deleteExpiredNodes(before: number): Promise<number> {
    return this.api.autocommit(() => deleteExpiredNodes(before));
  }

  // ---- API keys ----

  insertKey(key: ApiKeyRecord, events: readonly EventDraft[] = []): Promise<boolean> {
    return falseOnDuplicate(this.api.tx(() => insertKey(key, events)));
  }

  getKey(id: string): Promise<ApiKeyRecord | null> {
    return this.api.autocommit(() => getKey(id));
  }

  listKeys(): Promise<ApiKeyRecord[]> {
    return this.api.autocommit(listKeys);
  }

  revokeKey(
    id: string,
    at: number,
    by: string,
    events?: (revoked: ApiKeyRecord) => readonly EventDraft[],
  ): Promise<{ readonly key: ApiKeyRecord; readonly revoked: boolean } | null> {
    return this.api.tx(() => revokeKey(this.dialect, id, at, by, events));
  }
}

/** An insert's answer: false when the key existed. */
async function falseOnDuplicate(insert: Promise<boolean>): Promise<boolean> {
  try {
    return await insert;
  } catch (err) {
    if (isDuplicate(err)) return false;
    throw err;
  }
}
