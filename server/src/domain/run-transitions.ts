/**
 * A run's life as a state machine: the statuses it moves between, why, and what each move
 * changes. Every store applies these pure transitions (a store's set-based statement that writes
 * many runs at once writes exactly the values they compute); nothing else changes a run's
 * status. A run is created pending, or already missed when its fire time is claimed too late
 * (runs.ts, planFires).
 *
 * ```
 *            lease                       result
 * pending ─────────────► running ──────────────────► succeeded
 *  ▲  │                   │  │ error / lease expired, no attempt left
 *  │  │                   │  ├──────────────────────► failed
 *  │  │                   │  │ the job's timeout
 *  │  │                   │  ├──────────────────────► timed_out
 *  │  │                   │  │ cancel
 *  │  │                   │  └──────────────────────► cancelled
 *  └──┼───────────────────┘
 *     │    retry after an error or an expired lease; handed back before it was sent
 *     │ misfire grace passed          ─► missed
 *     │ coalesced into a later run    ─► missed
 *     │ max_instances of its job run  ─► skipped
 *     │ cancel, or its job removed    ─► cancelled
 * ```
 */
import {
  afterFailure,
  boundedError,
  MAX_REASON_CHARS,
  type Run,
  type RunError,
  type RunStatus,
} from "./runs.js";
import type { JsonValue } from "./jobs.js";

/** Where a run in each status may go next (ended runs go nowhere). */
export const TRANSITIONS: Readonly<Record<RunStatus, readonly RunStatus[]>> = {
  pending: ["running", "missed", "skipped", "cancelled"],
  running: ["succeeded", "failed", "timed_out", "cancelled", "pending"],
  succeeded: [],
  failed: [],
  timed_out: [],
  cancelled: [],
  missed: [],
  skipped: [],
};

export function canTransition(from: RunStatus, to: RunStatus): boolean {
  return TRANSITIONS[from].includes(to);
}

/** Whether a run in this status has ended (nothing moves it any more). */
export function isFinal(status: RunStatus): boolean {
  return TRANSITIONS[status].length === 0;
}

/** The status reasons the server writes itself (a cancel may carry the caller's own). */
export const REASONS = {
  cancelled: "cancelled",
  jobRemoved: "job removed",
} as const;

function move(run: Run, to: RunStatus, changes: Partial<Run>): Run {
  if (!canTransition(run.status, to))
    throw new Error(`run ${run.id}: ${run.status} -> ${to} is not a run transition`);
  return { ...run, ...changes, status: to };
}

/** The lease a run is handed out under. */
export interface LeaseGrant {
  readonly workerId: string;
  readonly token: string;
  readonly leaseMs: number;
}

/**
 * pending → running: handed to a worker. It starts now, or at its due time when it is leased
 * ahead of it (its node sends it then); its lease and timeout count from its start. expires_at
 * stays, so a run handed back before it was sent keeps its misfire deadline.
 */
export function leased(run: Run, grant: LeaseGrant, now: number): Run {
  const started = Math.max(now, run.dueAt ?? now);
  return move(run, "running", {
    workerId: grant.workerId,
    leaseToken: grant.token,
    leaseExpiresAt: started + grant.leaseMs,
    startedAt: started,
    updatedAt: now,
    dueAt: null,
    deadlineAt: run.timeoutMs === null ? null : started + run.timeoutMs,
  });
}

/**
 * running → pending: a run leased ahead that was never sent (its session ended first) is handed
 * back: the same attempt, due at the time it was to start.
 */
export function handedBack(run: Run, now: number): Run {
  return move(run, "pending", {
    dueAt: run.startedAt,
    startedAt: null,
    workerId: null,
    leaseToken: null,
    leaseExpiresAt: null,
    deadlineAt: null,
    updatedAt: now,
  });
}

/** running → succeeded: the worker's result was accepted. */
export function succeeded(run: Run, result: JsonValue | undefined, now: number): Run {
  return move(run, "succeeded", {
    result: result === undefined ? null : result,
    leaseExpiresAt: null,
    deadlineAt: null,
    finishedAt: now,
    updatedAt: now,
  });
}

/**
 * running → pending or failed: an attempt failed. Another attempt follows after its backoff when
 * the retry policy allows one (pending, the next attempt); otherwise the run failed.
 */
export function attemptFailed(run: Run, error: RunError, now: number): Run {
  const e = boundedError(error);
  const next = afterFailure(run, e, now);
  const base = { error: e, leaseExpiresAt: null, deadlineAt: null, updatedAt: now };
  if (next.retry)
    return move(run, "pending", {
      ...base,
      statusReason: `attempt ${String(run.attempt)} failed (${e.type}); retrying`,
      attempt: next.attempt,
      dueAt: next.dueAt,
      expiresAt: null,
      leaseToken: null,
    });
  return move(run, "failed", {
    ...base,
    statusReason: e.nonRetryable ? `${e.type}: not retryable` : e.type,
    finishedAt: now,
  });
}

/** The error of an attempt whose lease expired: its worker stopped heartbeating. */
export function leaseExpiredError(run: Run): RunError {
  return {
    message: `the lease of worker ${run.workerId ?? "?"} expired (no heartbeat)`,
    type: "LeaseExpired",
    stack: "",
    nonRetryable: false,
  };
}

/** running → pending or failed: the attempt's lease expired (see attemptFailed). */
export function leaseExpired(run: Run, now: number): Run {
  return attemptFailed(run, leaseExpiredError(run), now);
}

/** running → timed_out: the job's timeout passed; no retry follows. */
export function timedOut(run: Run, now: number): Run {
  const seconds = String((run.timeoutMs ?? 0) / 1000);
  return move(run, "timed_out", {
    statusReason: `timeout of ${seconds}s passed`,
    error: {
      message: `the job's timeout (${seconds}s) passed`,
      type: "TimeoutError",
      stack: "",
      nonRetryable: true,
    },
    leaseExpiresAt: null,
    deadlineAt: null,
    finishedAt: now,
    updatedAt: now,
  });
}

/** pending or running → cancelled (an empty reason: "cancelled"). */
export function cancelled(run: Run, reason: string, now: number): Run {
  return move(run, "cancelled", {
    statusReason: (reason || REASONS.cancelled).slice(0, MAX_REASON_CHARS),
    dueAt: null,
    expiresAt: null,
    leaseExpiresAt: null,
    deadlineAt: null,
    finishedAt: now,
    updatedAt: now,
  });
}

/** pending → missed: no worker took it before its misfire grace ran out. */
export function missed(run: Run, now: number): Run {
  return move(run, "missed", {
    statusReason: `no worker took it within its misfire grace (due ${new Date(run.fireTime).toISOString()})`,
    dueAt: null,
    expiresAt: null,
    finishedAt: now,
    updatedAt: now,
  });
}

/**
 * pending → skipped, at hand-out time, when `running` runs of its job (its max_instances) are
 * running already; null when it may start.
 */
export function skippedForMaxInstances(run: Run, running: number, now: number): Run | null {
  if (running < run.maxInstances) return null;
  return move(run, "skipped", {
    statusReason: `max_instances ${String(run.maxInstances)} reached`.slice(0, MAX_REASON_CHARS),
    dueAt: null,
    expiresAt: null,
    finishedAt: now,
    updatedAt: now,
  });
}

/**
 * pending → missed: a run of a coalescing job whose fire time passed with later ones before it
 * ran folds into the run of the latest (`into`, that run's nominal fire time) instead of running
 * too — a run prepared before an outage whose later fire times the claim coalesced
 * (claim-plan.ts, foldIntoCoalesced), or a run that waited for a worker until a later fire of its
 * job came due (hand-out.ts).
 */
export function coalescedInto(run: Run, into: number, now: number): Run {
  return move(run, "missed", {
    statusReason: `coalesced into the run of ${new Date(into).toISOString()}`,
    dueAt: null,
    expiresAt: null,
    finishedAt: now,
    updatedAt: now,
  });
}
