/**
 * The Redis store on a Redis Cluster (docs/storage.md, "Redis Cluster"). The store is split into
 * a fixed number of shards (shards.ts), each one Redis store (store.ts) whose keys all carry the
 * shard's hash tag, so every script runs on one slot; a scheduler and all its jobs and runs live
 * on the shard its name hashes to, and the shards spread over the cluster's masters. A home shard
 * holds what belongs to no scheduler: API keys, nodes, worker sessions and the event log
 * (home-shard.ts).
 *
 * An operation on one scheduler goes to its shard. One over every scheduler (a claim, a hand-out,
 * a sweep, a listing) asks each shard and merges the answers (across-shards.ts); a hand-out takes
 * from the shards whose runs are due first, until the worker's free slots are used. An operation
 * on runs by id finds each run's shard (remembered for the runs this node has seen, asked of
 * every shard for the others). Each shard's changes push their events onto the shard's inbox in their own
 * script; the sequencer moves them into the home's log (scripts/outbox.ts), so events still
 * commit with their change and get cursors once. Exactly-once is each shard's: its claims and
 * leases are atomic scripts on its master, as on one server. ioredis's cluster client follows
 * MOVED and ASK redirections and a failover to a replica (cluster-connection.ts).
 */
import type { Cluster } from "ioredis";
import type { ClusterConnection } from "../../config/store-url.js";
import type { EventDraft } from "../../domain/events.js";
import type { Job, Scheduler } from "../../domain/jobs.js";
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
  LeaseRequest,
  LeaseResult,
  LeaseState,
  ListJobsQuery,
  ListRunsQuery,
  Page,
  Store,
  SweepRequest,
  SweepResult,
  Verdict,
} from "../port.js";
import {
  earliest,
  leaseInDueOrder,
  mergeClaims,
  mergeDueJobs,
  mergeJobPages,
  mergeSweeps,
} from "./across-shards.js";
import { clusterReady, connectCluster } from "./cluster-connection.js";
import { Db } from "./db.js";
import { persistenceWarnings } from "./persistence.js";
import { EventMover } from "./event-mover.js";
import { HOME_TAG, OnHomeShard } from "./home-shard.js";
import { RunLocations } from "./run-locations.js";
import { shardOf, shardTags } from "./shards.js";
import { RedisStore, type RedisStoreOptions } from "./store.js";

/** The store URL names another number of shards than the store on the cluster has. */
export class ShardCountError extends Error {
  constructor(
    readonly recorded: number,
    readonly configured: number,
  ) {
    super(
      `this Redis Cluster holds a Metronome store of ${String(recorded)} shards under this prefix; ` +
        `the store URL says ${String(configured)} (set shards=${String(recorded)}: a store's ` +
        `number of shards is fixed when it is created, docs/storage.md)`,
    );
    this.name = "ShardCountError";
  }
}

export class RedisClusterStore extends OnHomeShard implements Store {
  private readonly dbs: readonly Db[];
  private readonly shards: readonly RedisStore[];
  /** Which shard holds a run named by id alone. */
  private readonly runs: RunLocations;
  /** Moves the shards' events into the home's log. */
  private readonly events: EventMover;
  private readonly checked: Promise<void>;

  private constructor(
    private readonly cluster: Cluster,
    private readonly homeDb: Db,
    prefix: string,
    private readonly shardCount: number,
    options: RedisStoreOptions,
  ) {
    super(RedisStore.on(homeDb));
    this.dbs = shardTags(shardCount).map((tag) => new Db(cluster, prefix, tag));
    this.shards = this.dbs.map((db) => RedisStore.on(db));
    this.runs = new RunLocations(this.dbs, (scheduler) => this.shardOfScheduler(scheduler));
    this.events = new EventMover(homeDb, this.dbs);
    // The client sends nothing before it is connected (cluster-connection.ts).
    this.checked = (clusterReady(cluster) ?? Promise.resolve())
      .then(() => persistenceWarnings(cluster))
      .then(
        (warnings) => {
          for (const warning of warnings) options.warn?.(warning);
        },
        () => undefined,
      );
  }

  /** Connects to the cluster at once, and follows its topology as it changes. */
  static open(connection: ClusterConnection, options: RedisStoreOptions = {}): RedisClusterStore {
    const cluster = connectCluster(connection);
    return new RedisClusterStore(
      cluster,
      new Db(cluster, connection.prefix, HOME_TAG),
      connection.prefix,
      connection.shards,
      options,
    );
  }

  private shardOfScheduler(name: string): number {
    return shardOf(name, this.shardCount);
  }

  private storeOf(scheduler: string): RedisStore {
    return this.shards[this.shardOfScheduler(scheduler)] as RedisStore;
  }

  private shard(k: number): RedisStore {
    return this.shards[k] as RedisStore;
  }

  /** `work` on every shard at once, the answers in shard order. */
  private each<T>(work: (store: RedisStore, k: number) => Promise<T>): Promise<T[]> {
    return Promise.all(this.shards.map((store, k) => work(store, k)));
  }

  /** `work` on each shard that holds some of the runs of `list` (`id`), with its share. */
  private async onRunShards<T, R>(
    list: readonly T[],
    id: (item: T) => string,
    work: (store: RedisStore, share: T[]) => Promise<R>,
  ): Promise<R[]> {
    const groups = await this.runs.group(list, id);
    return Promise.all(
      [...groups].map(([k, g]) =>
        work(
          this.shard(k),
          g.map((e) => e.item),
        ),
      ),
    );
  }

  // ---- lifecycle ----

  /**
   * Records the number of shards on first use, and refuses a different one after: the shards'
   * tags and the schedulers' places depend on it.
   */
  async migrate(): Promise<void> {
    const key = this.homeDb.keys.global("shards");
    const recorded = await this.homeDb.call(async () => {
      await this.cluster.set(key, String(this.shardCount), "NX");
      return this.cluster.get(key);
    });
    if (recorded !== String(this.shardCount))
      throw new ShardCountError(Number(recorded), this.shardCount);
    await this.home.migrate();
    await this.each((s) => s.migrate());
  }

  async pendingMigrations(): Promise<number> {
    const counts = await Promise.all([this.home, ...this.shards].map((s) => s.pendingMigrations()));
    return Math.max(...counts);
  }

  async close(): Promise<void> {
    await this.checked;
    await this.cluster.quit().catch(() => {
      this.cluster.disconnect();
    });
  }

  // ---- schedulers: each on its shard ----

  getScheduler(name: string): Promise<Scheduler | null> {
    return this.storeOf(name).getScheduler(name);
  }

  async listSchedulers(): Promise<Scheduler[]> {
    const all = (await this.each((s) => s.listSchedulers())).flat();
    return all.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  insertScheduler(scheduler: Scheduler): Promise<boolean> {
    return this.storeOf(scheduler.name).insertScheduler(scheduler);
  }

  updateScheduler(
    name: string,
    change: (current: Scheduler) => Scheduler,
    events?: (before: Scheduler, after: Scheduler) => readonly EventDraft[],
  ): Promise<Scheduler | null> {
    return this.storeOf(name).updateScheduler(name, change, events);
  }

  async pausedSchedulers(): Promise<string[]> {
    return (await this.each((s) => s.pausedSchedulers())).flat().sort();
  }

  // ---- jobs ----

  insertJob(job: Job, events: readonly EventDraft[] = []): Promise<boolean> {
    return this.storeOf(job.scheduler).insertJob(job, events);
  }

  getJob(scheduler: string, id: string): Promise<Job | null> {
    return this.storeOf(scheduler).getJob(scheduler, id);
  }

  /** One scheduler's listing from its shard; all schedulers' merged from every shard's page. */
  async listJobs(query: ListJobsQuery): Promise<Page<Job>> {
    if (query.scheduler !== undefined) return this.storeOf(query.scheduler).listJobs(query);
    return mergeJobPages(query, await this.each((s) => s.listJobs(query)));
  }

  countJobs(scheduler: string): Promise<number> {
    return this.storeOf(scheduler).countJobs(scheduler);
  }

  updateJob(
    scheduler: string,
    id: string,
    change: (current: Job) => Job,
    now?: number,
    events?: (after: Job) => readonly EventDraft[],
  ): Promise<Job | null> {
    return this.storeOf(scheduler).updateJob(scheduler, id, change, now, events);
  }

  deleteJob(scheduler: string, id: string, options: DeleteJobOptions = {}): Promise<boolean> {
    return this.storeOf(scheduler).deleteJob(scheduler, id, options);
  }

  deleteAllJobs(scheduler: string, options: DeleteAllJobsOptions = {}): Promise<number> {
    return this.storeOf(scheduler).deleteAllJobs(scheduler, options);
  }

  cancelPendingRuns(scheduler: string, options: CancelPendingRunsOptions): Promise<number> {
    return this.storeOf(scheduler).cancelPendingRuns(scheduler, options);
  }

  // ---- firing: every shard claims its own due jobs ----

  async claimDueJobs(request: ClaimRequest, events?: EventsOf<ClaimResult>): Promise<ClaimResult> {
    const claimed = mergeClaims(await this.each((s) => s.claimDueJobs(request, events)));
    this.runs.remember(claimed.runs);
    return claimed;
  }

  async nextDueTime(paused: readonly string[]): Promise<number | null> {
    return earliest(await this.each((s) => s.nextDueTime(paused)));
  }

  async dueJobsOf(
    schedulers: readonly string[],
    horizon: number,
    limit: number,
  ): Promise<DueJob[]> {
    const byShard = new Map<number, string[]>();
    for (const name of schedulers) {
      const k = this.shardOfScheduler(name);
      byShard.set(k, [...(byShard.get(k) ?? []), name]);
    }
    const parts = await Promise.all(
      [...byShard].map(([k, names]) => this.shard(k).dueJobsOf(names, horizon, limit)),
    );
    return mergeDueJobs(parts, limit);
  }

  async createManualRun(
    scheduler: string,
    jobId: string,
    make: (job: Job, shift: number) => Run,
  ): Promise<Run | null> {
    const run = await this.storeOf(scheduler).createManualRun(scheduler, jobId, make);
    if (run !== null) this.runs.remember([run]);
    return run;
  }

  withdrawPreparedRuns(scheduler: string, since: number): Promise<number> {
    return this.storeOf(scheduler).withdrawPreparedRuns(scheduler, since);
  }

  // ---- runs ----

  /**
   * Hands out from the shards whose runs are due first (across-shards.ts); the busy handlers'
   * first attempts (max_instances only, nothing taken) are decided on every shard.
   */
  async leaseRuns(request: LeaseRequest, events?: EventsOf<LeaseResult>): Promise<LeaseResult> {
    const { busy, ...slotted } = request;
    const handlers = [...request.slots.keys()];
    const taken: Run[] = [];
    const ended: Run[] = [];
    if (handlers.length > 0 && request.total > 0) {
      const firsts = await this.each((s) => s.nextPendingDue(handlers, request.paused));
      const part = await leaseInDueOrder(slotted, firsts, (k, p) =>
        this.shard(k).leaseRuns(p, events),
      );
      taken.push(...part.taken);
      ended.push(...part.ended);
    }
    if (busy !== undefined && busy.size > 0) {
      const skipOnly = { ...slotted, slots: new Map<string, number>(), total: 0, busy };
      for (const part of await this.each((s) => s.leaseRuns(skipOnly, events)))
        ended.push(...part.ended);
    }
    this.runs.remember([...taken, ...ended]);
    return { taken, ended };
  }

  async releaseLeases(now: number, list: readonly Lease[]): Promise<number> {
    const counts = await this.onRunShards(
      list,
      (l) => l.runId,
      (s, share) => s.releaseLeases(now, share),
    );
    return counts.reduce((n, c) => n + c, 0);
  }

  async nextPendingDue(
    handlers: readonly string[],
    paused: readonly string[],
    after?: number,
  ): Promise<number | null> {
    return earliest(await this.each((s) => s.nextPendingDue(handlers, paused, after)));
  }

  async extendLeases(
    now: number,
    list: readonly Lease[],
    leaseMs: number,
    workerId: string,
  ): Promise<Lease[]> {
    const lost = await this.onRunShards(
      list,
      (l) => l.runId,
      (s, share) => s.extendLeases(now, share, leaseMs, workerId),
    );
    return lost.flat();
  }

  async leaseStates(list: readonly Lease[]): Promise<Map<string, LeaseState>> {
    const parts = await this.onRunShards(
      list,
      (l) => l.runId,
      (s, share) => s.leaseStates(share),
    );
    return new Map(parts.flatMap((m) => [...m]));
  }

  async runHandlers(runIds: readonly string[]): Promise<Map<string, string>> {
    const parts = await this.onRunShards(
      runIds,
      (id) => id,
      (s, share) => s.runHandlers(share),
    );
    return new Map(parts.flatMap((m) => [...m]));
  }

  /** Each shard records its runs' results; the verdicts answer in the order of `items`. */
  async completeRuns(
    now: number,
    items: readonly { readonly lease: Lease; readonly outcome: Outcome }[],
    events?: EventsOf<Verdict[]>,
  ): Promise<Verdict[]> {
    const groups = await this.runs.group(items, (i) => i.lease.runId);
    const verdicts: Verdict[] = new Array<Verdict>(items.length);
    await Promise.all(
      [...groups].map(async ([k, g]) => {
        const part = await this.shard(k).completeRuns(
          now,
          g.map((e) => e.item),
          events,
        );
        part.forEach((v, i) => {
          const at = g[i]?.at;
          if (at !== undefined) verdicts[at] = v;
        });
      }),
    );
    return verdicts;
  }

  async timeOutRun(now: number, lease: Lease, events?: EventsOf<Run | null>): Promise<Run | null> {
    const [k = 0] = await this.runs.locate([lease.runId]);
    return this.shard(k).timeOutRun(now, lease, events);
  }

  async cancelRun(
    now: number,
    runId: string,
    reason: string,
    events?: EventsOf<CancelOutcome>,
  ): Promise<CancelOutcome> {
    const [k = 0] = await this.runs.locate([runId]);
    return this.shard(k).cancelRun(now, runId, reason, events);
  }

  async sweep(request: SweepRequest, events?: EventsOf<SweepResult>): Promise<SweepResult> {
    return mergeSweeps(await this.each((s) => s.sweep(request, events)));
  }

  /** Retention, shard after shard, up to `limit` runs in all. */
  async deleteOldRuns(before: number, limit: number): Promise<number> {
    let deleted = 0;
    for (const store of this.shards) {
      if (deleted >= limit) break;
      deleted += await store.deleteOldRuns(before, limit - deleted);
    }
    return deleted;
  }

  async getRun(runId: string): Promise<Run | null> {
    const [k = 0] = await this.runs.locate([runId]);
    return this.shard(k).getRun(runId);
  }

  async listRuns(query: ListRunsQuery): Promise<Run[]> {
    return this.storeOf(query.scheduler).listRuns(query);
  }

  async countActiveRuns(now: number): Promise<ActiveRunCount[]> {
    return (await this.each((s) => s.countActiveRuns(now))).flat();
  }

  // ---- events: each shard's inbox, moved into the home's log ----

  onEventsCommitted(listener: (events: readonly EventDraft[]) => void): void {
    this.home.onEventsCommitted(listener);
    for (const s of this.shards) s.onEventsCommitted(listener);
  }

  /** The home's own events, then the shards' (event-mover.ts), up to `limit` events in all. */
  async sequenceEvents(limit: number): Promise<number> {
    const n = await this.home.sequenceEvents(limit);
    return n >= limit ? n : n + (await this.events.move(limit - n));
  }

  async hasUnsequenced(): Promise<boolean> {
    const waiting = await Promise.all([this.home, ...this.shards].map((s) => s.hasUnsequenced()));
    return waiting.some((w) => w);
  }
}
