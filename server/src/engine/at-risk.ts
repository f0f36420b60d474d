/**
 * Fires that cannot run. Every node records its sessions' handlers in the worker registry, so
 * that any node knows whether a handler has a worker anywhere. When a claim prepares a run whose
 * handler no session serves, or finds jobs due in a paused scheduler, or a manual run is made
 * that cannot run, the node records a job_at_risk event (at most once per job and reason per
 * AT_RISK_REPEAT_MS) and logs the unserved handler once. Missed runs are logged with why.
 */
import type { Clock } from "../clock.js";
import {
  AT_RISK,
  atRiskEvent,
  type AtRiskReason,
  type EventDraft,
  byActor,
} from "../domain/events.js";
import type { Run } from "../domain/runs.js";
import { Batcher } from "../lib/batcher.js";
import type { Logger } from "../logger.js";
import { StoreTimeoutError } from "../store/errors.js";
import type { EventStore, FiringStore, SchedulerStore, WorkerRegistry } from "../store/port.js";

/**
 * A node records at most one job_at_risk event per job and reason in this time, and again at
 * once when the job was seen able to run in between (its handler served, its scheduler not
 * paused). So a job that fires every second with no worker makes one event an hour, not 3,600.
 */
export const AT_RISK_REPEAT_MS = 3_600_000;
/** How long a node reuses what it read of other nodes' sessions for the at-risk check. */
const SERVED_CACHE_MS = 1000;
/** The most handlers one read of other nodes' sessions asks for. */
const REMOTE_READ_BATCH = 1000;
/** How often a node looks for jobs due in paused schedulers. */
const PAUSED_CHECK_MS = 1000;
/** The most jobs of paused schedulers one check reports. */
const PAUSED_CHECK_LIMIT = 1000;

export type AtRiskStore = Pick<WorkerRegistry, "servingSessions"> &
  Pick<FiringStore, "dueJobsOf"> &
  Pick<SchedulerStore, "pausedSchedulers"> &
  Pick<EventStore, "appendEvents">;

interface JobRef {
  readonly scheduler: string;
  readonly id: string;
  readonly handler: string;
}

export class AtRisk {
  /** The last job_at_risk recorded per job (scheduler, id) by this node. */
  private readonly recorded = new Map<string, { reason: AtRiskReason; at: number }>();
  /** Handlers logged as served by no worker (logged again after a worker served them). */
  private readonly unservedLogged = new Set<string>();
  /** Other nodes' sessions per handler, as last read (performance.now() time). */
  private readonly remoteServed = new Map<string, { count: number; at: number }>();
  /** When this node last looked for jobs due in paused schedulers. */
  private lastPausedCheck = Number.NEGATIVE_INFINITY;
  /**
   * Other nodes' sessions per handler, read for the requests that arrive together: every job in
   * an answer carries its worker count (GetJob, AddJob, …), and one read per call was a second
   * statement on GetJob's path. Each read starts after its requests arrived, so a count is as
   * fresh as a read of its own.
   */
  private readonly remoteReads = new Batcher<string, number>(
    async (handlers) => {
      const remote = await this.store.servingSessions(
        [...new Set(handlers)],
        this.clock.now(),
        this.config.nodeId,
      );
      return handlers.map((h) => remote.get(h) ?? 0);
    },
    { maxBatch: REMOTE_READ_BATCH, late: () => new StoreTimeoutError() },
  );

  constructor(
    private readonly store: AtRiskStore,
    /** This node's sessions that serve a handler (connected, not draining). */
    private readonly localServing: (handler: string) => number,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly config: { readonly nodeId: string; readonly lookaheadMs: number },
  ) {}

  /**
   * How many worker sessions of the cluster (connected, not draining) serve each handler now:
   * this node's from memory, the other nodes' from the store, or from `known` for the handlers
   * it holds (the other nodes' sessions, read by the caller's own statement after its request
   * arrived, as fresh as a read here).
   */
  async workerCounts(
    handlers: Iterable<string>,
    known?: ReadonlyMap<string, number>,
  ): Promise<Map<string, number>> {
    const list = [...new Set(handlers)];
    const unknown = list.filter((h) => known?.get(h) === undefined);
    const read =
      unknown.length === 0 ? [] : await Promise.all(unknown.map((h) => this.remoteReads.run(h)));
    const readOf = new Map(unknown.map((h, i) => [h, read[i] ?? 0]));
    const remote = list.map((h) => known?.get(h) ?? readOf.get(h) ?? 0);
    const counts = new Map<string, number>();
    const at = performance.now();
    list.forEach((h, i) => {
      const n = remote[i] ?? 0;
      counts.set(h, this.localServing(h) + n);
      this.remoteServed.set(h, { count: n, at });
    });
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
  servedAgain(handler: string): void {
    if (this.unservedLogged.delete(handler))
      this.log.info({ handler }, `a worker serves handler ${handler} again`);
  }

  /**
   * After a claim: records job_at_risk for the runs it prepared whose handler no worker serves,
   * and (at most once a second) for the jobs due in paused schedulers. Failures are logged: a
   * warning must not stop the firing loop.
   */
  async afterClaim(runs: readonly Run[], paused: readonly string[], now: number): Promise<void> {
    try {
      const events: EventDraft[] = [];
      const pending = runs.filter((r) => r.status === "pending");
      if (pending.length > 0) {
        const served = await this.served(new Set(pending.map((r) => r.handler)));
        for (const r of pending) {
          const job = { scheduler: r.scheduler, id: r.jobId, handler: r.handler };
          if (served.has(r.handler)) {
            this.recorded.delete(riskKey(job));
            this.servedAgain(r.handler);
            continue;
          }
          this.noteUnserved(r.handler, job);
          const e = this.draft(job, AT_RISK.noWorker, r, now);
          if (e !== null) events.push(e);
        }
      }
      const checkPaused =
        now < this.lastPausedCheck || now - this.lastPausedCheck >= PAUSED_CHECK_MS;
      if (paused.length > 0 && checkPaused) {
        this.lastPausedCheck = now;
        const due = await this.store.dueJobsOf(
          paused,
          now + this.config.lookaheadMs,
          PAUSED_CHECK_LIMIT,
        );
        for (const j of due) {
          const e = this.draft(
            { scheduler: j.scheduler, id: j.id, handler: j.handler },
            AT_RISK.paused,
            { scheduledTime: j.nextRunTime, id: null, manual: false },
            now,
          );
          if (e !== null) events.push(e);
        }
      }
      if (events.length > 0) await this.store.appendEvents(events);
    } catch (err) {
      this.log.warn({ err }, "checking for fires at risk failed");
    }
  }

  /** A manual run that cannot run (no worker, or its scheduler paused): job_at_risk, each time. */
  async manualRun(run: Run): Promise<void> {
    try {
      const job = { scheduler: run.scheduler, id: run.jobId, handler: run.handler };
      const paused = await this.store.pausedSchedulers();
      let reason: AtRiskReason | null = paused.includes(run.scheduler) ? AT_RISK.paused : null;
      if (reason === null && !(await this.served(new Set([run.handler]))).has(run.handler)) {
        reason = AT_RISK.noWorker;
        this.noteUnserved(run.handler, job);
      }
      if (reason === null) return;
      await this.store.appendEvents(
        byActor(
          [
            atRiskEvent(
              job,
              reason,
              { scheduledTime: run.scheduledTime, runId: run.id, manual: true },
              this.clock.now(),
              this.config.nodeId,
            ),
          ],
          run.triggeredBy,
        ),
      );
    } catch (err) {
      this.log.warn({ err, runId: run.id }, "checking a manual run for risk failed");
    }
  }

  /** Logs missed runs with their handler and why they could not run. */
  async logMissed(missed: readonly Run[]): Promise<void> {
    let served = new Set<string>();
    let paused: readonly string[] = [];
    try {
      served = await this.served(new Set(missed.map((r) => r.handler)));
      paused = await this.store.pausedSchedulers();
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

  /** The job_at_risk event to record, or null when this node recorded one lately. */
  private draft(
    job: JobRef,
    reason: AtRiskReason,
    fire: { scheduledTime: number; id: string | null; manual: boolean },
    now: number,
  ): EventDraft | null {
    const key = riskKey(job);
    const last = this.recorded.get(key);
    if (last !== undefined && last.reason === reason && now - last.at < AT_RISK_REPEAT_MS)
      return null;
    if (this.recorded.size >= 100_000) this.recorded.clear();
    this.recorded.set(key, { reason, at: now });
    return atRiskEvent(
      job,
      reason,
      { scheduledTime: fire.scheduledTime, runId: fire.id, manual: fire.manual },
      now,
      this.config.nodeId,
    );
  }
}

function riskKey(job: { scheduler: string; id: string }): string {
  return `${job.scheduler}\u0000${job.id}`;
}
