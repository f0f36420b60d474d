/**
 * What comes back from the workers and what the store says of their leases: results (recorded
 * in batches: the results of many sessions that arrive together share one store operation),
 * heartbeats (lease extensions, and leases a worker resumed from an earlier session), and runs
 * whose lease ended elsewhere (cancelled through another node, timed out, expired), whose workers
 * are told to stop.
 */
import type { Clock } from "../clock.js";
import { runEvents } from "../domain/events.js";
import type { Lease, Outcome } from "../domain/runs.js";
import { Batcher } from "../lib/batcher.js";
import type { Logger } from "../logger.js";
import { isUnavailable } from "../store/errors.js";
import type { RunStore, Verdict } from "../store/port.js";
import type { NodeSessions } from "./node-sessions.js";
import { logOutcome } from "./run-log.js";
import type { WorkerSession } from "./session.js";

export type ResultsStore = Pick<
  RunStore,
  "completeRuns" | "extendLeases" | "runHandlers" | "leaseStates"
>;

export interface ResultsConfig {
  readonly nodeId: string;
  readonly leaseMs: number;
}

/**
 * A result that arrives alone waits this long for others before it is recorded, so that results
 * arriving spread out (one a millisecond at 1,000 runs a second) share a transaction: without
 * it a third of the results went alone and three were recorded together at most. 10 ms rather
 * than 5: ~10 % fewer result transactions in the events benchmark, and lower event latency in
 * `bench compare` (docs/benchmarks.md, seventh session). The worker's acknowledgement and the
 * run's end event come up to this much later; under load results gather while earlier batches
 * are written and go out at once (a batch that finishes sends what is queued, lingering or not).
 */
export const RESULT_LINGER_MS = 10;

export class Results {
  private readonly completions: Batcher<{ lease: Lease; outcome: Outcome }, Verdict>;

  constructor(
    private readonly sessions: NodeSessions,
    private readonly store: ResultsStore,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly config: ResultsConfig,
  ) {
    this.completions = new Batcher(
      async (items) => {
        const verdicts = await this.store.completeRuns(this.clock.now(), items, (verdicts) =>
          runEvents(
            verdicts.flatMap((v) => (v.accepted && v.recorded ? [v.run] : [])),
            this.clock.now(),
            this.config.nodeId,
          ),
        );
        for (const v of verdicts) if (v.accepted && v.recorded) logOutcome(this.log, v.run);
        return verdicts;
      },
      {
        maxBatch: 200,
        lingerMs: RESULT_LINGER_MS,
        // One result the database refuses must not fail the others recorded with it (each
        // failure ends its worker's session): a failed batch is tried again in halves, unless
        // the database is unavailable or the batch's deadline passed.
        isolate: (err) => !isUnavailable(err),
      },
    );
  }

  /** Records a result; the session's slot is free again either way. */
  async complete(s: WorkerSession, lease: Lease, outcome: Outcome): Promise<Verdict> {
    const entry = s.active.get(lease.runId);
    if (entry?.lease.token === lease.token) entry.completing = true;
    s.noteReported(lease);
    try {
      return await this.completions.run({ lease, outcome });
    } finally {
      if (s.active.get(lease.runId)?.lease.token === lease.token)
        this.sessions.release(s, lease.runId);
    }
  }

  /** Extends the session's listed leases; answers those it no longer holds. */
  async heartbeat(s: WorkerSession, leases: readonly Lease[]): Promise<Lease[]> {
    const lost = (
      await this.store.extendLeases(this.clock.now(), leases, this.config.leaseMs, s.workerId)
    ).filter((l) => !s.wasReported(l));
    const lostIds = new Set(lost.map((l) => l.runId));
    const adopted = leases.filter((l) => !lostIds.has(l.runId) && !s.active.has(l.runId));
    // Leases resumed from an earlier session (WorkerHello.resumed_leases) count toward their
    // handler's limit too: look their handlers up.
    const handlers =
      adopted.length === 0
        ? new Map<string, string>()
        : await this.store.runHandlers(adopted.map((l) => l.runId));
    for (const l of leases) {
      if (lostIds.has(l.runId) && s.active.get(l.runId)?.lease.token === l.token)
        this.sessions.release(s, l.runId);
    }
    for (const l of adopted) {
      if (!s.active.has(l.runId))
        s.active.set(l.runId, { lease: l, handler: handlers.get(l.runId) ?? "" });
    }
    return lost;
  }

  /**
   * Runs of this node's sessions that ended elsewhere (cancelled through another node, timed
   * out or expired): their slots are freed and their workers told to stop.
   */
  async checkLeases(): Promise<void> {
    const held: { s: WorkerSession; lease: Lease }[] = [];
    for (const s of this.sessions.values())
      for (const a of s.active.values()) held.push({ s, lease: a.lease });
    if (held.length === 0) return;
    const states = await this.store.leaseStates(held.map((h) => h.lease));
    for (const { s, lease } of held) {
      const state = states.get(lease.runId);
      if (state === undefined || state.current) continue;
      const entry = s.active.get(lease.runId);
      if (entry?.lease.token !== lease.token) continue; // changed meanwhile
      if (entry.completing === true) continue; // its result is being recorded
      this.sessions.release(s, lease.runId);
      if (entry.held !== undefined) continue; // never sent: nothing to stop
      const reason =
        state.status === "cancelled"
          ? "cancelled"
          : state.status === "timed_out"
            ? "timed_out"
            : "lease_lost";
      // The same message as when the cancellation is delivered at once (CancelRun's reason).
      s.revoke(
        lease,
        reason,
        reason === "lease_lost" || state.reason === ""
          ? `the run is ${state.status}`
          : state.reason,
      );
    }
  }

  /** A run was cancelled: the worker running it is told at once if its session is here. */
  cancelled(runId: string, reason: string): void {
    for (const s of this.sessions.values()) {
      const a = s.active.get(runId);
      if (a === undefined) continue;
      this.sessions.release(s, runId);
      if (a.held === undefined) s.revoke(a.lease, "cancelled", reason);
    }
  }
}
