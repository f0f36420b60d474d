/**
 * The hand-out's decision: which pending runs one worker gets, and which end instead. Every store
 * decides it this way once it has read (on SQL, locked) the candidates and how many runs of their
 * jobs are running; only how it reads and writes differs (store/sql/runs/lease-runs.ts,
 * store/redis/leases.ts).
 *
 * Candidates go earliest due first:
 * - one whose misfire grace ran out while it waited is recorded missed (the oldest come first, so
 *   the hand-out records them as the sweeper would);
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
import { type LeaseGrant, leased, missed, skippedForMaxInstances } from "./run-transitions.js";

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
