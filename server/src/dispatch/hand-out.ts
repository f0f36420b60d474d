/**
 * The hand-out: one pass leases due pending runs to every session with free slots, in one store
 * operation per session, and sends them. Runs due within PRELEASE_MS are leased ahead and held by
 * the node until their time (or sent at once to a worker that starts early runs itself), so a
 * burst of runs due at one instant only has to be sent when it comes. A run with a timeout is
 * timed out by a timer at its deadline (the sweeper is the backstop).
 */
import type { Clock } from "../clock.js";
import { runEvents } from "../domain/events.js";
import type { Lease, Run } from "../domain/runs.js";
import type { Logger } from "../logger.js";
import type { RunStore, SchedulerStore } from "../store/port.js";
import { newLeaseToken } from "./ids.js";
import type { NodeSessions } from "./node-sessions.js";
import { logOutcome } from "./run-log.js";
import type { ActiveRun, WorkerSession } from "./session.js";

/**
 * How far ahead of their due time runs are leased to a session (and held by its node until
 * then), so that a burst of runs due at one instant only has to be sent when it comes.
 */
export const PRELEASE_MS = 500;
/**
 * Runs leased to one session per operation. A lease costs a few round trips whatever its size,
 * and on a loaded machine each round trip waits for the database to be scheduled: 250 per
 * operation capped a saturated node near 2,000 runs/s, 1,000 gave 1.4 times that (bench compare,
 * docs/benchmarks.md).
 */
const LEASE_BATCH = 1000;
/**
 * Runs are leased ahead in slices this long: when the next pending run is due just beyond
 * PRELEASE_MS, the next pass waits until the slice after it is within PRELEASE_MS as well, so
 * that runs due at spread times are leased many per operation (see CLAIM_SLICE_MS). A run is
 * still leased at least PRELEASE_MS − LEASE_SLICE_MS before it is due.
 */
export const LEASE_SLICE_MS = 100;
/** When a due run is locked by another node, look again this soon instead of spinning. */
const BUSY_RETRY_MS = 20;

export type HandOutStore = Pick<
  RunStore,
  "leaseRuns" | "releaseLeases" | "nextPendingDue" | "timeOutRun"
> &
  Pick<SchedulerStore, "pausedSchedulers">;

export interface HandOutConfig {
  readonly nodeId: string;
  readonly leaseMs: number;
  readonly pollIntervalMs: number;
}

export class HandOut {
  /** Timers that send runs leased ahead. */
  private readonly sendTimers = new Set<() => void>();

  constructor(
    private readonly sessions: NodeSessions,
    private readonly store: HandOutStore,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly config: HandOutConfig,
    /** Told of each sending of runs to a worker, with the clock time it happened. */
    private readonly sent: (runs: readonly Run[], at: number) => void = () => undefined,
  ) {}

  /** One pass; answers when to look again (a clock time). */
  async pass(): Promise<number> {
    const now = this.clock.now();
    let again = false;
    const handlers = new Set<string>();
    let paused: string[] | undefined; // read once per pass, when a session has room
    for (const s of this.sessions.values()) {
      const { slots, total } = s.free();
      s.waitsForSlot = true;
      if (total === 0) continue;
      paused ??= await this.store.pausedSchedulers();
      for (const h of slots.keys()) handlers.add(h);
      const t0 = performance.now();
      const limit = Math.min(total, LEASE_BATCH);
      const { taken, ended } = await this.store.leaseRuns(
        {
          now,
          slots,
          total: limit,
          workerId: s.workerId,
          leaseToken: newLeaseToken(),
          leaseMs: this.config.leaseMs,
          paused,
          dueBy: now + PRELEASE_MS,
        },
        (r) => runEvents([...r.ended, ...r.taken], this.clock.now(), this.config.nodeId),
      );
      if (ended.length > 0) again = true;
      s.waitsForSlot = slotBound(s.handlers, slots, taken);
      if (taken.length === 0) continue;
      this.log.debug(
        { sessionId: s.id, runs: taken.length, ms: Math.round(performance.now() - t0) },
        "leased runs",
      );
      if (!this.sessions.has(s)) {
        // The session ended while its runs were being leased: hand them back at once.
        await this.store.releaseLeases(this.clock.now(), taken.map(leaseOf));
        continue;
      }
      for (const r of taken) this.track(s, r, now);
      this.send(s, taken, now);
      if (taken.length === limit) again = true;
    }
    if (again) return now;
    const poll = now + this.config.pollIntervalMs;
    if (handlers.size === 0) return poll;
    const due = await this.store.nextPendingDue([...handlers], paused ?? []);
    if (due === null) return poll;
    if (due <= now + PRELEASE_MS) return now + BUSY_RETRY_MS;
    return Math.min(due - PRELEASE_MS + LEASE_SLICE_MS, poll);
  }

  /** Cancels the timers of runs not sent yet (the node stops: they are handed back). */
  stopTimers(): void {
    for (const s of this.sessions.values()) for (const a of s.active.values()) a.stopTimer?.();
    for (const cancel of this.sendTimers) cancel();
    this.sendTimers.clear();
  }

  /** Records a leased run on its session; a run leased ahead is held until it is due. */
  private track(s: WorkerSession, r: Run, now: number): void {
    const lease = leaseOf(r);
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
  private send(s: WorkerSession, runs: readonly Run[], now: number): void {
    if (s.acceptsEarly) {
      s.assign(runs);
      this.sent(runs, now);
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
        s.assign(list);
        this.sent(list, now);
        continue;
      }
      const cancel = this.clock.wakeAt(at, () => {
        this.sendTimers.delete(cancel);
        // Stopping: runs not sent yet are handed back when their session ends.
        if (this.sessions.closing) return;
        const due = list.filter((r) => {
          const a = s.active.get(r.id);
          if (a?.held !== r) return false; // cancelled, revoked or handed back meanwhile
          a.held = undefined;
          return true;
        });
        if (due.length > 0 && this.sessions.has(s)) {
          s.assign(due);
          this.sent(due, this.clock.now());
        }
      });
      this.sendTimers.add(cancel);
    }
  }

  /** The run's timeout passed: it ends timed out, and its worker is told to stop. */
  private async timeOut(s: WorkerSession, lease: Lease): Promise<void> {
    try {
      const now = this.clock.now();
      const run = await this.store.timeOutRun(now, lease, (r) =>
        runEvents(r === null ? [] : [r], this.clock.now(), this.config.nodeId),
      );
      if (run === null) return; // finished meanwhile
      logOutcome(this.log, run);
      this.sessions.release(s, lease.runId);
      s.revoke(lease, "timed_out", run.statusReason);
    } catch (err) {
      this.log.warn({ err, runId: lease.runId }, "timing out a run failed; the sweeper retries");
    }
  }
}

/**
 * Whether some handler of the session may have due runs waiting for its slots: one that had no
 * free slot (absent from `slots`), or whose free slots the lease took up.
 */
function slotBound(
  handlers: ReadonlyMap<string, number>,
  slots: ReadonlyMap<string, number>,
  taken: readonly Run[],
): boolean {
  if (slots.size < handlers.size) return true;
  const left = new Map(slots);
  for (const r of taken) left.set(r.handler, (left.get(r.handler) ?? 0) - 1);
  for (const n of left.values()) if (n <= 0) return true;
  return false;
}

export function leaseOf(r: Run): Lease {
  return { runId: r.id, attempt: r.attempt, token: r.leaseToken ?? "" };
}
