/**
 * The firing engine of one node: it claims due jobs and turns their fire times into runs
 * (firing.ts), hands pending runs to the worker sessions connected to this node (dispatch/), and
 * sweeps runs whose misfire grace, lease or timeout ran out (sweeper.ts). Every guarantee rests
 * on the store: runs are unique per (job, fire time), claims and leases are exclusive across
 * nodes, and a result is accepted only for its run's current lease. Timers only decide when to
 * look.
 *
 * Waking: a node sleeps until the earliest due time it knows (job fire times, pending runs of
 * its workers' handlers), is woken at once by its own changes and by the changes of other nodes
 * that the store announces (PostgreSQL's LISTEN/NOTIFY: jobsChanged, runsChanged), and polls
 * every `pollIntervalMs` for other nodes' changes it does not hear of.
 */
import type { Clock } from "../clock.js";
import { nodeEvent } from "../domain/events.js";
import type { Run } from "../domain/runs.js";
import { Dispatcher } from "../dispatch/dispatcher.js";
import { serial } from "../lib/serial.js";
import { Waiter } from "../lib/waiter.js";
import type { Logger } from "../logger.js";
import type { ListRunsQuery, Store, StoreLifecycle } from "../store/port.js";
import { AtRisk } from "./at-risk.js";
import { Firing, LOOKAHEAD_MS } from "./firing.js";
import { runLoop } from "./loop.js";
import { RunControl } from "./run-control.js";
import { Sweeper } from "./sweeper.js";

export interface EngineConfig {
  /** Whether this node claims due jobs (SCHEDULER__ENABLED). Dispatch and sweeps always run. */
  readonly firing: boolean;
  readonly nodeId: string;
  readonly leaseMs: number;
  readonly pollIntervalMs: number;
  readonly runRetentionMs: number;
  /** Jobs claimed per operation. */
  readonly claimBatch?: number;
}

/** What the engine tells its node (metrics). */
export interface EngineHooks {
  /** Runs were sent to a worker at `at` (clock time). */
  readonly sent?: (runs: readonly Run[], at: number) => void;
}

/** The store operations the engine and its dispatch use. */
export type EngineStore = Omit<Store, keyof StoreLifecycle>;

export class Engine {
  /** The node's worker sessions (the worker protocol's adapter opens them here). */
  readonly dispatch: Dispatcher;
  private readonly atRisk: AtRisk;
  private readonly firing: Firing;
  private readonly sweeper: Sweeper;
  private readonly control: RunControl;
  private readonly fireWaiter = new Waiter();
  private readonly sweepWaiter = new Waiter();
  private stopped = false;
  private readonly loops: Promise<void>[] = [];
  /** When a loop last found the store unavailable. */
  private lastOutage = Number.NEGATIVE_INFINITY;
  /**
   * Each step runs one at a time (the loop's and `pass()`'s calls queue), so that a pass sees the
   * work of a step the loop had under way: two claims at once would skip each other's locked
   * rows, and the pass would return before the loop's claim committed.
   */
  private readonly firingOnce: () => Promise<number>;
  private readonly sweepingOnce: () => Promise<number>;

  constructor(
    private readonly store: EngineStore,
    private readonly clock: Clock,
    private readonly log: Logger,
    readonly config: EngineConfig,
    hooks: EngineHooks = {},
  ) {
    const nodeId = config.nodeId;
    this.dispatch = new Dispatcher(store, clock, log, config, {
      served: (handlers) => {
        for (const h of handlers) this.atRisk.servedAgain(h);
      },
      ...(hooks.sent === undefined ? {} : { sent: hooks.sent }),
    });
    this.atRisk = new AtRisk(store, (h) => this.dispatch.sessions.serving(h), clock, log, {
      nodeId,
      lookaheadMs: LOOKAHEAD_MS,
    });
    this.firing = new Firing(
      store,
      clock,
      log,
      { nodeId, pollIntervalMs: config.pollIntervalMs, claimBatch: config.claimBatch ?? 200 },
      {
        runsPending: () => {
          this.dispatch.wake();
        },
        claimed: (runs, paused, now) => {
          this.dispatch.runsMade(runs);
          return this.atRisk.afterClaim(runs, paused, now);
        },
      },
    );
    this.sweeper = new Sweeper(store, this.dispatch, clock, log, config, {
      stopped: () => this.stopped,
      lastOutage: () => this.lastOutage,
      missed: (runs) => this.atRisk.logMissed(runs),
    });
    this.control = new RunControl(store, this.dispatch, this.atRisk, clock, nodeId);
    this.firingOnce = serial(() => this.firing.pass());
    this.sweepingOnce = serial(() => this.sweeper.pass());
  }

  start(): void {
    if (this.config.firing) {
      this.record("scheduler_started").catch((err: unknown) => {
        this.log.warn({ err }, "recording scheduler_started failed");
      });
      this.loops.push(this.loop("firing", this.fireWaiter, this.firingOnce));
    }
    this.loops.push(this.loop("dispatch", this.dispatch.sessions.waiter, this.dispatch.pass));
    this.loops.push(this.loop("sweep", this.sweepWaiter, this.sweepingOnce));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.fireWaiter.wake();
    this.dispatch.wake();
    this.sweepWaiter.wake();
    await Promise.all(this.loops);
    await this.dispatch.stop();
    if (this.config.firing)
      await this.record("scheduler_shutdown").catch((err: unknown) => {
        this.log.warn({ err }, "recording scheduler_shutdown failed");
      });
  }

  /**
   * One pass of every step (claim due jobs, dispatch, sweep) at the clock's current time, for
   * tests that drive a manual clock and for operators' tooling. The loops keep running too;
   * every step is atomic, so running one twice at once is harmless.
   */
  async pass(): Promise<void> {
    if (this.config.firing) await this.firingOnce();
    await this.dispatch.pass();
    await this.sweepingOnce();
    await this.dispatch.pass();
  }

  /**
   * A job or scheduler changed on this node: look for due jobs now if the change may have made
   * one due sooner than the node planned to look (`nextRunTime`: the changed job's; undefined:
   * unknown, look anyway). Adding many jobs for later wakes nothing.
   */
  jobsChanged(nextRunTime?: number | null): void {
    if (nextRunTime === null) return; // paused, or nothing left to fire
    this.firing.restart(nextRunTime);
    if (nextRunTime === undefined) {
      // e.g. a scheduler resumed: its waiting runs may go out too.
      this.fireWaiter.wake();
      this.dispatch.wake();
    } else this.fireWaiter.wakeFor(nextRunTime - LOOKAHEAD_MS);
  }

  /** Runs became pending on another node: hand them to this node's workers now. */
  runsChanged(): void {
    this.dispatch.wake();
  }

  private loop(name: string, waiter: Waiter, once: () => Promise<number>): Promise<void> {
    return runLoop(name, waiter, once, this.clock, this.log, {
      stopped: () => this.stopped,
      outage: (at) => {
        this.lastOutage = at;
      },
    });
  }

  /** Records that this node's scheduler started or stopped. */
  private record(type: "scheduler_started" | "scheduler_shutdown"): Promise<void> {
    return this.store.appendEvents([nodeEvent(type, this.clock.now(), this.config.nodeId)]);
  }

  // ---- the node's stop (see server.ts) ----

  /** No more runs go to this node's workers (the node is stopping): every session drains. */
  drainSessions(): void {
    this.dispatch.drainAll();
  }

  /** Runs sent to this node's workers whose outcome is not recorded yet. */
  runsInFlight(): number {
    return this.dispatch.runsInFlight();
  }

  /** Resolves true once no run is in flight, or false when `signal` aborts first. */
  runsSettled(signal: AbortSignal): Promise<boolean> {
    return this.dispatch.runsSettled(signal);
  }

  /** Ends every session: their workers reconnect to another node. */
  endSessions(): void {
    this.dispatch.endSessions();
  }

  // ---- the API ----

  /**
   * How many worker sessions of the cluster serve each handler now; `remote`: the other nodes'
   * sessions of some handlers, read just now with the request's own data (not read again).
   */
  workerCounts(
    handlers: Iterable<string>,
    remote?: ReadonlyMap<string, number>,
  ): Promise<Map<string, number>> {
    return this.atRisk.workerCounts(handlers, remote);
  }

  /** A handler that no worker serves: logged once, until a worker serves it again. */
  noteUnserved(handler: string, job: { scheduler: string; id: string }): void {
    this.atRisk.noteUnserved(handler, job);
  }

  runNow(scheduler: string, jobId: string): Promise<Run> {
    return this.control.runNow(scheduler, jobId);
  }

  cancel(runId: string, reason: string, allowed?: (run: Run) => void): Promise<Run> {
    return this.control.cancel(runId, reason, allowed);
  }

  getRun(runId: string): Promise<Run> {
    return this.control.getRun(runId);
  }

  listRuns(query: ListRunsQuery): Promise<Run[]> {
    return this.control.listRuns(query);
  }

  /** A paused scheduler's runs prepared for fire times from `since` on: see RunControl. */
  withdrawPreparedRuns(scheduler: string, since: number): Promise<void> {
    return this.control.withdrawPreparedRuns(scheduler, since);
  }
}
