/**
 * The hand-out's decision: which pending runs one worker gets, and which end instead. Every store
 * decides it this way once it has read (on SQL, locked) the candidates and how many runs of their
 * jobs are running; only how it reads and writes differs (store/sql/runs/lease-runs.ts,
 * store/redis/leases.ts).
 *
 * Candidates go earliest due first:
 * - one whose misfire grace ran out while it waited is recorded missed (the oldest come first, so
 *   the hand-out records them as the sweeper would);
 * - a scheduled fire's first attempt, due, whose job coalesces and has a later fire's first
 *   attempt due too (`latestDue`: read by the store when a fire of the job waited while no
 *   worker served its handler, see waitedUnserved) folds into the run of the latest: recorded
 *   missed, "coalesced into the run of <its fire time>" — the job runs once for the fire times
 *   that passed, as after an outage (claim-plan.ts);
 * - one its store says must wait (`waits`: on SQL, its job is locked by another change) waits
 *   for the next pass;
 * - one due later (leased ahead) goes only as a first attempt of a job with none running: a
 *   retry waits for its retry_at (the worker starts early runs at their fire time), and
 *   max_instances cannot change before it starts;
 * - one due now whose job has max_instances runs running is recorded skipped (this is when
 *   max_instances is decided; the node reads a handler's first attempts as they come due, with no
 *   slot for them too, so this holds whether or not a slot is free) — if it is a fire's first
 *   attempt: max_instances skips fire times, and a retry of a fire that already started waits for
 *   room instead (its misfire grace, counted from its retry time, still ends it as missed if none
 *   comes);
 * - the others go to the worker, `leased` under its grant, while its slots for their handler last;
 *   each counts as running for the runs of its job after it.
 */
import type { Run } from "./runs.js";
import {
  coalescedInto,
  type LeaseGrant,
  leased,
  missed,
  skippedForMaxInstances,
} from "./run-transitions.js";

export interface HandOutInput {
  readonly now: number;
  /** Free slots per handler. */
  readonly slots: ReadonlyMap<string, number>;
  /** Pending runs due by the hand-out's horizon, in any order. */
  readonly candidates: readonly Run[];
  /** How many runs of this run's job are running (read with the candidates). */
  readonly running: (run: Run) => number;
  /** The lease the runs taken are handed out under. */
  readonly grant: LeaseGrant;
  /**
   * For a run whose job coalesces and had a fire wait unserved: the nominal time of the latest
   * scheduled fire of its job whose first attempt is pending and due by now (undefined: none, or
   * the job is not folded).
   */
  readonly latestDue?: (run: Run) => number | undefined;
  /** Runs that wait for the next pass although they could go (none by default). */
  readonly waits?: (run: Run) => boolean;
}

export interface HandOut {
  /** The runs the worker gets, running under the grant (`leased`), earliest due first. */
  readonly taken: Run[];
  /** The runs ended instead: missed or skipped. */
  readonly ended: Run[];
}

const jobOf = (run: Run): string => `${run.scheduler}\u0000${run.jobId}`;

/**
 * What folds into a later due fire of its job: a scheduled fire's first attempt (manual runs and
 * retries are not folded) that is due (a run leased ahead has no later fire due).
 */
export const foldable = (run: Run, now: number): boolean =>
  !run.manual && run.attempt === 1 && run.dueAt !== null && run.dueAt <= now;

/**
 * The candidates whose job's latest due fire the store reads when their job coalesces: foldable
 * ones that came due before the node's sessions served their handler (`servedSince`), so waited
 * while no worker here could take them. A fire that waits while a worker serves its handler
 * (its slots taken) is not folded: max_instances decides it, and an overloaded node's claims
 * coalesce the fire times they reach late, without a run each.
 */
export const waitedUnserved = (
  run: Run,
  now: number,
  servedSince: ReadonlyMap<string, number> | undefined,
): boolean => {
  const since = servedSince?.get(run.handler);
  return since !== undefined && foldable(run, now) && (run.dueAt ?? since) < since;
};

/** The most earlier fires of one job one hand-out folds; the next passes fold the rest. */
export const FOLD_LIMIT = 1000;

/** A job's pending first attempt of a scheduled fire, due and within its grace, as a store read it. */
export interface DueFire {
  readonly id: string;
  /** Its job (scheduler and id, as the store keys it). */
  readonly job: string;
  readonly scheduledTime: number;
}

/**
 * What one hand-out does with the due fires of jobs that fold (read without locks): per job, the
 * nominal time of the latest, which the earlier fold into (`latest`, for handOut's `latestDue`),
 * and the runs it takes up as candidates (`take`, to lock and read whole): the earlier ones, at
 * most `limit` (the oldest), and the latest when every earlier one is among them — else the
 * latest waits, pending, for the pass that folds the last of them, so a job never runs an older
 * fire after its latest.
 */
export function foldPlan(
  fires: readonly DueFire[],
  limit = FOLD_LIMIT,
): { latest: Map<string, number>; take: string[] } {
  const byJob = new Map<string, DueFire[]>();
  for (const f of fires) {
    let list = byJob.get(f.job);
    if (list === undefined) byJob.set(f.job, (list = []));
    list.push(f);
  }
  const latest = new Map<string, number>();
  const take: string[] = [];
  for (const [job, list] of byJob) {
    list.sort((a, b) => a.scheduledTime - b.scheduledTime);
    const last = list[list.length - 1];
    if (last === undefined || list.length < 2) continue;
    latest.set(job, last.scheduledTime);
    const earlier = list.slice(0, -1);
    take.push(...earlier.slice(0, limit).map((f) => f.id));
    if (earlier.length <= limit) take.push(last.id);
  }
  return { latest, take };
}

export function handOut(input: HandOutInput): HandOut {
  const { now } = input;
  const candidates = [...input.candidates].sort((a, b) => (a.dueAt ?? 0) - (b.dueAt ?? 0));
  const left = new Map(input.slots);
  const running = new Map<string, number>();
  const taken: Run[] = [];
  const ended: Run[] = [];
  for (const run of candidates) {
    if (run.expiresAt !== null && run.expiresAt < now) {
      ended.push(missed(run, now));
      continue;
    }
    if (input.waits?.(run) === true) continue;
    const latest = foldable(run, now) ? input.latestDue?.(run) : undefined;
    if (latest !== undefined && latest > run.scheduledTime) {
      ended.push(coalescedInto(run, latest, now));
      continue;
    }
    const k = jobOf(run);
    const n = running.get(k) ?? input.running(run);
    const early = (run.dueAt ?? now) > now;
    if (early && (n > 0 || run.attempt > 1)) continue;
    const skipped = early ? null : skippedForMaxInstances(run, n, now);
    if (skipped !== null && run.attempt > 1) continue;
    if (skipped !== null) {
      ended.push(skipped);
      continue;
    }
    const free = left.get(run.handler) ?? 0;
    if (free <= 0) continue;
    left.set(run.handler, free - 1);
    running.set(k, n + 1);
    taken.push(leased(run, input.grant, now));
  }
  return { taken, ended };
}
