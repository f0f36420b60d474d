/**
 * One worker session, as the node keeps it: what the worker serves and may take, the runs it
 * holds, the work its messages started, and how it ends. The protocol adapter
 * (api/services/workers.ts) turns messages into calls here and `SessionOutput` calls into
 * messages; the dispatcher hands runs to the session and records what the session reports.
 *
 * Life: opened on the worker's hello, started once it is welcomed, then heartbeats, results and
 * a drain; it ends when the worker closes its side (after the results being recorded are
 * answered), falls silent for a lease, cancels, breaks the protocol, or the node stops (the
 * worker then reconnects to another node). Closing it hands back the runs that were never sent.
 */
import type { WorkerSessionInfo } from "../domain/events.js";
import type { Lease, Outcome, Run } from "../domain/runs.js";
import { RecentKeys } from "../lib/recent-keys.js";
import type { Verdict } from "../store/port.js";

export type RevokeReason = "cancelled" | "timed_out" | "lease_lost";

/** How a session ends. */
export type SessionEnd =
  /** The worker closed its side; every result it sent was answered. */
  | { readonly kind: "closed" }
  /** The node is stopping; every result being recorded was answered. */
  | { readonly kind: "node_stopping" }
  /** No message from the worker within a lease. */
  | { readonly kind: "silent" }
  /** The worker's call was cancelled. */
  | { readonly kind: "cancelled" }
  /** A message broke the protocol, or recording failed. */
  | { readonly kind: "failed"; readonly error: unknown };

/** Where a session's messages to its worker go (the protocol adapter). */
export interface SessionOutput {
  assign(runs: readonly Run[]): void;
  /** The run's lease ended on the server side (cancelled, timed out, or lost). */
  revoke(lease: Lease, reason: RevokeReason, message: string): void;
  /** The answer to a result the worker reported. */
  verdict(lease: Lease, verdict: Verdict): void;
  /** No more messages: the stream ends as `end` says. */
  end(end: SessionEnd): void;
}

/** What the worker's hello says, checked. */
export interface SessionHello {
  readonly workerId: string;
  /** Per-handler limit (0: only the total applies). */
  readonly handlers: ReadonlyMap<string, number>;
  /** Total limit (0: only the per-handler limits apply). */
  readonly maxConcurrency: number;
  /** Leases the worker still holds from an earlier session. */
  readonly resumed: readonly Lease[];
  /** The worker starts runs at their fire time: runs leased ahead are sent at once. */
  readonly acceptsEarly: boolean;
  readonly labels: Readonly<Record<string, string>>;
}

/** What the session asks of the node's dispatcher. */
export interface SessionHost {
  /** Extends the session's leases; answers those it no longer holds. */
  heartbeat(session: WorkerSession, leases: readonly Lease[]): Promise<Lease[]>;
  complete(session: WorkerSession, lease: Lease, outcome: Outcome): Promise<Verdict>;
  drain(session: WorkerSession): void;
  /** The session ended: `unsent` are runs handed to it that its worker never got. */
  remove(session: WorkerSession, unsent: readonly Lease[], reason: string): void;
}

/** A run leased to a session. */
export interface ActiveRun {
  readonly lease: Lease;
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

const REPORTED_KEPT = 10_000;

export class WorkerSession {
  readonly workerId: string;
  readonly handlers: ReadonlyMap<string, number>;
  readonly maxConcurrency: number;
  readonly acceptsEarly: boolean;
  readonly labels: Readonly<Record<string, string>>;
  /** Leases held, by run id. */
  readonly active = new Map<string, ActiveRun>();
  /**
   * The last hand-out pass may have left due runs for want of this session's slots (all of them,
   * or a handler's): a slot freed then wakes the hand-out. Otherwise a freed slot changes
   * nothing the pass would do, and waking it for every result made a lease of a few runs per
   * result batch (1,000 runs a second spread over the second: ~100 leases a second).
   */
  waitsForSlot = true;
  draining = false;
  /** When the session opened (wall clock: shown in ListWorkers). */
  readonly connectedAt = Date.now();
  /** When the worker last sent a message (wall clock). */
  lastMessageAt = Date.now();
  /**
   * Leases (run id/token) whose result the worker reported, the last REPORTED_KEPT at least: a
   * heartbeat that raced the result and found the run no longer running is not a lost lease.
   */
  private readonly reported = new RecentKeys(REPORTED_KEPT);
  /** Writes of the session's registry record, in order (register, unregister). */
  registry: Promise<void> = Promise.resolve();
  /** Assignments handed to the output and not yet taken by the transport. */
  private readonly unsent = new Map<string, Lease>();
  /** Heartbeats and results being recorded. */
  private readonly pending = new Set<Promise<void>>();
  /** Why the session ended, for its worker_disconnected event (the first cause wins). */
  private endReason: string | undefined;
  private ended = false;
  private closed = false;
  private silence: NodeJS.Timeout | undefined;

  constructor(
    readonly id: string,
    hello: SessionHello,
    private readonly output: SessionOutput,
    private readonly host: SessionHost,
    /** Silence for this long ends the session (wall-clock: connection liveness). */
    private readonly silenceMs: number,
  ) {
    this.workerId = hello.workerId;
    this.handlers = hello.handlers;
    this.maxConcurrency = hello.maxConcurrency;
    this.acceptsEarly = hello.acceptsEarly;
    this.labels = hello.labels;
  }

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

  // ---- from the worker (the protocol adapter calls these) ----

  /** Leases resumed from an earlier session move to this one (before it is welcomed). */
  async resume(leases: readonly Lease[]): Promise<void> {
    if (leases.length > 0) await this.lostLeases(leases);
  }

  /** A message arrived: the worker is alive for another lease. */
  touch(): void {
    const at = (this.lastMessageAt = Date.now());
    clearTimeout(this.silence);
    if (this.ended) return;
    this.silence = setTimeout(() => {
      // When this node's event loop was busy (a burst of requests under load), the timer fires
      // late, before the loop reads the messages that arrived meanwhile: they get that turn
      // (setImmediate runs after it) before the worker is taken for silent.
      setImmediate(() => {
        if (!this.ended && this.lastMessageAt === at)
          this.end({ kind: "silent" }, "heartbeat timeout");
      });
    }, this.silenceMs);
  }

  heartbeat(leases: readonly Lease[]): void {
    this.track(this.lostLeases(leases));
  }

  result(lease: Lease, outcome: Outcome): void {
    this.track(
      this.host.complete(this, lease, outcome).then((v) => {
        this.output.verdict(lease, v);
      }),
    );
  }

  drain(): void {
    this.host.drain(this);
  }

  /** The worker closed its side: answer what is still being recorded, then end. */
  async workerClosed(): Promise<void> {
    await Promise.all(this.pending);
    this.end({ kind: "closed" }, "closed");
  }

  /** The worker's call was cancelled. */
  cancelled(): void {
    this.end({ kind: "cancelled" }, "cancelled");
  }

  /** A message broke the protocol (or reading failed). */
  fail(error: unknown): void {
    this.end(
      { kind: "failed", error },
      `error: ${error instanceof Error ? error.message : String(error)}`,
    );
  }

  /**
   * The caller's API key was revoked, expired or removed (`why` says which): its stream is ended
   * by the API's interceptor (UNAUTHENTICATED, which then cancels the call); this only records
   * the cause, unless the session ended already.
   */
  keyEnded(why: string): void {
    this.endReason ??= `key ended: ${why}`;
  }

  /**
   * Why the session ended (its worker_disconnected event's and log line's reason): "heartbeat
   * timeout", "closed", "cancelled", "node stopping", "key ended: …" or "error: …".
   */
  get reason(): string {
    return this.endReason ?? "closed";
  }

  /** The transport took an assignment: its worker may get it, so it is no longer handed back. */
  taken(runId: string): void {
    this.unsent.delete(runId);
  }

  /** The stream is over (however it ended): the session leaves its node. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.silence);
    this.ended = true;
    this.host.remove(this, [...this.unsent.values()], this.reason);
  }

  // ---- from the node (the dispatcher calls these) ----

  /** Sends runs to the worker. */
  assign(runs: readonly Run[]): void {
    for (const r of runs)
      this.unsent.set(r.id, { runId: r.id, attempt: r.attempt, token: r.leaseToken ?? "" });
    this.output.assign(runs);
  }

  revoke(lease: Lease, reason: RevokeReason, message: string): void {
    this.output.revoke(lease, reason, message);
  }

  /** The node is stopping: end once the results being recorded are answered. */
  endByNode(): void {
    void Promise.all(this.pending).then(() => {
      this.end({ kind: "node_stopping" }, "node stopping");
    });
  }

  /** Records that the worker reported a result for this lease. */
  noteReported(lease: Lease): void {
    this.reported.add(`${lease.runId}/${lease.token}`);
  }

  wasReported(lease: Lease): boolean {
    return this.reported.has(`${lease.runId}/${lease.token}`);
  }

  // ---- inside ----

  private async lostLeases(leases: readonly Lease[]): Promise<void> {
    for (const l of await this.host.heartbeat(this, leases))
      this.output.revoke(l, "lease_lost", "the lease is no longer this worker's");
  }

  /** Work a message started: a failure ends the session. */
  private track(p: Promise<void>): void {
    const q = p.catch((err: unknown) => {
      this.fail(err);
    });
    this.pending.add(q);
    void q.finally(() => this.pending.delete(q));
  }

  private end(end: SessionEnd, reason: string): void {
    this.endReason ??= reason;
    if (this.ended) return;
    this.ended = true;
    clearTimeout(this.silence);
    this.output.end(end);
  }
}
