/**
 * The run table: every assignment not finished yet, keyed by lease. It admits assignments
 * against the concurrency limits, starts each at its fire time (assignments may come ahead),
 * holds one back while a slot is still taken by a handler whose lease ended, releases runs the
 * server cancels or whose lease is lost (their handler is aborted and their result dropped), and
 * hands every outcome to the outbox.
 *
 * A record is `waiting` (held, not started) or `running` (its handler executes). Its lease is
 * held (listed in heartbeats and in the next WorkerHello's resumed_leases) until the handler
 * settles or the lease is released.
 */
import { timestampMs } from "@bufbuild/protobuf/wkt";
import {
  CancellationReason,
  type RunAssignment,
  type RunCancellation,
  type RunLease,
  type RunResult,
} from "../gen/metronome/v1/worker_service_pb.js";
import { RunAbortedError, type AbortKind } from "../errors.js";
import type { WorkerLogger } from "../logger.js";
import { LazyAbort } from "./abort.js";
import { execute, prepareRun, type ExecutableRun, type ExecutorDeps } from "./executor.js";
import { LeaseKeeper, leaseKey, type HeldLease } from "./leases.js";
import type { HandlerEntry } from "./options.js";
import { errorResult, type Outbox } from "./results.js";

/**
 * How long an assignment may wait for a slot still taken by a handler whose lease already ended
 * (cancelled but not yet settled; the server counts that slot as free) before it is rejected.
 */
const SLOT_WAIT_MS = 10_000;

/**
 * The longest an assignment sent ahead waits for its fire time, from when it arrives: the
 * protocol's early window (docs/protocol.md, `accepts_early_assignments`: up to 0.5 s before the
 * run is due). The fire time is the server's clock; on a worker whose clock is behind, waiting
 * for its own clock to reach it would hold the run by the skew (a 20 s skew: a 5 s timeout
 * passes before the handler starts).
 */
export const EARLY_WINDOW_MS = 500;

/** How long to hold an assignment with fire time `fireTime` that arrived at `now` (ms). */
export function startDelay(fireTime: number, now: number): number {
  return Math.min(Math.max(fireTime - now, 0), EARLY_WINDOW_MS);
}

/** An assignment not finished yet. */
export interface RunRecord extends ExecutableRun, HeldLease {
  readonly key: string;
  /** `waiting`: held but not started (before its fire time, or no free slot yet). */
  phase: "waiting" | "running";
  /** Set when the lease stopped being ours (cancelled, lease lost): the result is dropped. */
  released: RunAbortedError | undefined;
  extendedAt: number;
  /** While it waits for a slot: when it gives up (see SLOT_WAIT_MS). */
  waitTimer: NodeJS.Timeout | undefined;
  /**
   * The run's fire time (epoch ms, the server's clock): an assignment sent ahead is not started
   * before it by this worker's clock, nor later than EARLY_WINDOW_MS after it arrived.
   */
  readonly notBefore: number;
}

export interface RunTableDeps {
  readonly log: WorkerLogger;
  /** 0: only the per-handler limits. */
  readonly maxConcurrency: number;
  readonly handlers: ReadonlyMap<string, HandlerEntry>;
  readonly outbox: Outbox;
  /** Queues a heartbeat on the current session, if any (a handler's ctx.heartbeat()). */
  heartbeat(): void;
  /** Called on every change of the table or the outbox (stop() waits on them). */
  changed(): void;
}

/** Records counted in total and per handler, kept as records change (limits checked in O(1)). */
class Tally {
  private all = 0;
  private readonly byHandler = new Map<HandlerEntry, number>();

  add(entry: HandlerEntry, n: 1 | -1): void {
    this.all += n;
    this.byHandler.set(entry, (this.byHandler.get(entry) ?? 0) + n);
  }

  get total(): number {
    return this.all;
  }

  of(entry: HandlerEntry): { total: number; handler: number } {
    return { total: this.all, handler: this.byHandler.get(entry) ?? 0 };
  }
}

export class RunTable {
  private readonly records = new Map<string, RunRecord>();
  /** Records whose lease is still ours (released === undefined). */
  private readonly held = new Tally();
  /** Records whose handler executes (phase "running"), released ones included. */
  private readonly executing = new Tally();
  /** Waiting records whose time has come but whose slot is still taken (started as slots free). */
  private readonly slotWaiting = new Set<RunRecord>();
  /**
   * Records sent ahead, by fire time: one timer per fire time starts them all (a timer per run
   * was a quarter of the worker's time when a thousand runs start at one instant).
   */
  private readonly sentAhead = new Map<number, { timer: NodeJS.Timeout; recs: Set<RunRecord> }>();
  readonly leases: LeaseKeeper<RunRecord>;
  /** No session will carry a result any more: results are not reported. */
  private closed = false;
  /** stop()'s grace ran out: handlers were aborted, new assignments are rejected. */
  private graceExpired = false;

  /** What the executor calls back, for every run. */
  private readonly executorDeps: ExecutorDeps<RunRecord>;

  constructor(private readonly deps: RunTableDeps) {
    this.executorDeps = {
      log: deps.log,
      heartbeat: (rec) => {
        if (rec.released === undefined) deps.heartbeat();
      },
      finish: (rec, result) => {
        this.finish(rec, result);
      },
    };
    this.leases = new LeaseKeeper(this.records, (rec, reason) => {
      this.release(rec, reason);
    });
  }

  /** Runs held or executing. */
  get size(): number {
    return this.records.size;
  }

  /** Handlers executing now, including released ones that have not returned yet. */
  get running(): number {
    return this.executing.total;
  }

  /** The runs held or executing (for a log line). */
  runIds(): string[] {
    return [...this.records.values()].map((r) => r.lease.runId);
  }

  /** A RunAssignment from the server. */
  assign(a: RunAssignment): void {
    this.admit(a);
    this.leases.arm();
    this.deps.changed();
  }

  /** Several assignments from the server (RunAssignments), each as if it came alone. */
  assignAll(assignments: readonly RunAssignment[]): void {
    for (const a of assignments) this.admit(a);
    this.leases.arm();
    this.deps.changed();
  }

  /** Takes, holds or rejects one assignment (the caller re-arms the watchdog). */
  private admit(a: RunAssignment): void {
    const { log, outbox } = this.deps;
    const lease = a.lease;
    if (lease === undefined) {
      log.warn({ handler: a.handler }, "ignoring an assignment without a lease");
      return;
    }
    const key = leaseKey(lease);
    if (this.records.has(key) || outbox.has(key)) {
      log.debug({ runId: lease.runId, attempt: lease.attempt }, "duplicate assignment");
      return;
    }
    if (this.closed) {
      // WorkerDrain has no answer: the server sent this before it read the drain, and nothing
      // can be sent back any more. The lease expires on the server, which retries the run.
      log.warn(
        { runId: lease.runId, attempt: lease.attempt },
        "assignment received after the worker closed the session; its lease will expire",
      );
      return;
    }
    const entry = this.deps.handlers.get(a.handler);
    if (entry === undefined) {
      this.reject(lease, `handler "${a.handler}" is not registered on this worker`);
      return;
    }
    if (this.graceExpired) {
      this.reject(lease, "the worker is stopping");
      return;
    }
    // The server counts held leases; it should never exceed the limits it was given.
    const held = this.held.of(entry);
    if (this.atLimit(entry, held)) {
      this.reject(
        lease,
        `over the worker's concurrency limit (${held.total} runs held, ${held.handler} of "${entry.name}")`,
      );
      return;
    }
    const admitted = {
      key,
      lease,
      assignment: a,
      entry,
      controller: new LazyAbort(),
      phase: "waiting" as const,
      released: undefined,
      extendedAt: Date.now(),
      waitTimer: undefined,
      notBefore: a.fireTime === undefined ? 0 : timestampMs(a.fireTime),
    };
    // The same object gains its call: the call's context refers to the record (heartbeat).
    const rec: RunRecord = Object.assign(admitted, {
      call: prepareRun(admitted, this.executorDeps),
    });
    this.records.set(key, rec);
    this.held.add(entry, 1);
    const delay = startDelay(rec.notBefore, Date.now());
    if (delay > 0) {
      // Sent ahead (WorkerHello.accepts_early_assignments): start at the fire time, and no
      // later than the early window after it came.
      this.startAtFireTime(rec, delay);
    } else if (this.canStart(entry)) {
      // The handler is called a microtask later: the message handler finishes its bookkeeping
      // (the other assignments of the message, the watchdog) before user code runs.
      this.start(rec, true);
    } else {
      // A slot is still taken by a handler whose lease ended (the server counts it free).
      log.info(
        { runId: lease.runId, attempt: lease.attempt, handler: entry.name },
        "waiting for a cancelled handler to return before starting the run",
      );
      this.slotWaiting.add(rec);
      rec.waitTimer = setTimeout(() => {
        this.giveUpWaiting(rec);
      }, SLOT_WAIT_MS);
    }
  }

  /** A RunCancellation from the server: the lease is no longer ours. */
  cancel(c: RunCancellation): void {
    const lease = c.lease;
    if (lease === undefined) return;
    const key = leaseKey(lease);
    // A finished but unanswered result would be rejected now: stop sending it.
    const hadResult = this.deps.outbox.forget(lease);
    const rec = this.records.get(key);
    if (rec === undefined) {
      this.deps.log.debug({ runId: lease.runId, attempt: lease.attempt }, "cancellation of no run");
      if (hadResult) this.deps.changed();
      return;
    }
    const [kind, what] = cancellationKind(c.reason);
    this.release(rec, new RunAbortedError(kind, c.message === "" ? what : `${what}: ${c.message}`));
  }

  /** stop()'s grace ran out: abort what still runs; waiting assignments go back to the server. */
  expireGrace(): void {
    this.graceExpired = true;
    this.slotWaiting.clear();
    const reason = new RunAbortedError("stopping", "worker stopping");
    for (const rec of [...this.records.values()]) {
      if (rec.phase === "waiting") {
        clearTimeout(rec.waitTimer);
        this.drop(rec);
        this.reject(rec.lease, "the worker is stopping");
      } else if (rec.released === undefined && !rec.controller.aborted) {
        this.deps.log.warn(
          { runId: rec.lease.runId, attempt: rec.lease.attempt },
          "aborting a run: stop grace expired",
        );
        rec.controller.abort(reason);
      }
    }
    this.deps.changed();
  }

  /**
   * The worker closed its last session: nothing more will be reported. Waiting assignments are
   * dropped (their leases expire on the server); handlers still running are left to finish.
   */
  close(): void {
    this.closed = true;
    this.leases.stop();
    this.slotWaiting.clear();
    for (const rec of this.records.values()) {
      if (rec.phase === "waiting") {
        clearTimeout(rec.waitTimer);
        this.drop(rec);
      }
    }
  }

  /**
   * Starts `rec` in `delay` ms (at its fire time), with the other runs of that instant: the
   * first of them to arrive sets the timer, so none waits longer than its own delay.
   */
  private startAtFireTime(rec: RunRecord, delay: number): void {
    const at = rec.notBefore;
    let group = this.sentAhead.get(at);
    if (group === undefined) {
      const recs = new Set<RunRecord>();
      const timer = setTimeout(() => {
        this.sentAhead.delete(at);
        for (const r of recs) this.due(r);
      }, delay);
      group = { timer, recs };
      this.sentAhead.set(at, group);
    }
    group.recs.add(rec);
  }

  /** A record sent ahead reached its fire time: it starts, or waits for a slot. */
  private due(rec: RunRecord): void {
    if (this.records.get(rec.key) !== rec || rec.phase !== "waiting") return;
    if (this.canStart(rec.entry)) {
      this.start(rec);
      return;
    }
    this.slotWaiting.add(rec);
    rec.waitTimer = setTimeout(() => {
      this.giveUpWaiting(rec);
    }, SLOT_WAIT_MS);
  }

  /** Removes a record from the table and from the tallies. */
  private drop(rec: RunRecord): void {
    if (this.records.get(rec.key) !== rec) return;
    const group = this.sentAhead.get(rec.notBefore);
    if (group?.recs.delete(rec) === true && group.recs.size === 0) {
      clearTimeout(group.timer);
      this.sentAhead.delete(rec.notBefore);
    }
    this.records.delete(rec.key);
    if (rec.released === undefined) this.held.add(rec.entry, -1);
    if (rec.phase === "running") this.executing.add(rec.entry, -1);
  }

  /** Starts the handler now, or a microtask later (`deferred`). */
  private start(rec: RunRecord, deferred = false): void {
    this.slotWaiting.delete(rec);
    clearTimeout(rec.waitTimer);
    rec.waitTimer = undefined;
    rec.phase = "running";
    this.executing.add(rec.entry, 1);
    if (!deferred) execute(rec, this.executorDeps);
    else
      queueMicrotask(() => {
        execute(rec, this.executorDeps);
      });
  }

  private finish(rec: RunRecord, result: RunResult): void {
    const log = this.deps.log;
    this.drop(rec);
    if (rec.released !== undefined) {
      log.debug(
        { runId: rec.lease.runId, attempt: rec.lease.attempt, reason: rec.released.message },
        "result dropped: the lease is no longer this worker's",
      );
    } else if (this.closed) {
      log.warn(
        { runId: rec.lease.runId, attempt: rec.lease.attempt },
        "handler returned after the worker stopped; result not reported",
      );
    } else {
      this.deps.outbox.report(rec.key, result);
    }
    this.promoteWaiting();
    // Once per turn: a burst of handlers ending together re-arms the watchdog once.
    this.leases.armSoon();
    this.deps.changed();
  }

  /** The lease is no longer ours: abort the handler and drop its eventual result. */
  private release(rec: RunRecord, reason: RunAbortedError): void {
    if (rec.released !== undefined) return;
    if (this.records.get(rec.key) === rec) this.held.add(rec.entry, -1);
    rec.released = reason;
    this.deps.log.info(
      { runId: rec.lease.runId, attempt: rec.lease.attempt, kind: reason.kind },
      `run stopped: ${reason.message}`,
    );
    if (rec.phase === "waiting") {
      clearTimeout(rec.waitTimer);
      this.drop(rec);
      this.slotWaiting.delete(rec);
    } else {
      rec.controller.abort(reason);
    }
    this.leases.arm();
    this.deps.changed();
  }

  /** Reports an assignment this worker cannot take as a retryable `WorkerRejected` error. */
  private reject(lease: RunLease, message: string): void {
    this.deps.log.warn({ runId: lease.runId, attempt: lease.attempt }, `run rejected: ${message}`);
    this.deps.outbox.report(
      leaseKey(lease),
      errorResult(lease, { type: "WorkerRejected", message, stack: "", nonRetryable: false }),
    );
    this.deps.changed();
  }

  private giveUpWaiting(rec: RunRecord): void {
    this.slotWaiting.delete(rec);
    if (this.records.get(rec.key) !== rec || rec.phase !== "waiting") return;
    this.drop(rec);
    this.reject(
      rec.lease,
      `no free slot within ${SLOT_WAIT_MS} ms: cancelled handlers are still running`,
    );
    this.leases.arm();
  }

  /** Starts waiting assignments whose slot became free, oldest first. */
  private promoteWaiting(): void {
    if (this.closed || this.graceExpired || this.slotWaiting.size === 0) return;
    for (const rec of [...this.slotWaiting]) {
      if (this.records.get(rec.key) !== rec || rec.phase !== "waiting")
        this.slotWaiting.delete(rec);
      else if (this.canStart(rec.entry)) this.start(rec);
    }
  }

  private atLimit(entry: HandlerEntry, n: { total: number; handler: number }): boolean {
    const max = this.deps.maxConcurrency;
    return (max > 0 && n.total >= max) || (entry.concurrency > 0 && n.handler >= entry.concurrency);
  }

  /** A slot is free among executing handlers (released ones included: they still run). */
  private canStart(entry: HandlerEntry): boolean {
    return !this.atLimit(entry, this.executing.of(entry));
  }
}

function cancellationKind(reason: CancellationReason): [AbortKind, string] {
  if (reason === CancellationReason.TIMED_OUT) return ["timed_out", "run timed out"];
  if (reason === CancellationReason.LEASE_LOST) return ["lease_lost", "lease lost"];
  // CANCELLED, and values this SDK does not know yet.
  return ["cancelled", "run cancelled"];
}
