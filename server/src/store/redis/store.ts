/**
 * The Redis store (Redis 7): the store port on one Redis server through ioredis. Records are
 * hashes, indexes sorted sets, the event log a stream; every write is one Lua script (scripts/),
 * atomic on the server, and a write decided in TypeScript commits only if what it read is
 * unchanged (db.ts), so exactly-once holds across nodes without locks. Key layout, durability
 * and Redis Cluster: docs/storage.md.
 */
import { Redis } from "ioredis";
import type { EventDraft, EventMatcher } from "../../domain/events.js";
import type { Job, Scheduler } from "../../domain/jobs.js";
import type { ApiKeyRecord } from "../../domain/keys.js";
import type { Lease, Outcome, Run } from "../../domain/runs.js";
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
  LeaseRequest,
  LeaseResult,
  LeaseState,
  ListJobsQuery,
  ListRunsQuery,
  LogState,
  NodeRecord,
  Page,
  SessionRecord,
  Store,
  StoreChange,
  StoredNode,
  SweepRequest,
  SweepResult,
  Verdict,
} from "../port.js";
import * as apiKeys from "./api-keys.js";
import type { IdempotencyStore } from "../port-idempotency.js";
import { Db } from "./db.js";
import { redisIdempotencyStore } from "./idempotency.js";
import * as events from "./events.js";
import * as firing from "./firing.js";
import * as jobs from "./jobs.js";
import * as leases from "./leases.js";
import { listJobs } from "./list-jobs.js";
import { indexJobIds, jobIdsIndexed } from "./job-ids.js";
import { indexPendingOfJobs, pendingIndexed } from "./pending-of-jobs.js";
import { persistenceWarnings } from "./persistence.js";
import * as registry from "./registry.js";
import * as results from "./results.js";
import * as reads from "./run-reads.js";
import * as schedulers from "./schedulers.js";

/** The schema version this build writes (`{g}:schema`); migrate() records it. */
export const SCHEMA_VERSION = 1;

export interface RedisStoreOptions {
  /**
   * Told once each, at start-up, when Redis runs without the append-only file and when it evicts
   * keys (persistence.ts).
   */
  readonly warn?: (message: string) => void;
}

/** `redis://[user:password@]host[:port][/db][?prefix=…]` (`rediss://`: TLS) as ioredis options. */
function connection(url: string): { url: string; prefix: string } {
  const u = new URL(url);
  const prefix = u.searchParams.get("prefix") ?? "metronome:";
  u.searchParams.delete("prefix");
  return { url: u.toString(), prefix };
}

export class RedisStore implements Store {
  private readonly checked: Promise<void>;
  /** Idempotency keys' records (idempotency.ts): on one server; a cluster's shards take none. */
  readonly idempotency: IdempotencyStore | undefined;

  /** `owns`: the store checks its server's persistence and closes the connection. */
  private constructor(
    private readonly db: Db,
    options: RedisStoreOptions,
    private readonly owns: boolean,
  ) {
    this.idempotency = owns ? redisIdempotencyStore(db) : undefined;
    this.checked = owns
      ? persistenceWarnings(db.redis).then(
          (warnings) => {
            for (const warning of warnings) options.warn?.(warning);
          },
          () => undefined,
        )
      : Promise.resolve();
  }

  /**
   * A part of a larger store on a connection it does not own (a shard of cluster.ts, or its
   * home for the node-wide records): closing it leaves the connection open.
   */
  static on(db: Db): RedisStore {
    return new RedisStore(db, {}, false);
  }

  /**
   * Connects at once and reconnects by itself: a store opened while Redis is down works once it
   * is back. A command never outlives its connection: one sent on a connection that is lost
   * fails (it is not sent again on the next, where it could commit after its caller was told it
   * failed), and one waiting for a connection fails when an attempt to connect does
   * (UNAVAILABLE), rather than waiting for Redis to come back.
   */
  static open(url: string, options: RedisStoreOptions = {}): RedisStore {
    const c = connection(url);
    const redis = new Redis(c.url, {
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      connectTimeout: 5000,
      retryStrategy: (times) => Math.min(times * 100, 1000),
    });
    // A lost connection is reported to the commands under way; without a listener ioredis
    // would print each reconnection's error.
    redis.on("error", () => undefined);
    return new RedisStore(new Db(redis, c.prefix), options, true);
  }

  // ---- lifecycle ----

  /**
   * Records the schema version and builds the indexes that data written before them lacks
   * (pending-of-jobs.ts, job-ids.ts).
   */
  async migrate(): Promise<void> {
    await this.db.call(() =>
      this.db.redis.set(this.db.keys.global("schema"), String(SCHEMA_VERSION)),
    );
    await indexPendingOfJobs(this.db);
    await indexJobIds(this.db);
  }

  /** 1 until the schema version is recorded and every index is built (one migrate() does all). */
  async pendingMigrations(): Promise<number> {
    const v = await this.db.call(() => this.db.redis.get(this.db.keys.global("schema")));
    if (Number(v ?? 0) < SCHEMA_VERSION) return 1;
    return (await pendingIndexed(this.db)) && (await jobIdsIndexed(this.db)) ? 0 : 1;
  }

  async ping(): Promise<void> {
    await this.db.call(() => this.db.redis.ping());
  }

  async close(): Promise<void> {
    await this.checked;
    if (!this.owns) return;
    await this.db.redis.quit().catch(() => {
      this.db.redis.disconnect();
    });
  }

  // ---- API keys ----

  insertKey(key: ApiKeyRecord, events: readonly EventDraft[] = []): Promise<boolean> {
    return apiKeys.insertKey(this.db, key, events);
  }

  getKey(id: string): Promise<ApiKeyRecord | null> {
    return apiKeys.getKey(this.db, id);
  }

  listKeys(): Promise<ApiKeyRecord[]> {
    return apiKeys.listKeys(this.db);
  }

  revokeKey(
    id: string,
    at: number,
    by: string,
    events?: (revoked: ApiKeyRecord) => readonly EventDraft[],
  ): Promise<{ readonly key: ApiKeyRecord; readonly revoked: boolean } | null> {
    return apiKeys.revokeKey(this.db, id, at, by, events);
  }

  // ---- schedulers ----

  getScheduler(name: string): Promise<Scheduler | null> {
    return schedulers.getScheduler(this.db, name);
  }

  listSchedulers(): Promise<Scheduler[]> {
    return schedulers.listSchedulers(this.db);
  }

  insertScheduler(scheduler: Scheduler): Promise<boolean> {
    return schedulers.insertScheduler(this.db, scheduler);
  }

  updateScheduler(
    name: string,
    change: (current: Scheduler) => Scheduler,
    events?: (before: Scheduler, after: Scheduler) => readonly EventDraft[],
  ): Promise<Scheduler | null> {
    return schedulers.updateScheduler(this.db, name, change, events);
  }

  pausedSchedulers(): Promise<string[]> {
    return this.db.paused();
  }

  // ---- jobs ----

  insertJob(job: Job, events: readonly EventDraft[] = []): Promise<boolean> {
    return jobs.insertJob(this.db, job, events);
  }

  getJob(scheduler: string, id: string): Promise<Job | null> {
    return jobs.getJob(this.db, scheduler, id);
  }

  listJobs(query: ListJobsQuery): Promise<Page<Job>> {
    return listJobs(this.db, query);
  }

  countJobs(scheduler: string): Promise<number> {
    return this.db.call(() => this.db.redis.zcard(this.db.keys.sched(scheduler, "jobs")));
  }

  updateJob(
    scheduler: string,
    id: string,
    change: (current: Job) => Job,
    now?: number,
    events?: (after: Job) => readonly EventDraft[],
  ): Promise<Job | null> {
    return jobs.updateJob(this.db, scheduler, id, change, now, events);
  }

  deleteJob(scheduler: string, id: string, options: DeleteJobOptions = {}): Promise<boolean> {
    return jobs.deleteJob(this.db, scheduler, id, options);
  }

  deleteAllJobs(scheduler: string, options: DeleteAllJobsOptions = {}): Promise<number> {
    return jobs.deleteAllJobs(this.db, scheduler, options);
  }

  cancelPendingRuns(scheduler: string, options: CancelPendingRunsOptions): Promise<number> {
    return jobs.cancelPendingRuns(this.db, scheduler, options);
  }

  // ---- firing ----

  claimDueJobs(request: ClaimRequest, events?: EventsOf<ClaimResult>): Promise<ClaimResult> {
    return firing.claimDueJobs(this.db, request, events);
  }

  nextDueTime(paused: readonly string[]): Promise<number | null> {
    return firing.nextDueTime(this.db, paused);
  }

  dueJobsOf(schedulers: readonly string[], horizon: number, limit: number): Promise<DueJob[]> {
    return firing.dueJobsOf(this.db, schedulers, horizon, limit);
  }

  createManualRun(
    scheduler: string,
    jobId: string,
    make: (job: Job, shift: number) => Run,
  ): Promise<Run | null> {
    return firing.createManualRun(this.db, scheduler, jobId, make);
  }

  withdrawPreparedRuns(scheduler: string, since: number): Promise<number> {
    return firing.withdrawPreparedRuns(this.db, scheduler, since);
  }

  // ---- runs ----

  leaseRuns(request: LeaseRequest, events?: EventsOf<LeaseResult>): Promise<LeaseResult> {
    return leases.leaseRuns(this.db, request, events);
  }

  releaseLeases(now: number, list: readonly Lease[]): Promise<number> {
    return leases.releaseLeases(this.db, now, list);
  }

  nextPendingDue(
    handlers: readonly string[],
    paused: readonly string[],
    after?: number,
  ): Promise<number | null> {
    return leases.nextPendingDue(this.db, handlers, paused, after);
  }

  extendLeases(
    now: number,
    list: readonly Lease[],
    leaseMs: number,
    workerId: string,
  ): Promise<Lease[]> {
    return leases.extendLeases(this.db, now, list, leaseMs, workerId);
  }

  leaseStates(list: readonly Lease[]): Promise<Map<string, LeaseState>> {
    return leases.leaseStates(this.db, list);
  }

  runHandlers(runIds: readonly string[]): Promise<Map<string, string>> {
    return reads.runHandlers(this.db, runIds);
  }

  completeRuns(
    now: number,
    items: readonly { readonly lease: Lease; readonly outcome: Outcome }[],
    events?: EventsOf<Verdict[]>,
  ): Promise<Verdict[]> {
    return results.completeRuns(this.db, now, items, events);
  }

  timeOutRun(now: number, lease: Lease, events?: EventsOf<Run | null>): Promise<Run | null> {
    return results.timeOutRun(this.db, now, lease, events);
  }

  cancelRun(
    now: number,
    runId: string,
    reason: string,
    events?: EventsOf<CancelOutcome>,
  ): Promise<CancelOutcome> {
    return results.cancelRun(this.db, now, runId, reason, events);
  }

  sweep(request: SweepRequest, events?: EventsOf<SweepResult>): Promise<SweepResult> {
    return results.sweep(this.db, request, events);
  }

  deleteOldRuns(before: number, limit: number): Promise<number> {
    return reads.deleteOldRuns(this.db, before, limit);
  }

  getRun(runId: string): Promise<Run | null> {
    return reads.getRun(this.db, runId);
  }

  listRuns(query: ListRunsQuery): Promise<Run[]> {
    return reads.listRuns(this.db, query);
  }

  countActiveRuns(now: number): Promise<ActiveRunCount[]> {
    return reads.countActiveRuns(this.db, now);
  }

  // ---- events ----

  appendEvents(list: readonly EventDraft[]): Promise<void> {
    return events.appendEvents(this.db, list);
  }

  onEventsCommitted(listener: (events: readonly EventDraft[]) => void): void {
    this.db.onEventsCommitted(listener);
  }

  sequenceEvents(limit: number): Promise<number> {
    return events.sequenceEvents(this.db, limit);
  }

  hasUnsequenced(): Promise<boolean> {
    return events.hasUnsequenced(this.db);
  }

  logState(): Promise<LogState> {
    return events.logState(this.db);
  }

  readEvents(
    after: number,
    upTo: number,
    limit: number,
    matcher?: EventMatcher,
  ): Promise<EventsRead> {
    return events.readEvents(this.db, after, upTo, limit, matcher);
  }

  pruneEvents(before: number, limit: number): Promise<number> {
    return events.pruneEvents(this.db, before, limit);
  }

  // ---- the worker registry and the cluster ----

  registerSession(
    session: SessionRecord,
    expiresAt: number,
    events: readonly EventDraft[] = [],
  ): Promise<void> {
    return registry.registerSession(this.db, session, expiresAt, events);
  }

  unregisterSession(sessionId: string, events: readonly EventDraft[] = []): Promise<void> {
    return registry.unregisterSession(this.db, sessionId, events);
  }

  refreshSessions(sessionIds: readonly string[], expiresAt: number): Promise<void> {
    return registry.refreshSessions(this.db, sessionIds, expiresAt);
  }

  servingSessions(
    handlers: readonly string[],
    now: number,
    exceptNode: string,
  ): Promise<Map<string, number>> {
    return registry.servingSessions(this.db, handlers, now, exceptNode);
  }

  deleteExpiredSessions(before: number): Promise<number> {
    return registry.deleteExpired(this.db, "sessions", before);
  }

  /** Other nodes' changes are found by polling (no notices on Redis yet). */
  // eslint-disable-next-line @typescript-eslint/no-unused-vars
  onChange(listener: (change: StoreChange) => void): void {
    // Never called: see docs/storage.md.
  }

  recordNode(node: NodeRecord, expiresAt: number): Promise<void> {
    return registry.recordNode(this.db, node, expiresAt);
  }

  removeNode(nodeId: string): Promise<void> {
    return registry.removeNode(this.db, nodeId);
  }

  listNodes(now: number): Promise<StoredNode[]> {
    return registry.listNodes(this.db, now);
  }

  deleteExpiredNodes(before: number): Promise<number> {
    return registry.deleteExpired(this.db, "nodes", before);
  }
}
