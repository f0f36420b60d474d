/**
 * Dispatch: the node's worker sessions and the runs they hold. Opens sessions for the protocol
 * adapter and records them in the worker registry (so every node knows which handlers have a
 * worker), runs the hand-out (hand-out.ts) and records what workers report (results.ts), and
 * drains and ends the sessions when the node stops.
 */
import { randomUUID } from "node:crypto";
import type { Clock } from "../clock.js";
import { workerEvent, type EventDraft } from "../domain/events.js";
import type { Lease, Outcome, Run } from "../domain/runs.js";
import { serial } from "../lib/serial.js";
import type { Logger } from "../logger.js";
import type { SchedulerStore, RunStore, Verdict, WorkerRegistry } from "../store/port.js";
import { HandOut } from "./hand-out.js";
import { NodeSessions } from "./node-sessions.js";
import { Results } from "./results.js";
import {
  WorkerSession,
  type SessionHello,
  type SessionHost,
  type SessionOutput,
} from "./session.js";

export type DispatchStore = RunStore & WorkerRegistry & Pick<SchedulerStore, "pausedSchedulers">;

export interface DispatchConfig {
  readonly nodeId: string;
  readonly leaseMs: number;
  readonly pollIntervalMs: number;
}

export interface DispatchHooks {
  /** A session serving these handlers connected (a handler without workers may have one now). */
  readonly served?: (handlers: readonly string[]) => void;
  /** Runs were sent to a worker at `at` (clock time): their first sending is when they start. */
  readonly sent?: (runs: readonly Run[], at: number) => void;
}

export class Dispatcher implements SessionHost {
  readonly sessions = new NodeSessions();
  private readonly handOut: HandOut;
  private readonly results: Results;
  /** Registry writes and worker events under way (stop() waits for them). */
  private readonly recording = new Set<Promise<void>>();
  /** When this node last pushed its sessions' registry records forward. */
  private lastRefresh = Number.NEGATIVE_INFINITY;
  /** One hand-out pass at a time: each reads the sessions' free slots before leasing. */
  readonly pass: () => Promise<number>;

  constructor(
    private readonly store: DispatchStore,
    private readonly clock: Clock,
    private readonly log: Logger,
    readonly config: DispatchConfig,
    private readonly hooks: DispatchHooks = {},
  ) {
    this.handOut = new HandOut(this.sessions, store, clock, log, config, hooks.sent);
    this.results = new Results(this.sessions, store, clock, log, config);
    this.pass = serial(() => this.handOut.pass());
  }

  /** Look for runs to hand out now (a claim made some due, a slot freed). */
  wake(): void {
    this.sessions.waiter.wake();
  }

  /**
   * Runs this node made (a claim, a run now): the hand-out looks at those made at or after their
   * due time for max_instances even when their handler has no free slot (HandOut.made).
   */
  runsMade(runs: readonly Run[]): void {
    this.handOut.made(runs);
  }

  // ---- sessions ----

  /** A session for a worker's hello; it joins the node with `start`. */
  open(hello: SessionHello, output: SessionOutput): WorkerSession {
    return new WorkerSession(randomUUID(), hello, output, this, this.config.leaseMs);
  }

  /** The session was welcomed: it gets runs from now on. */
  start(s: WorkerSession): void {
    s.touch();
    this.sessions.add(s);
    this.hooks.served?.([...s.handlers.keys()]);
    // The session's handlers count for every node once worker_connected is committed.
    const now = this.clock.now();
    const record = {
      sessionId: s.id,
      workerId: s.workerId,
      nodeId: this.config.nodeId,
      handlers: [...s.handlers.keys()],
    };
    this.recordSoon(s, workerEvent("worker_connected", s.info(), now, this.config.nodeId), (e) =>
      this.store.registerSession(record, now + this.config.leaseMs, e),
    );
  }

  /**
   * The session ended: the leases of runs it was sent stay until they expire or another session
   * resumes them; runs leased ahead and not sent yet, and `neverSent` (assignments still queued
   * when the stream ended), are handed back at once.
   */
  remove(s: WorkerSession, neverSent: readonly Lease[], reason: string): void {
    if (!this.sessions.delete(s)) return;
    this.recordSoon(
      s,
      workerEvent("worker_disconnected", s.info(), this.clock.now(), this.config.nodeId, reason),
      (e) => this.store.unregisterSession(s.id, e),
    );
    const unsent: Lease[] = [...neverSent];
    const listed = new Set(neverSent.map((l) => l.runId));
    for (const a of s.active.values()) {
      a.stopTimer?.();
      if (a.held !== undefined && !listed.has(a.lease.runId)) unsent.push(a.lease);
    }
    if (unsent.length === 0) return;
    void this.store
      .releaseLeases(this.clock.now(), unsent)
      .then(() => {
        this.wake();
      })
      .catch((err: unknown) => {
        this.log.warn(
          { err, runs: unsent.length },
          "handing back unsent runs failed; their leases expire",
        );
      });
  }

  /** The session takes no more runs: its handlers stop counting as served by it. */
  drain(s: WorkerSession): void {
    if (s.draining) return;
    s.draining = true;
    this.recordSoon(s, null, (e) => this.store.unregisterSession(s.id, e));
  }

  heartbeat(s: WorkerSession, leases: readonly Lease[]): Promise<Lease[]> {
    return this.results.heartbeat(s, leases);
  }

  complete(s: WorkerSession, lease: Lease, outcome: Outcome): Promise<Verdict> {
    return this.results.complete(s, lease, outcome);
  }

  /**
   * Writes a session's registry change with its event in one operation, after the session's
   * earlier writes.
   */
  private recordSoon(
    s: WorkerSession,
    event: EventDraft | null,
    write: (events: readonly EventDraft[]) => Promise<void>,
  ): void {
    const p = s.registry
      .then(() => write(event === null ? [] : [event]))
      .catch((err: unknown) => {
        this.log.warn({ err, type: event?.type }, "recording a worker session change failed");
      })
      .finally(() => this.recording.delete(p));
    s.registry = p;
    this.recording.add(p);
  }

  // ---- for the sweeper ----

  /** Pushes this node's sessions' registry records forward, every third of a lease. */
  async refreshSessions(now: number): Promise<void> {
    // (A clock set back, in tests, refreshes at once.)
    if (now >= this.lastRefresh && now - this.lastRefresh < this.config.leaseMs / 3) return;
    this.lastRefresh = now;
    const live = [...this.sessions.values()].filter((s) => !s.draining).map((s) => s.id);
    if (live.length > 0) await this.store.refreshSessions(live, now + this.config.leaseMs);
  }

  /** See Results.checkLeases. */
  checkLeases(): Promise<void> {
    return this.results.checkLeases();
  }

  /** A run was cancelled: its worker is told at once if it is here (else by its node's sweep). */
  cancelled(runId: string, reason: string): void {
    this.results.cancelled(runId, reason);
  }

  // ---- stopping ----

  /** No more runs go to this node's workers (the node is stopping): every session drains. */
  drainAll(): void {
    this.sessions.closing = true;
    for (const s of this.sessions.values()) s.draining = true;
  }

  runsInFlight(): number {
    return this.sessions.runsInFlight();
  }

  runsSettled(signal: AbortSignal): Promise<boolean> {
    return this.sessions.runsSettled(signal);
  }

  /** Ends every session once its results are answered: their workers reconnect elsewhere. */
  endSessions(): void {
    for (const s of this.sessions.values()) s.endByNode();
  }

  /** Stops the timers of held runs and waits for the registry writes under way. */
  async stop(): Promise<void> {
    this.handOut.stopTimers();
    await Promise.all(this.recording);
  }
}
