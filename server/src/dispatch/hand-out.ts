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
/**
 * The shortest wait between two looks at a busy handler's runs that came due (max_instances):
 * runs coming due every few milliseconds are looked at together, at most this late.
 */
const BUSY_LOOK_MS = LEASE_SLICE_MS;

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
  /**
   * Per handler of this node's sessions, the due time up to which its runs were all read: by a
   * lease with slots to spare, or by a look for max_instances while it is busy. Each look reads
   * only the runs that came due since.
   */
  private readonly lookedAt = new Map<string, number>();
  /** When the next run of a busy handler not looked at yet is due, as the last look found it. */
  private busyDue: number | null = null;
  /**
   * Per handler, the earliest due time of the first attempts this node made at or after their
   * due time (a late claim, a run now), which a look may already have passed: the next pass looks
   * back to it.
   */
  private readonly madeLate = new Map<string, number>();
  /**
   * Per handler, the pass since which this node's sessions have served it without a gap: fires of
   * coalescing jobs that came due before it waited for a worker and fold into their job's latest
   * due fire (LeaseRequest.servedSince).
   */
  private readonly servedSince = new Map<string, number>();

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
    const covered = new Set<string>(); // handlers whose every due run a lease read
    let paused: string[] | undefined; // read once per pass, when a session has room
    // max_instances is decided at a fire's time, slot or not: the first attempts of busy
    // handlers that came due since the last look go with the pass's first lease (or alone).
    const { served, busy } = this.busyHandlers();
    for (const h of this.lookedAt.keys()) if (!served.has(h)) this.lookedAt.delete(h);
    for (const h of this.servedSince.keys()) if (!served.has(h)) this.servedSince.delete(h);
    for (const h of served) if (!this.servedSince.has(h)) this.servedSince.set(h, now);
    // Runs made late for a handler with a slot are handed out (or decided) by its lease.
    for (const h of this.madeLate.keys()) if (!busy.includes(h)) this.madeLate.delete(h);
    let looking: Map<string, number> | undefined = this.toLookAt(busy, now);
    // Nothing of theirs came due since the last look (a node whose slots runs leased ahead
    // took: most looks): one read of when the next comes due instead of a look's transaction.
    // Paused schedulers' runs count here (they are not read yet): a look then decides.
    if (looking !== undefined && (await this.nothingDue(looking, paused ?? [], now)))
      looking = undefined;
    const looks = looking !== undefined;
    for (const s of this.sessions.values()) {
      const { slots, total } = s.free();
      s.waitsForSlot = true;
      if (total === 0) continue;
      paused ??= await this.store.pausedSchedulers();
      for (const h of slots.keys()) {
        handlers.add(h);
        // A session that came during this pass serves its handlers from now on too.
        if (!this.servedSince.has(h)) this.servedSince.set(h, now);
      }
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
          servedSince: this.servedSince,
          ...(looking === undefined ? {} : { busy: looking }),
        },
        (r) => runEvents([...r.ended, ...r.taken], this.clock.now(), this.config.nodeId),
      );
      if (looking !== undefined) this.looked(looking, now);
      looking = undefined;
      for (const h of readAll(slots, [...taken, ...ended])) covered.add(h);
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
    // A lease that read fewer runs of a handler than its slots read every due run of it: they
    // are handed out or decided. One that filled them may have left some: the next look of the
    // handler, busy, starts where the last one ended.
    for (const h of covered) this.lookedAt.set(h, now);
    if (looking !== undefined) {
      // No session had room: the busy handlers' runs alone (nothing is taken, so no worker).
      paused ??= await this.store.pausedSchedulers();
      const { ended } = await this.store.leaseRuns(
        {
          now,
          slots: new Map(),
          total: 0,
          workerId: "",
          leaseToken: "",
          leaseMs: this.config.leaseMs,
          paused,
          busy: looking,
          servedSince: this.servedSince,
        },
        (r) => runEvents(r.ended, this.clock.now(), this.config.nodeId),
      );
      this.looked(looking, now);
      if (ended.length > 0) this.log.debug({ runs: ended.length }, "ended runs of busy handlers");
    }
    if (again) return now;
    const poll = now + this.config.pollIntervalMs;
    const next =
      busy.length === 0 ? poll : await this.nextBusyLook(busy, paused ?? [], now, poll, looks);
    if (handlers.size === 0) return next;
    const due = await this.store.nextPendingDue([...handlers], paused ?? []);
    if (due === null) return next;
    if (due <= now + PRELEASE_MS) return now + BUSY_RETRY_MS;
    return Math.min(due - PRELEASE_MS + LEASE_SLICE_MS, next);
  }

  /** The handlers of this node's sessions (`served`), and those none of them has a slot for. */
  private busyHandlers(): { served: Set<string>; busy: string[] } {
    const served = new Set<string>();
    const free = new Set<string>();
    for (const s of this.sessions.values()) {
      for (const h of s.handlers.keys()) served.add(h);
      for (const h of s.free().slots.keys()) free.add(h);
    }
    return { served, busy: [...served].filter((h) => !free.has(h)) };
  }

  /**
   * Pending first attempts this node made (a claim, a run now): those made at or after their
   * due time are looked at by the next pass although a look may have passed their due time.
   */
  made(runs: readonly Run[]): void {
    const now = this.clock.now();
    for (const r of runs) {
      if (r.status !== "pending" || r.attempt !== 1 || r.dueAt === null || r.dueAt > now) continue;
      this.madeLate.set(r.handler, Math.min(r.dueAt, this.madeLate.get(r.handler) ?? r.dueAt));
    }
  }

  /**
   * The busy handlers to look at now, each with the due time its look starts after: those not
   * looked at (nor handed out) for BUSY_LOOK_MS, and at once those with runs made late. A handler
   * this node has no time for yet (its sessions just came, busy) starts from now: its runs that
   * came due before, while no session here served it, are decided when they are handed out.
   */
  private toLookAt(busy: readonly string[], now: number): Map<string, number> | undefined {
    const due = busy.flatMap((h): [string, number][] => {
      const at = this.lookedAt.get(h);
      const late = this.madeLate.get(h);
      if (late !== undefined) {
        this.madeLate.delete(h);
        return [[h, Math.min(at ?? late, late - 1)]];
      }
      if (at === undefined) {
        this.lookedAt.set(h, now);
        return [];
      }
      return at + BUSY_LOOK_MS <= now ? [[h, at]] : [];
    });
    return due.length === 0 ? undefined : new Map(due);
  }

  /**
   * Whether no pending run of these busy handlers came due since their last look (the earliest
   * due after it is in the future, or none): then they count as looked at now, and the next look
   * is when that run comes due (see nextBusyLook).
   */
  private async nothingDue(
    looking: ReadonlyMap<string, number>,
    paused: readonly string[],
    now: number,
  ): Promise<boolean> {
    const since = Math.min(...looking.values());
    const due = await this.store.nextPendingDue([...looking.keys()], paused, since);
    if (due !== null && due <= now) return false;
    this.looked(looking, now);
    this.busyDue = due === null ? null : Math.max(due, now + BUSY_LOOK_MS);
    return true;
  }

  private looked(handlers: ReadonlyMap<string, number>, now: number): void {
    for (const h of handlers.keys()) this.lookedAt.set(h, now);
  }

  /**
   * When to look at the busy handlers' runs next: when the next not looked at comes due (at most
   * `poll`), but not sooner than BUSY_LOOK_MS after the last look. Read after a look only: a
   * pass between looks (a saturated node's, after each lease that fills its slots) reads
   * nothing, and looks again BUSY_LOOK_MS after the last look for runs made since.
   */
  private async nextBusyLook(
    busy: readonly string[],
    paused: readonly string[],
    now: number,
    poll: number,
    looked: boolean,
  ): Promise<number> {
    const since = Math.min(...busy.map((h) => this.lookedAt.get(h) ?? now));
    if (!looked) return Math.min(this.busyDue ?? poll, since + BUSY_LOOK_MS, poll);
    const due = await this.store.nextPendingDue(busy, paused, since);
    this.busyDue = due === null ? null : Math.max(due, since + BUSY_LOOK_MS);
    return Math.min(this.busyDue ?? poll, poll);
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

/** The handlers of `slots` that a lease's runs (taken or ended) did not fill. */
function readAll(slots: ReadonlyMap<string, number>, runs: readonly Run[]): string[] {
  const n = new Map<string, number>();
  for (const r of runs) n.set(r.handler, (n.get(r.handler) ?? 0) + 1);
  return [...slots].flatMap(([h, free]) => ((n.get(h) ?? 0) < free ? [h] : []));
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
