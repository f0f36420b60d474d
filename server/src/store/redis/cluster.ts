/**
 * The Redis store on a Redis Cluster (docs/storage.md, "Redis Cluster"). The store is split into
 * a fixed number of shards (shards.ts), each one Redis store (store.ts) whose keys all carry the
 * shard's hash tag, so every script runs on one slot; a scheduler and all its jobs and runs live
 * on the shard its name hashes to, and the shards spread over the cluster's masters. A home shard
 * holds what belongs to no scheduler: API keys, nodes, worker sessions and the event log.
 *
 * An operation on one scheduler goes to its shard. One over every scheduler (a claim, a hand-out,
 * a sweep, a listing) asks each shard and merges the answers; a hand-out takes from the shards
 * whose runs are due first, until the worker's free slots are used. An operation on runs by id
 * finds each run's shard (remembered for the runs this node has seen, asked of every shard for
 * the others). Each shard's changes push their events onto the shard's inbox in their own
 * script; the sequencer moves them into the home's log (scripts/outbox.ts), so events still
 * commit with their change and get cursors once. Exactly-once is each shard's: its claims and
 * leases are atomic scripts on its master, as on one server. ioredis's cluster client follows
 * MOVED and ASK redirections and a failover to a replica.
 */
import { Cluster } from "ioredis";
import type { ClusterConnection } from "../../config/store-url.js";
import type { EventDraft, EventMatcher } from "../../domain/events.js";
import type { Job, Scheduler } from "../../domain/jobs.js";
import type { ApiKeyRecord } from "../../domain/keys.js";
import type { Lease, Outcome, Run } from "../../domain/runs.js";
import { comparePositions, encodePageToken, jobPosition } from "../paging.js";
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
import { Db } from "./db.js";
import { persistenceWarning } from "./persistence.js";
import { EventMover } from "./event-mover.js";
import { RunLocations } from "./run-locations.js";
import { shardOf, shardTags } from "./shards.js";
import { RedisStore, type RedisStoreOptions } from "./store.js";

/** The home shard's hash tag (node-wide records and the event log). */
export const HOME_TAG = "home";

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

export class RedisClusterStore implements Store {
  private readonly homeDb: Db;
  private readonly home: RedisStore;
  private readonly dbs: readonly Db[];
  private readonly shards: readonly RedisStore[];
  /** Which shard holds a run named by id alone. */
  private readonly runs: RunLocations;
  /** Moves the shards' events into the home's log. */
  private readonly events: EventMover;
  private readonly checked: Promise<void>;

  private constructor(
    private readonly cluster: Cluster,
    prefix: string,
    private readonly shardCount: number,
    options: RedisStoreOptions,
  ) {
    this.homeDb = new Db(cluster, prefix, HOME_TAG);
    this.home = RedisStore.on(this.homeDb);
    this.dbs = shardTags(shardCount).map((tag) => new Db(cluster, prefix, tag));
    this.shards = this.dbs.map((db) => RedisStore.on(db));
    this.runs = new RunLocations(this.dbs, (scheduler) => this.shardOfScheduler(scheduler));
    this.events = new EventMover(this.homeDb, this.dbs);
    this.checked = persistenceWarning(cluster).then(
      (warning) => {
        if (warning !== null) options.warn?.(warning);
      },
      () => undefined,
    );
  }

  /** Connects to the cluster at once, and follows its topology as it changes. */
  static open(connection: ClusterConnection, options: RedisStoreOptions = {}): RedisClusterStore {
    const cluster = new Cluster([...connection.nodes], {
      redisOptions: {
        ...(connection.username === undefined ? {} : { username: connection.username }),
        ...(connection.password === undefined ? {} : { password: connection.password }),
        ...(connection.tls ? { tls: {} } : {}),
        maxRetriesPerRequest: 0,
        autoResendUnfulfilledCommands: false,
        connectTimeout: 5000,
      },
      clusterRetryStrategy: (times) => Math.min(times * 100, 1000),
      // A command that meets a shard in failover is sent again once the cluster has a new
      // master for its slot, within this many redirections.
      maxRedirections: 16,
      retryDelayOnFailover: 200,
      retryDelayOnClusterDown: 200,
    });
    cluster.on("error", () => undefined);
    return new RedisClusterStore(cluster, connection.prefix, connection.shards, options);
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

  async ping(): Promise<void> {
    await this.home.ping();
  }

  async close(): Promise<void> {
    await this.checked;
    await this.cluster.quit().catch(() => {
      this.cluster.disconnect();
    });
  }

  // ---- API keys: the home shard ----

  insertKey(key: ApiKeyRecord, events: readonly EventDraft[] = []): Promise<boolean> {
    return this.home.insertKey(key, events);
  }

  getKey(id: string): Promise<ApiKeyRecord | null> {
    return this.home.getKey(id);
  }

  listKeys(): Promise<ApiKeyRecord[]> {
    return this.home.listKeys();
  }

  revokeKey(
    id: string,
    at: number,
    by: string,
    events?: (revoked: ApiKeyRecord) => readonly EventDraft[],
  ): Promise<{ readonly key: ApiKeyRecord; readonly revoked: boolean } | null> {
    return this.home.revokeKey(id, at, by, events);
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
    const pages = await this.each((s) => s.listJobs(query));
    const found = pages
      .flatMap((p) => p.items)
      .sort((a, b) =>
        comparePositions(jobPosition(query.orderBy, a), jobPosition(query.orderBy, b)),
      );
    const items = found.slice(0, query.pageSize);
    const last = items[items.length - 1];
    const more = found.length > query.pageSize || pages.some((p) => p.nextPageToken !== "");
    return {
      items,
      nextPageToken:
        more && last !== undefined ? encodePageToken(jobPosition(query.orderBy, last)) : "",
    };
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
    const parts = await this.each((s) => s.claimDueJobs(request, events));
    const runs = parts.flatMap((p) => p.runs);
    this.runs.remember(runs);
    return {
      jobs: parts.reduce((n, p) => n + p.jobs, 0),
      runs,
      ignored: parts.reduce((n, p) => n + p.ignored, 0),
      paused: parts.flatMap((p) => p.paused).sort(),
      ended: parts.flatMap((p) => p.ended),
      broken: parts.flatMap((p) => p.broken),
    };
  }

  async nextDueTime(paused: readonly string[]): Promise<number | null> {
    const times = await this.each((s) => s.nextDueTime(paused));
    return minimum(times);
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
    return parts
      .flat()
      .sort((a, b) => a.nextRunTime - b.nextRunTime)
      .slice(0, limit);
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
   * Hands out from the shards whose runs are due first, each up to the slots still free, so a
   * worker is never given more runs than it asked for.
   */
  async leaseRuns(request: LeaseRequest, events?: EventsOf<LeaseResult>): Promise<LeaseResult> {
    const handlers = [...request.slots.keys()];
    const dueBy = Math.max(request.now, request.dueBy ?? request.now);
    if (handlers.length === 0 || request.total <= 0) return { taken: [], ended: [] };
    const firsts = await this.each((s) => s.nextPendingDue(handlers, request.paused));
    const order = firsts
      .map((t, k) => ({ t, k }))
      .filter((f): f is { t: number; k: number } => f.t !== null && f.t <= dueBy)
      .sort((a, b) => a.t - b.t);
    const slots = new Map(request.slots);
    let total = request.total;
    const taken: Run[] = [];
    const ended: Run[] = [];
    for (const { k } of order) {
      if (total <= 0) break;
      const part = await this.shard(k).leaseRuns({ ...request, slots, total }, events);
      for (const run of part.taken) {
        slots.set(run.handler, (slots.get(run.handler) ?? 0) - 1);
        total--;
      }
      taken.push(...part.taken);
      ended.push(...part.ended);
    }
    this.runs.remember([...taken, ...ended]);
    return { taken, ended };
  }

  async releaseLeases(now: number, list: readonly Lease[]): Promise<number> {
    const groups = await this.runs.group(list, (l) => l.runId);
    const counts = await Promise.all(
      [...groups].map(([k, g]) =>
        this.shard(k).releaseLeases(
          now,
          g.map((e) => e.item),
        ),
      ),
    );
    return counts.reduce((n, c) => n + c, 0);
  }

  async nextPendingDue(
    handlers: readonly string[],
    paused: readonly string[],
  ): Promise<number | null> {
    return minimum(await this.each((s) => s.nextPendingDue(handlers, paused)));
  }

  async extendLeases(
    now: number,
    list: readonly Lease[],
    leaseMs: number,
    workerId: string,
  ): Promise<Lease[]> {
    const groups = await this.runs.group(list, (l) => l.runId);
    const lost = await Promise.all(
      [...groups].map(([k, g]) =>
        this.shard(k).extendLeases(
          now,
          g.map((e) => e.item),
          leaseMs,
          workerId,
        ),
      ),
    );
    return lost.flat();
  }

  async leaseStates(list: readonly Lease[]): Promise<Map<string, LeaseState>> {
    const groups = await this.runs.group(list, (l) => l.runId);
    const parts = await Promise.all(
      [...groups].map(([k, g]) => this.shard(k).leaseStates(g.map((e) => e.item))),
    );
    return new Map(parts.flatMap((m) => [...m]));
  }

  async runHandlers(runIds: readonly string[]): Promise<Map<string, string>> {
    const groups = await this.runs.group(runIds, (id) => id);
    const parts = await Promise.all(
      [...groups].map(([k, g]) => this.shard(k).runHandlers(g.map((e) => e.item))),
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
    const parts = await this.each((s) => s.sweep(request, events));
    return {
      missed: parts.flatMap((p) => p.missed),
      expired: parts.flatMap((p) => p.expired),
      timedOut: parts.flatMap((p) => p.timedOut),
    };
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

  appendEvents(list: readonly EventDraft[]): Promise<void> {
    return this.home.appendEvents(list);
  }

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

  logState(): Promise<LogState> {
    return this.home.logState();
  }

  readEvents(
    after: number,
    upTo: number,
    limit: number,
    matcher?: EventMatcher,
  ): Promise<EventsRead> {
    return this.home.readEvents(after, upTo, limit, matcher);
  }

  pruneEvents(before: number, limit: number): Promise<number> {
    return this.home.pruneEvents(before, limit);
  }

  // ---- the worker registry and the cluster's nodes: the home shard ----

  registerSession(
    session: SessionRecord,
    expiresAt: number,
    events: readonly EventDraft[] = [],
  ): Promise<void> {
    return this.home.registerSession(session, expiresAt, events);
  }

  unregisterSession(sessionId: string, events: readonly EventDraft[] = []): Promise<void> {
    return this.home.unregisterSession(sessionId, events);
  }

  refreshSessions(sessionIds: readonly string[], expiresAt: number): Promise<void> {
    return this.home.refreshSessions(sessionIds, expiresAt);
  }

  servingSessions(
    handlers: readonly string[],
    now: number,
    exceptNode: string,
  ): Promise<Map<string, number>> {
    return this.home.servingSessions(handlers, now, exceptNode);
  }

  deleteExpiredSessions(before: number): Promise<number> {
    return this.home.deleteExpiredSessions(before);
  }

  /** Other nodes' changes are found by polling, as on one Redis server. */
  onChange(listener: (change: StoreChange) => void): void {
    this.home.onChange(listener);
  }

  recordNode(node: NodeRecord, expiresAt: number): Promise<void> {
    return this.home.recordNode(node, expiresAt);
  }

  removeNode(nodeId: string): Promise<void> {
    return this.home.removeNode(nodeId);
  }

  listNodes(now: number): Promise<StoredNode[]> {
    return this.home.listNodes(now);
  }

  deleteExpiredNodes(before: number): Promise<number> {
    return this.home.deleteExpiredNodes(before);
  }
}

/** The earliest of these times (null: none). */
function minimum(times: readonly (number | null)[]): number | null {
  let min: number | null = null;
  for (const t of times) if (t !== null && (min === null || t < min)) min = t;
  return min;
}
