/**
 * The firing engine of one node: it claims due jobs and turns their fire times into runs,
 * hands pending runs to the worker sessions connected to this node, and sweeps runs whose
 * misfire grace, lease or timeout ran out. Every guarantee rests on the database: runs are
 * unique per (job, fire time), claims and leases take row locks that other nodes skip, and a
 * result is accepted only for its run's current lease. Timers only decide when to look.
 *
 * Waking: a node sleeps until the earliest due time it knows (job fire times, pending runs of
 * its workers' handlers), is woken at once by its own changes, and polls every
 * `pollIntervalMs` for other nodes' changes.
 *
 * Fires that cannot run: each node records its sessions' handlers in the store
 * (store/engine/workers.ts), so that any node knows whether a handler has a worker anywhere.
 * When a claim prepares a run whose handler no session serves, or finds jobs due in a paused
 * scheduler, the node records a job_at_risk event (rate: see AT_RISK_REPEAT_MS) and logs the
 * unserved handler once.
 */
import { randomBytes } from "node:crypto";
import type { Clock } from "../clock.js";
import { FailedPreconditionError, NotFoundError } from "../domain/errors.js";
import type { Job } from "../domain/jobs.js";
import {
  afterFailure,
  boundedError,
  manualRun,
  planFires,
  type Run,
  type RunError,
} from "../domain/runs.js";
import { skippedForMaxInstances } from "../domain/run-transitions.js";
import { compileTrigger } from "../domain/triggers/index.js";
import {
  AT_RISK,
  atRiskEvent,
  jobEvent,
  nodeEvent,
  runEvents,
  workerEvent,
  type AtRiskReason,
  type EventDraft,
  type WorkerSessionInfo,
} from "../domain/events.js";
import { insertEvents, withEvents } from "../store/engine/events.js";
import type { Logger } from "../logger.js";
import type { EngineDb, Tx } from "../store/engine/ops.js";
import * as q from "../store/engine/queries.js";
import * as workers from "../store/engine/workers.js";
import { Batcher } from "../lib/batcher.js";
import { serial } from "../lib/serial.js";
import { Waiter } from "../lib/waiter.js";
import { StoreUnavailableError } from "../store/store.js";

export interface EngineConfig {
  /** Whether this node claims due jobs (SCHEDULER__ENABLED). Dispatch and sweeps always run. */
  readonly firing: boolean;
  readonly nodeId: string;
  readonly leaseMs: number;
  readonly pollIntervalMs: number;
  readonly runRetentionMs: number;
  /** Jobs claimed per transaction. */
  readonly claimBatch?: number;
}

/** How a session hears about its runs. Implemented by the worker service. */
export interface SessionSink {
  assign(runs: readonly Run[]): void;
  /** The run's lease ended on the server side (cancelled, timed out, or lost). */
  revoke(lease: q.Lease, reason: "cancelled" | "timed_out" | "lease_lost", message: string): void;
  /** The node is stopping: end the session once the results being recorded are answered. */
  end?(): void;
}

/** A run leased to a session. */
interface ActiveRun {
  readonly lease: q.Lease;
  readonly handler: string;
  /** Leased ahead and not sent yet: the run to send at its due time. */
  held?: Run | undefined;
  stopTimer?: () => void;
  /**
   * The worker reported a result that is being recorded: the run will not be current when the
   * record commits, and that is not a lost lease to tell the worker about.
   */
  completing?: boolean;
}

/** A worker session as the engine sees it: what it can take, and where to send runs. */
export class SessionSlots {
  /** Leases held, by run id. */
  readonly active = new Map<string, ActiveRun>();
  draining = false;
  /**
   * Leases (run id/token) whose result the worker reported, most recent last: a heartbeat
   * that raced the result and found the run no longer running is not a lost lease.
   */
  readonly reported = new Set<string>();
  /** Writes of the session's worker_handlers rows, in order (register, unregister). */
  registry: Promise<void> = Promise.resolve();

  constructor(
    readonly id: string,
    readonly workerId: string,
    /** Per-handler limit (0: only the total applies). */
    readonly handlers: ReadonlyMap<string, number>,
    /** Total limit (0: only the per-handler limits apply). */
    readonly maxConcurrency: number,
    readonly sink: SessionSink,
    /** The worker starts runs at their fire time: runs leased ahead are sent at once. */
    readonly acceptsEarly = false,
    /** The worker's labels (WorkerHello.labels), for its events. */
    readonly labels: Readonly<Record<string, string>> = {},
  ) {}

  /** The session as its worker events describe it. */
  info(): WorkerSessionInfo {
    return {
      workerId: this.workerId,
      sessionId: this.id,
      handlers: [...this.handlers],
      maxConcurrency: this.maxConcurrency,
      labels: this.labels,
    };
  }

  /** Free slots per handler, bounded by the total; empty when none. */
  free(): { slots: Map<string, number>; total: number } {
    const slots = new Map<string, number>();
    if (this.draining) return { slots, total: 0 };
    const used = new Map<string, number>();
    for (const a of this.active.values()) used.set(a.handler, (used.get(a.handler) ?? 0) + 1);
    const totalLimit =
      this.maxConcurrency > 0
        ? this.maxConcurrency
        : [...this.handlers.values()].reduce((a, b) => a + b, 0);
    const total = Math.max(0, totalLimit - this.active.size);
    if (total === 0) return { slots, total: 0 };
    for (const [handler, limit] of this.handlers) {
      const cap = limit > 0 ? limit - (used.get(handler) ?? 0) : total;
      if (cap > 0) slots.set(handler, Math.min(cap, total));
    }
    return { slots, total };
  }
}

const LOOP_ERROR_BACKOFF_MS = 1000;
/** When a due job is locked by another node, look again this soon instead of spinning. */
const BUSY_RETRY_MS = 20;
const SWEEP_BATCH = 500;
/**
 * How far ahead a node claims due jobs and prepares their runs, so that when a fire time comes
 * only the hand-out to a worker is left to do (a burst of 1,000 jobs due at one instant takes a
 * few hundred milliseconds to claim on a small machine). A job changed meanwhile has its
 * prepared runs withdrawn (store/engine/queries.ts, updateJobLocked).
 */
export const LOOKAHEAD_MS = 2000;
/**
 * How far ahead of their due time runs are leased to a session (and held by its node until
 * then), so that a burst of runs due at one instant only has to be sent when it comes.
 */
export const PRELEASE_MS = 500;
/** Runs leased to one session per transaction: the first ones go out sooner. */
const LEASE_BATCH = 250;
const RETENTION_EVERY_MS = 60_000;
/** Pending runs whose handler has no worker become missed within this of their grace's end. */
const MISFIRE_SWEEP_MS = 5000;
/**
 * A node records at most one job_at_risk event per job and reason in this time, and again at
 * once when the job was seen able to run in between (its handler served, its scheduler not
 * paused). So a job that fires every second with no worker makes one event an hour, not 3,600.
 */
export const AT_RISK_REPEAT_MS = 3_600_000;
/** How long a node reuses what it read of other nodes' sessions for the at-risk check. */
const SERVED_CACHE_MS = 1000;
/** How often a node looks for jobs due in paused schedulers. */
const PAUSED_CHECK_MS = 1000;
/** The most jobs of paused schedulers one check reports. */
const PAUSED_CHECK_LIMIT = 1000;

export class Engine {
  private stopped = false;
  private readonly loops: Promise<void>[] = [];
  private readonly fireWaiter = new Waiter();
  private readonly dispatchWaiter = new Waiter();
  private readonly sweepWaiter = new Waiter();
  private readonly sessions = new Map<string, SessionSlots>();
  private lastRetention = 0;
  private lastMisfireSweep = 0;
  /** When this node last pushed its sessions' worker_handlers rows forward. */
  private lastRefresh = Number.NEGATIVE_INFINITY;
  /** When this node last looked for jobs due in paused schedulers. */
  private lastPausedCheck = Number.NEGATIVE_INFINITY;
  /** The last job_at_risk recorded per job (scheduler, id) by this node. */
  private readonly atRisk = new Map<string, { reason: AtRiskReason; at: number }>();
  /** Handlers logged as served by no worker (logged again after a worker served them). */
  private readonly unservedLogged = new Set<string>();
  /** Other nodes' sessions per handler, as last read (performance.now() time). */
  private readonly remoteServed = new Map<string, { count: number; at: number }>();
  /** When a loop last found the store unavailable. */
  private lastOutage = Number.NEGATIVE_INFINITY;
  /** Timers that send runs leased ahead. */
  private readonly sendTimers = new Set<() => void>();
  private readonly completions: Batcher<{ lease: q.Lease; outcome: q.Outcome }, q.Verdict>;

  constructor(
    private readonly db: EngineDb,
    private readonly clock: Clock,
    private readonly log: Logger,
    readonly config: EngineConfig,
  ) {
    this.completions = new Batcher(
      async (items) => {
        const now = this.clock.now();
        const verdicts = await this.db.tx(() =>
          withEvents(q.completeRuns(this.db.dialect, now, items, this.fail), (verdicts) =>
            this.runEvents(verdicts.flatMap((v) => (v.accepted && v.recorded ? [v.run] : []))),
          ),
        );
        for (const v of verdicts) if (v.accepted && v.recorded) this.logOutcome(v.run);
        return verdicts;
      },
      2,
      200,
    );
  }

  /** One line per recorded outcome of an attempt: info when it succeeded, warn otherwise. */
  private logOutcome(r: Run): void {
    const retry = r.status === "pending";
    const fields = {
      runId: r.id,
      scheduler: r.scheduler,
      jobId: r.jobId,
      handler: r.handler,
      // A retry is the next attempt: the line is about the one that ended.
      attempt: retry ? r.attempt - 1 : r.attempt,
      worker: r.workerId,
      ms: r.startedAt === null || r.updatedAt < r.startedAt ? undefined : r.updatedAt - r.startedAt,
    };
    const error = r.error === null ? undefined : oneLine(`${r.error.type}: ${r.error.message}`);
    switch (r.status) {
      case "succeeded":
        this.log.info(fields, "run succeeded");
        return;
      case "pending":
        this.log.warn(
          { ...fields, error, retryAt: r.dueAt === null ? undefined : new Date(r.dueAt) },
          "run failed; retrying",
        );
        return;
      case "failed":
        this.log.warn({ ...fields, error }, "run failed");
        return;
      case "timed_out":
        this.log.warn(fields, "run timed out");
        return;
      default:
        return;
    }
  }

  /**
   * The events of runs that changed, stamped with the time they are written: the body of the
   * transaction has run, only the insert of its events and the commit are left.
   */
  private runEvents(runs: readonly Run[]): EventDraft[] {
    return runEvents(runs, this.clock.now(), this.config.nodeId);
  }

  /** Writes events that report no other change (a node or a worker session started or ended). */
  private record(events: readonly EventDraft[]): Promise<void> {
    return this.db.tx(() => insertEvents(events));
  }

  start(): void {
    if (this.config.firing) {
      this.record([nodeEvent("scheduler_started", this.clock.now(), this.config.nodeId)]).catch(
        (err: unknown) => {
          this.log.warn({ err }, "recording scheduler_started failed");
        },
      );
      this.loops.push(this.loop("firing", this.fireWaiter, () => this.firingOnce()));
    }
    this.loops.push(this.loop("dispatch", this.dispatchWaiter, () => this.dispatchOnce()));
    this.loops.push(this.loop("sweep", this.sweepWaiter, () => this.sweepingOnce()));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.fireWaiter.wake();
    this.dispatchWaiter.wake();
    this.sweepWaiter.wake();
    await Promise.all(this.loops);
    for (const s of this.sessions.values()) for (const a of s.active.values()) a.stopTimer?.();
    for (const cancel of this.sendTimers) cancel();
    this.sendTimers.clear();
    await Promise.all(this.recording);
    if (this.config.firing)
      await this.record([
        nodeEvent("scheduler_shutdown", this.clock.now(), this.config.nodeId),
      ]).catch((err: unknown) => {
        this.log.warn({ err }, "recording scheduler_shutdown failed");
      });
  }

  /**
   * One pass of every step (claim due jobs, dispatch, sweep) at the clock's current time, for
   * tests that drive a manual clock and for operators' tooling. The loops keep running too;
   * every step is a transaction, so running one twice at once is harmless.
   */
  async pass(): Promise<void> {
    if (this.config.firing) await this.firingOnce();
    await this.dispatchOnce();
    await this.sweepingOnce();
    await this.dispatchOnce();
  }

  /**
   * Each step runs one at a time (the loop's and `pass()`'s calls queue), so that a pass sees the
   * work of a step the loop had under way: two claims at once would skip each other's locked
   * rows, and the pass would return before the loop's claim committed. Dispatch passes run one at
   * a time too: each reads the sessions' free slots before leasing.
   */
  private readonly firingOnce = serial(() => this.fireOnce());
  private readonly sweepingOnce = serial(() => this.sweepOnce());
  private readonly dispatchOnce = serial(() => this.dispatchExclusive());

  /**
   * A job or scheduler changed on this node: look for due jobs now if the change may have made
   * one due sooner than the node planned to look (`nextRunTime`: the changed job's; undefined:
   * unknown, look anyway). Adding many jobs for later wakes nothing.
   */
  jobsChanged(nextRunTime?: number | null): void {
    if (nextRunTime === null) return; // paused, or nothing left to fire
    if (nextRunTime === undefined) {
      // e.g. a scheduler resumed: its waiting runs may go out too.
      this.fireWaiter.wake();
      this.dispatchWaiter.wake();
    } else this.fireWaiter.wakeFor(nextRunTime - LOOKAHEAD_MS);
  }

  // ---- loops ----

  /** Runs `once` until stopped; `once` returns when to run again (a clock time). */
  private async loop(name: string, waiter: Waiter, once: () => Promise<number>): Promise<void> {
    while (!this.stopped) {
      let next: number;
      try {
        next = await once();
      } catch (err) {
        const unavailable = err instanceof StoreUnavailableError || isConnectionError(err);
        if (unavailable) this.lastOutage = this.clock.now();
        this.log.warn(
          { err, loop: name },
          unavailable ? "store unavailable" : "engine loop failed",
        );
        next = this.clock.now() + LOOP_ERROR_BACKOFF_MS;
      }
      if (next <= this.clock.now()) {
        // Again at once, but let I/O in first (SQLite transactions complete synchronously).
        await new Promise((resolve) => setImmediate(resolve));
        continue;
      }
      await waiter.sleep(this.clock, next);
    }
  }

  private plan = (job: Job, now: number) =>
    planFires(job, compileTrigger(job.trigger), {
      now,
      horizon: now + LOOKAHEAD_MS,
      newId: newRunId,
    });

  private fail = (run: Run, error: RunError): Run => {
    const now = this.clock.now();
    const e = boundedError(error);
    const next = afterFailure(run, e, now);
    const base = { ...run, error: e, leaseExpiresAt: null, deadlineAt: null, updatedAt: now };
    if (next.retry) {
      return {
        ...base,
        status: "pending",
        statusReason: `attempt ${String(run.attempt)} failed (${e.type}); retrying`,
        attempt: next.attempt,
        dueAt: next.dueAt,
        expiresAt: null,
        leaseToken: null,
      };
    }
    return {
      ...base,
      status: "failed",
      statusReason: e.nonRetryable ? `${e.type}: not retryable` : e.type,
      finishedAt: now,
    };
  };

  private async fireOnce(): Promise<number> {
    const now = this.clock.now();
    const batch = this.config.claimBatch ?? 200;
    const t0 = performance.now();
    const claimed = await this.db.tx(() =>
      withEvents(
        q.claimDueJobs(this.db.dialect, now + LOOKAHEAD_MS, batch, (job) => {
          try {
            return this.plan(job, now);
          } catch (err) {
            this.log.error(
              { err, scheduler: job.scheduler, jobId: job.id },
              "job cannot be planned: paused",
            );
            return null;
          }
        }),
        (c) => [
          ...this.runEvents(c.runs),
          ...c.ended.map((job) =>
            jobEvent(
              "job_removed",
              job,
              now,
              this.config.nodeId,
              job.trigger.type === "date" ? "date trigger fired" : "no fire time left",
            ),
          ),
          ...c.broken.map((job) =>
            jobEvent(
              "job_modified",
              job,
              now,
              this.config.nodeId,
              "paused: its trigger cannot be read by this version",
            ),
          ),
        ],
      ),
    );
    if (claimed.ignored > 0)
      this.log.warn(
        { runs: claimed.ignored },
        "fire times already had runs (the unique key kept them once)",
      );
    if (claimed.jobs > 0)
      this.log.debug(
        { jobs: claimed.jobs, runs: claimed.runs.length, ms: Math.round(performance.now() - t0) },
        "claimed due jobs",
      );
    if (claimed.runs.some((r) => r.status === "pending")) this.dispatchWaiter.wake();
    if (claimed.runs.length > 0) this.logDecisions(claimed.runs);
    await this.warnAtRisk(claimed.runs, claimed.paused, now);
    if (claimed.jobs === batch) return now; // more may be due
    const due = await this.db.read(() => q.nextDueTime(claimed.paused));
    const poll = now + this.config.pollIntervalMs;
    if (due === null) return poll;
    // A due job we could not claim is locked by another node: look again shortly.
    if (due <= now + LOOKAHEAD_MS) return now + BUSY_RETRY_MS;
    return Math.min(due - LOOKAHEAD_MS, poll);
  }

  private logDecisions(runs: readonly Run[]): void {
    if (!this.log.isLevelEnabled("trace")) return;
    for (const r of runs)
      this.log.trace(
        {
          runId: r.id,
          scheduler: r.scheduler,
          jobId: r.jobId,
          status: r.status,
          reason: r.statusReason,
        },
        "fire time handled",
      );
  }

  private async dispatchExclusive(): Promise<number> {
    const now = this.clock.now();
    let again = false;
    const handlers = new Set<string>();
    let paused: string[] | undefined; // read once per pass, when a session has room
    for (const s of this.sessions.values()) {
      const { slots, total } = s.free();
      if (total === 0) continue;
      paused ??= await this.db.read(() => q.pausedSchedulers());
      const pausedNow = paused;
      for (const h of slots.keys()) handlers.add(h);
      const t0 = performance.now();
      const limit = Math.min(total, LEASE_BATCH);
      const { taken, ended } = await this.db.tx(() =>
        withEvents(
          q.leaseRuns(
            this.db.dialect,
            now,
            {
              slots,
              total: limit,
              workerId: s.workerId,
              leaseToken: newLeaseToken(),
              leaseMs: this.config.leaseMs,
              paused: pausedNow,
              dueBy: now + PRELEASE_MS,
            },
            (run, running) => skippedForMaxInstances(run, running, now),
          ),
          (r) => this.runEvents([...r.ended, ...r.taken]),
        ),
      );
      if (ended.length > 0) again = true;
      if (taken.length === 0) continue;
      this.log.debug(
        { sessionId: s.id, runs: taken.length, ms: Math.round(performance.now() - t0) },
        "leased runs",
      );
      if (!this.sessions.has(s.id)) {
        // The session ended while its runs were being leased: hand them back at once.
        const leases = taken.map((r) => ({
          runId: r.id,
          attempt: r.attempt,
          token: r.leaseToken ?? "",
        }));
        await this.db.tx(() => q.releaseLeases(this.clock.now(), leases));
        continue;
      }
      for (const r of taken) this.track(s, r, now);
      this.send(s, taken, now);
      if (taken.length === limit) again = true;
    }
    if (again) return now;
    const poll = now + this.config.pollIntervalMs;
    if (handlers.size === 0) return poll;
    const due = await this.db.read(() => q.nextPendingDue([...handlers], paused ?? []));
    if (due === null) return poll;
    if (due <= now + PRELEASE_MS) return now + BUSY_RETRY_MS;
    return Math.min(due - PRELEASE_MS, poll);
  }

  /** Records a leased run on its session; a run leased ahead is held until it is due. */
  private track(s: SessionSlots, r: Run, now: number): void {
    const lease = { runId: r.id, attempt: r.attempt, token: r.leaseToken ?? "" };
    const entry: ActiveRun = { lease, handler: r.handler };
    if (r.deadlineAt !== null) {
      entry.stopTimer = this.clock.wakeAt(r.deadlineAt, () => {
        void this.timeOut(s, lease);
      });
    }
    if (!s.acceptsEarly && r.startedAt !== null && r.startedAt > now) entry.held = r;
    s.active.set(r.id, entry);
  }

  /** Sends a session's runs: those due now at once, those leased ahead at their due time. */
  private send(s: SessionSlots, runs: readonly Run[], now: number): void {
    if (s.acceptsEarly) {
      s.sink.assign(runs);
      return;
    }
    const byTime = new Map<number, Run[]>();
    for (const r of runs) {
      const at = r.startedAt !== null && r.startedAt > now ? r.startedAt : now;
      let list = byTime.get(at);
      if (list === undefined) byTime.set(at, (list = []));
      list.push(r);
    }
    for (const [at, list] of byTime) {
      if (at <= now) {
        s.sink.assign(list);
        continue;
      }
      const cancel = this.clock.wakeAt(at, () => {
        this.sendTimers.delete(cancel);
        // Stopping: runs not sent yet are handed back when their session ends.
        if (this.closing) return;
        const due = list.filter((r) => {
          const a = s.active.get(r.id);
          if (a?.held !== r) return false; // cancelled, revoked or handed back meanwhile
          a.held = undefined;
          return true;
        });
        if (due.length > 0 && this.sessions.has(s.id)) s.sink.assign(due);
      });
      this.sendTimers.add(cancel);
    }
  }

  private async timeOut(s: SessionSlots, lease: q.Lease): Promise<void> {
    try {
      const now = this.clock.now();
      const run = await this.db.tx(() =>
        withEvents(q.timeOutRun(this.db.dialect, now, lease), (r) =>
          this.runEvents(r === null ? [] : [r]),
        ),
      );
      if (run === null) return; // finished meanwhile
      this.logOutcome(run);
      this.release(s, lease.runId);
      s.sink.revoke(lease, "timed_out", run.statusReason);
    } catch (err) {
      this.log.warn({ err, runId: lease.runId }, "timing out a run failed; the sweeper retries");
    }
  }

  private release(s: SessionSlots, runId: string): void {
    const a = s.active.get(runId);
    if (a === undefined) return;
    a.stopTimer?.();
    s.active.delete(runId);
    this.dispatchWaiter.wake();
    this.checkSettled();
  }

  // ---- stopping ----

  /** The node is stopping: its sessions get no more runs. */
  private closing = false;
  private readonly settledWaiters = new Set<() => void>();

  /** No more runs go to this node's workers (the node is stopping): every session drains. */
  drainSessions(): void {
    this.closing = true;
    for (const s of this.sessions.values()) s.draining = true;
  }

  /** Runs sent to this node's workers whose outcome is not recorded yet. */
  runsInFlight(): number {
    let n = 0;
    for (const s of this.sessions.values())
      for (const a of s.active.values()) if (a.held === undefined) n++;
    return n;
  }

  /**
   * Resolves true once no run is in flight (runsInFlight() is 0), or false when `signal` aborts
   * first.
   */
  runsSettled(signal: AbortSignal): Promise<boolean> {
    if (this.runsInFlight() === 0) return Promise.resolve(true);
    if (signal.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const settled = (): void => {
        signal.removeEventListener("abort", aborted);
        resolve(true);
      };
      const aborted = (): void => {
        this.settledWaiters.delete(settled);
        resolve(false);
      };
      this.settledWaiters.add(settled);
      signal.addEventListener("abort", aborted, { once: true });
    });
  }

  private checkSettled(): void {
    if (this.settledWaiters.size === 0 || this.runsInFlight() > 0) return;
    const waiters = [...this.settledWaiters];
    this.settledWaiters.clear();
    for (const w of waiters) w();
  }

  /** Ends every session (see SessionSink.end): their workers reconnect to another node. */
  endSessions(): void {
    for (const s of this.sessions.values()) s.sink.end?.();
  }

  private async sweepOnce(): Promise<number> {
    const now = this.clock.now();
    await this.refreshSessions(now);
    const misfires = now - this.lastMisfireSweep >= MISFIRE_SWEEP_MS;
    if (misfires) this.lastMisfireSweep = now;
    // After an outage, workers could not heartbeat: give them a lease's time to reconnect and
    // extend their leases before expiring any (else every healthy run would be retried).
    const leases = now - this.lastOutage >= this.config.leaseMs;
    const swept = await this.db.tx(() =>
      withEvents(q.sweep(this.db.dialect, now, SWEEP_BATCH, this.fail, misfires, leases), (r) =>
        this.runEvents([...r.missed, ...r.timedOut, ...r.expired]),
      ),
    );
    if (swept.expired.some((r) => r.status === "pending")) this.dispatchWaiter.wake();
    if (swept.missed.length > 0) await this.logMissed(swept.missed);
    for (const r of [...swept.timedOut, ...swept.expired]) this.logOutcome(r);
    // Runs of this node's sessions that ended elsewhere (cancelled through another node, timed
    // out or expired): tell their workers.
    await this.checkLeases();
    if (now - this.lastRetention >= RETENTION_EVERY_MS) {
      this.lastRetention = now;
      const before = now - this.config.runRetentionMs;
      // Rows of sessions whose node stopped without removing them (a crash), a lease after
      // they expired (node clocks may differ a little).
      await this.db.tx(() => workers.deleteExpiredSessions(now - this.config.leaseMs));
      // At most 10 batches per pass: the sweep's other work must not wait behind a backlog.
      for (let i = 0; i < 10 && !this.stopped; i++) {
        if ((await this.db.tx(() => q.deleteOldRuns(before, 1000))) < 1000) break;
        if (i === 9) this.lastRetention = now - RETENTION_EVERY_MS; // more next pass
      }
    }
    const full =
      swept.missed.length === SWEEP_BATCH ||
      swept.expired.length === SWEEP_BATCH ||
      swept.timedOut.length === SWEEP_BATCH;
    return full ? now : now + Math.min(1000, this.config.pollIntervalMs);
  }

  private async checkLeases(): Promise<void> {
    const held: { s: SessionSlots; lease: q.Lease }[] = [];
    for (const s of this.sessions.values())
      for (const a of s.active.values()) held.push({ s, lease: a.lease });
    if (held.length === 0) return;
    const states = await this.db.read(() => q.leaseStates(held.map((h) => h.lease)));
    for (const { s, lease } of held) {
      const state = states.get(lease.runId);
      if (state === undefined || state.current) continue;
      const entry = s.active.get(lease.runId);
      if (entry?.lease.token !== lease.token) continue; // changed meanwhile
      if (entry.completing === true) continue; // its result is being recorded
      this.release(s, lease.runId);
      if (entry.held !== undefined) continue; // never sent: nothing to stop
      const reason =
        state.status === "cancelled"
          ? "cancelled"
          : state.status === "timed_out"
            ? "timed_out"
            : "lease_lost";
      // The same message as when the cancellation is delivered at once (CancelRun's reason).
      s.sink.revoke(
        lease,
        reason,
        reason === "lease_lost" || state.reason === ""
          ? `the run is ${state.status}`
          : state.reason,
      );
    }
  }

  // ---- sessions ----

  addSession(s: SessionSlots): void {
    if (this.closing) s.draining = true;
    this.sessions.set(s.id, s);
    this.dispatchWaiter.wake();
    for (const h of s.handlers.keys()) this.servedAgain(h);
    // The session's handlers count for every node once worker_connected is committed.
    const now = this.clock.now();
    const row = {
      sessionId: s.id,
      workerId: s.workerId,
      nodeId: this.config.nodeId,
      handlers: [...s.handlers.keys()],
    };
    this.recordSoon(s, workerEvent("worker_connected", s.info(), now, this.config.nodeId), () =>
      workers.registerSession(row, now + this.config.leaseMs),
    );
  }

  /** Worker events are written in the background; stop() waits for them. */
  private readonly recording = new Set<Promise<void>>();

  /**
   * Writes a session's event (and `also`, its worker_handlers change) in one transaction, after
   * the session's earlier writes.
   */
  private recordSoon(s: SessionSlots, event: EventDraft | null, also: () => Tx<void>): void {
    const write = () =>
      this.db.tx(function* () {
        yield* also();
        if (event !== null) yield* insertEvents([event]);
      });
    const p = s.registry
      .then(write)
      .catch((err: unknown) => {
        this.log.warn({ err, type: event?.type }, "recording a worker session change failed");
      })
      .finally(() => this.recording.delete(p));
    s.registry = p;
    this.recording.add(p);
  }

  /**
   * The session ended: the leases of runs it was sent stay until they expire or another session
   * resumes them; runs leased ahead and not sent yet, and `neverSent` (assignments still queued
   * when the stream ended), are handed back at once.
   */
  removeSession(s: SessionSlots, neverSent: readonly q.Lease[] = [], reason = "closed"): void {
    if (!this.sessions.delete(s.id)) return;
    this.checkSettled();
    this.recordSoon(
      s,
      workerEvent("worker_disconnected", s.info(), this.clock.now(), this.config.nodeId, reason),
      () => workers.unregisterSession(s.id),
    );
    const unsent: q.Lease[] = [...neverSent];
    const listed = new Set(neverSent.map((l) => l.runId));
    for (const a of s.active.values()) {
      a.stopTimer?.();
      if (a.held !== undefined && !listed.has(a.lease.runId)) unsent.push(a.lease);
    }
    if (unsent.length === 0) return;
    void this.db
      .tx(() => q.releaseLeases(this.clock.now(), unsent))
      .then(() => {
        this.dispatchWaiter.wake();
      })
      .catch((err: unknown) => {
        this.log.warn(
          { err, runs: unsent.length },
          "handing back unsent runs failed; their leases expire",
        );
      });
  }

  /** The session takes no more runs: its handlers stop counting as served by it. */
  drain(s: SessionSlots): void {
    if (s.draining) return;
    s.draining = true;
    this.recordSoon(s, null, () => workers.unregisterSession(s.id));
  }

  // ---- who serves which handler ----

  /** Sessions of this node that serve `handler` (connected, not draining). */
  private localServing(handler: string): number {
    let n = 0;
    for (const s of this.sessions.values()) if (!s.draining && s.handlers.has(handler)) n++;
    return n;
  }

  /**
   * How many worker sessions of the cluster (connected, not draining) serve each handler now:
   * this node's from memory, the other nodes' from the store.
   */
  async workerCounts(handlers: Iterable<string>): Promise<Map<string, number>> {
    const list = [...new Set(handlers)];
    const remote =
      list.length === 0
        ? new Map<string, number>()
        : await this.db.read(() =>
            workers.servingSessions(list, this.clock.now(), this.config.nodeId),
          );
    const counts = new Map<string, number>();
    for (const h of list) {
      const n = this.localServing(h) + (remote.get(h) ?? 0);
      counts.set(h, n);
      this.remoteServed.set(h, { count: remote.get(h) ?? 0, at: performance.now() });
    }
    return counts;
  }

  /** Whether a handler has a worker anywhere, reading other nodes' sessions at most once a second. */
  private async served(handlers: ReadonlySet<string>): Promise<Set<string>> {
    const served = new Set<string>();
    const unknown: string[] = [];
    for (const h of handlers) {
      if (this.localServing(h) > 0) served.add(h);
      else {
        const cached = this.remoteServed.get(h);
        if (cached !== undefined && performance.now() - cached.at < SERVED_CACHE_MS) {
          if (cached.count > 0) served.add(h);
        } else unknown.push(h);
      }
    }
    if (unknown.length > 0) {
      if (this.remoteServed.size > 10_000) this.remoteServed.clear();
      for (const [h, n] of await this.workerCounts(unknown)) if (n > 0) served.add(h);
    }
    return served;
  }

  /**
   * A handler that no worker serves: logged once (until a worker serves it again), naming the
   * handler and what follows for its jobs. `job`: the job that met it.
   */
  noteUnserved(handler: string, job: { scheduler: string; id: string }): void {
    if (this.unservedLogged.has(handler)) return;
    if (this.unservedLogged.size >= 10_000) this.unservedLogged.clear();
    this.unservedLogged.add(handler);
    this.log.warn(
      { handler, scheduler: job.scheduler, jobId: job.id },
      `no connected worker serves handler ${handler}: runs of its jobs wait, and are recorded as missed once their misfire grace passes, until a worker registers it`,
    );
  }

  /** A handler is served (again): a later outage is logged again. */
  private servedAgain(handler: string): void {
    if (this.unservedLogged.delete(handler))
      this.log.info({ handler }, `a worker serves handler ${handler} again`);
  }

  // ---- fires at risk ----

  /**
   * After a claim: records job_at_risk for the runs it prepared whose handler no worker serves,
   * and (at most once a second) for the jobs due in paused schedulers. Failures are logged: a
   * warning must not stop the firing loop.
   */
  private async warnAtRisk(runs: readonly Run[], paused: readonly string[], now: number) {
    try {
      const events: EventDraft[] = [];
      const pending = runs.filter((r) => r.status === "pending");
      if (pending.length > 0) {
        const served = await this.served(new Set(pending.map((r) => r.handler)));
        for (const r of pending) {
          const job = { scheduler: r.scheduler, id: r.jobId, handler: r.handler };
          if (served.has(r.handler)) {
            this.atRisk.delete(riskKey(job));
            this.servedAgain(r.handler);
            continue;
          }
          this.noteUnserved(r.handler, job);
          const e = this.atRiskDraft(job, AT_RISK.noWorker, r, now);
          if (e !== null) events.push(e);
        }
      }
      const checkPaused =
        now < this.lastPausedCheck || now - this.lastPausedCheck >= PAUSED_CHECK_MS;
      if (paused.length > 0 && checkPaused) {
        this.lastPausedCheck = now;
        const due = await this.db.read(() =>
          q.dueJobsOf(paused, now + LOOKAHEAD_MS, PAUSED_CHECK_LIMIT),
        );
        for (const j of due) {
          const e = this.atRiskDraft(
            { scheduler: j.scheduler, id: j.id, handler: j.handler },
            AT_RISK.paused,
            { scheduledTime: j.nextRunTime, id: null, manual: false },
            now,
          );
          if (e !== null) events.push(e);
        }
      }
      if (events.length > 0) await this.record(events);
    } catch (err) {
      this.log.warn({ err }, "checking for fires at risk failed");
    }
  }

  /** The job_at_risk event to record, or null when this node recorded one lately. */
  private atRiskDraft(
    job: { scheduler: string; id: string; handler: string },
    reason: AtRiskReason,
    fire: { scheduledTime: number; id: string | null; manual: boolean },
    now: number,
  ): EventDraft | null {
    const key = riskKey(job);
    const last = this.atRisk.get(key);
    if (last !== undefined && last.reason === reason && now - last.at < AT_RISK_REPEAT_MS)
      return null;
    if (this.atRisk.size >= 100_000) this.atRisk.clear();
    this.atRisk.set(key, { reason, at: now });
    return atRiskEvent(
      job,
      reason,
      { scheduledTime: fire.scheduledTime, runId: fire.id, manual: fire.manual },
      now,
      this.config.nodeId,
    );
  }

  /** Pushes this node's sessions' worker_handlers rows forward, every third of a lease. */
  private async refreshSessions(now: number): Promise<void> {
    // (A clock set back, in tests, refreshes at once.)
    if (now >= this.lastRefresh && now - this.lastRefresh < this.config.leaseMs / 3) return;
    this.lastRefresh = now;
    const live = [...this.sessions.values()].filter((s) => !s.draining).map((s) => s.id);
    if (live.length > 0)
      await this.db.tx(() => workers.refreshSessions(live, now + this.config.leaseMs));
  }

  /** Logs missed runs with their handler and why they could not run. */
  private async logMissed(missed: readonly Run[]): Promise<void> {
    let served = new Set<string>();
    let paused: readonly string[] = [];
    try {
      served = await this.served(new Set(missed.map((r) => r.handler)));
      paused = await this.db.read(() => q.pausedSchedulers());
    } catch {
      // The reason is a courtesy: log without it.
    }
    for (const r of missed) {
      const why = paused.includes(r.scheduler)
        ? AT_RISK.paused
        : served.has(r.handler)
          ? "its workers had no free slot"
          : AT_RISK.noWorker;
      this.log.warn(
        {
          runId: r.id,
          jobId: r.jobId,
          scheduler: r.scheduler,
          handler: r.handler,
          reason: r.statusReason,
          why,
        },
        `run missed: ${r.statusReason}; ${why} (handler ${r.handler})`,
      );
    }
  }

  /** Extends the session's listed leases; answers those it no longer holds. */
  async heartbeat(s: SessionSlots, leases: readonly q.Lease[]): Promise<q.Lease[]> {
    const lost = (
      await this.db.read(() =>
        q.extendLeases(this.clock.now(), leases, this.config.leaseMs, s.workerId),
      )
    ).filter((l) => !s.reported.has(`${l.runId}/${l.token}`));
    const lostIds = new Set(lost.map((l) => l.runId));
    const adopted = leases.filter((l) => !lostIds.has(l.runId) && !s.active.has(l.runId));
    // Leases resumed from an earlier session (WorkerHello.resumed_leases) count toward their
    // handler's limit too: look their handlers up.
    const handlers =
      adopted.length === 0
        ? new Map<string, string>()
        : await this.db.read(() => q.runHandlers(adopted.map((l) => l.runId)));
    for (const l of leases) {
      if (lostIds.has(l.runId) && s.active.get(l.runId)?.lease.token === l.token)
        this.release(s, l.runId);
    }
    for (const l of adopted) {
      if (!s.active.has(l.runId))
        s.active.set(l.runId, { lease: l, handler: handlers.get(l.runId) ?? "" });
    }
    return lost;
  }

  /** Records a result; the session's slot is free again either way. */
  async complete(s: SessionSlots, lease: q.Lease, outcome: q.Outcome): Promise<q.Verdict> {
    const entry = s.active.get(lease.runId);
    if (entry?.lease.token === lease.token) entry.completing = true;
    s.reported.add(`${lease.runId}/${lease.token}`);
    if (s.reported.size > 10_000) {
      const oldest = s.reported.values().next().value;
      if (oldest !== undefined) s.reported.delete(oldest);
    }
    try {
      return await this.completions.run({ lease, outcome });
    } finally {
      if (s.active.get(lease.runId)?.lease.token === lease.token) this.release(s, lease.runId);
    }
  }

  // ---- the API ----

  async runNow(scheduler: string, jobId: string): Promise<Run> {
    const run = await this.db.tx(() =>
      q.createManualRun(this.db.dialect, scheduler, jobId, (job, shift) => {
        const now = this.clock.now() + shift;
        return manualRun(job, compileTrigger(job.trigger), { now, newId: newRunId });
      }),
    );
    if (run === null) throw new NotFoundError(`job ${jobId} in scheduler ${scheduler}`);
    if (run.status === "pending") {
      this.dispatchWaiter.wake();
      await this.warnManualRun(run);
    }
    return run;
  }

  /** A manual run that cannot run (no worker, or its scheduler paused): job_at_risk, each time. */
  private async warnManualRun(run: Run): Promise<void> {
    try {
      const job = { scheduler: run.scheduler, id: run.jobId, handler: run.handler };
      const paused = await this.db.read(() => q.pausedSchedulers());
      let reason: AtRiskReason | null = paused.includes(run.scheduler) ? AT_RISK.paused : null;
      if (reason === null && !(await this.served(new Set([run.handler]))).has(run.handler)) {
        reason = AT_RISK.noWorker;
        this.noteUnserved(run.handler, job);
      }
      if (reason === null) return;
      const now = this.clock.now();
      await this.record([
        atRiskEvent(
          job,
          reason,
          { scheduledTime: run.scheduledTime, runId: run.id, manual: true },
          now,
          this.config.nodeId,
        ),
      ]);
    } catch (err) {
      this.log.warn({ err, runId: run.id }, "checking a manual run for risk failed");
    }
  }

  /**
   * A scheduler paused since `since` is about to be resumed (call it while still paused): see
   * withdrawPreparedSince.
   */
  async resumingScheduler(scheduler: string, since: number): Promise<void> {
    await this.db.tx(() => q.withdrawPreparedSince(this.db.dialect, scheduler, since));
  }

  /** A job (or, with `jobId` null, every job of a scheduler) was removed. */
  async jobRemoved(scheduler: string, jobId: string | null): Promise<void> {
    const now = this.clock.now();
    await this.db.tx(() =>
      withEvents(q.cancelPendingRuns(this.db.dialect, now, scheduler, jobId), (runs) =>
        this.runEvents(runs),
      ),
    );
  }

  async getRun(runId: string): Promise<Run> {
    const run = await this.db.read(() => q.getRun(runId));
    if (run === null) throw new NotFoundError(`run ${runId}`);
    return run;
  }

  listRuns(query: q.ListRunsQuery): Promise<Run[]> {
    return this.db.read(() => q.listRuns(query));
  }

  async cancel(runId: string, reason: string): Promise<Run> {
    const now = this.clock.now();
    const out = await this.db.tx(() =>
      withEvents(q.cancelRun(this.db.dialect, now, runId, reason || "cancelled"), (o) =>
        o.kind === "cancelled" && o.changed ? this.runEvents([o.run]) : [],
      ),
    );
    if (out.kind === "not_found") throw new NotFoundError(`run ${runId}`);
    if (out.kind === "final")
      throw new FailedPreconditionError(`run ${runId} has already ended (${out.run.status})`);
    if (out.wasRunning) {
      // The worker is told at once if its session is on this node, else by its node's next sweep.
      for (const s of this.sessions.values()) {
        const a = s.active.get(runId);
        if (a === undefined) continue;
        this.release(s, runId);
        if (a.held === undefined) s.sink.revoke(a.lease, "cancelled", out.run.statusReason);
      }
    }
    return out.run;
  }
}

/**
 * Run ids: 32 hex digits, the creation time in milliseconds first, then 80 random bits. Ids in
 * creation order keep the clustered primary key's inserts at its end (random UUIDs scatter them
 * over the whole table), and they sort by age.
 */
function newRunId(): string {
  return Date.now().toString(16).padStart(12, "0") + randomBytes(10).toString("hex");
}

function riskKey(job: { scheduler: string; id: string }): string {
  return `${job.scheduler}\u0000${job.id}`;
}

/** The first line of `text`, at most 200 characters: a log line stays one line. */
function oneLine(text: string): string {
  const line = text.split("\n", 1)[0] ?? "";
  return line.length > 200 ? `${line.slice(0, 199)}…` : line;
}

function newLeaseToken(): string {
  return randomBytes(12).toString("base64url");
}

function isConnectionError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return (
    typeof code === "string" &&
    ["ECONNREFUSED", "ECONNRESET", "PROTOCOL_CONNECTION_LOST", "ETIMEDOUT", "EPIPE"].includes(code)
  );
}
