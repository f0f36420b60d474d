/**
 * Runs and the engine's decisions about them, as pure functions of a job, its trigger and one
 * instant: which fire times become runs, which are missed, coalesced or skipped, and what
 * follows a failed attempt. The stores apply these decisions inside their transactions; nothing
 * here does I/O or reads a clock. How a run moves from status to status afterwards:
 * run-transitions.ts.
 */
import type { Job, JsonObject, JsonValue, RetryPolicy } from "./jobs.js";
import { jittered, MAX_INSTANT, type Trigger } from "./triggers/index.js";

export type RunStatus =
  "pending" | "running" | "succeeded" | "failed" | "timed_out" | "cancelled" | "missed" | "skipped";

export interface RunError {
  readonly message: string;
  readonly type: string;
  readonly stack: string;
  readonly nonRetryable: boolean;
}

export interface Run {
  readonly id: string;
  readonly scheduler: string;
  readonly jobId: string;
  readonly jobName: string;
  readonly handler: string;
  /** The nominal fire time (manual runs: when requested). */
  readonly scheduledTime: number;
  /** The nominal time plus jitter. */
  readonly fireTime: number;
  readonly manual: boolean;
  readonly args: JsonValue[];
  readonly kwargs: JsonObject;
  readonly timeoutMs: number | null;
  readonly retry: RetryPolicy | null;
  /** The job's max_instances when the run was created: checked when it is handed out. */
  readonly maxInstances: number;
  readonly attempt: number;
  readonly status: RunStatus;
  readonly statusReason: string;
  /** Pending: the earliest time it may be handed out. */
  readonly dueAt: number | null;
  /** Pending: when it becomes missed (null: never). */
  readonly expiresAt: number | null;
  readonly workerId: string | null;
  readonly leaseToken: string | null;
  readonly leaseExpiresAt: number | null;
  /** Running: when the job's timeout ends the attempt. */
  readonly deadlineAt: number | null;
  readonly startedAt: number | null;
  readonly finishedAt: number | null;
  /** The handler's return value when succeeded (undefined: none recorded). */
  readonly result: JsonValue | undefined;
  readonly error: RunError | null;
  readonly createdAt: number;
  readonly updatedAt: number;
  /** A manual run: who asked for it (an actor, see domain/keys.ts); absent otherwise. */
  readonly triggeredBy?: string | undefined;
}

/** A run's lease: which attempt a worker holds, under which token (its fencing token). */
export interface Lease {
  readonly runId: string;
  readonly attempt: number;
  readonly token: string;
}

/** What a worker reports of an attempt. */
export type Outcome =
  | { readonly kind: "success"; readonly result: JsonValue | undefined }
  | { readonly kind: "error"; readonly error: RunError };

/** The most fire times one claim turns into runs for one job; the rest wait for the next claim. */
export const MAX_FIRES_PER_CLAIM = 100;

export const MAX_REASON_CHARS = 1024;

function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${String(ms / 1000)}s` : `${(ms / 1000).toFixed(3)}s`;
}

/** What one claim decided for one job. */
export interface FirePlan {
  /** The runs to create, in fire-time order (pending, missed or skipped). */
  readonly runs: Run[];
  /** The job's next nominal fire time, or null when its trigger has ended (remove the job). */
  readonly nextRunTime: number | null;
  /**
   * With coalesce, the run that several overdue fire times became (absent: none were coalesced).
   * Runs prepared ahead for earlier fire times that are still pending fold into it when it is
   * created (claim-plan.ts, foldIntoCoalesced).
   */
  readonly coalesced?: Run;
}

export interface FireContext {
  readonly now: number;
  /**
   * Fire times up to this instant (>= now) are turned into runs now, ahead of time: a claim
   * done before the fire time leaves only the hand-out to do when it comes.
   */
  readonly horizon?: number;
  readonly newId: () => string;
  readonly random?: () => number;
}

function newRun(job: Job, trigger: Trigger, nominal: number, ctx: FireContext): Run {
  const fireTime = jittered(trigger, nominal, ctx.random);
  return {
    id: ctx.newId(),
    scheduler: job.scheduler,
    jobId: job.id,
    jobName: job.name,
    handler: job.handler,
    scheduledTime: nominal,
    fireTime,
    manual: false,
    args: job.args,
    kwargs: job.kwargs,
    timeoutMs: job.timeoutMs,
    retry: job.retry,
    maxInstances: job.maxInstances,
    attempt: 1,
    status: "pending",
    statusReason: "",
    dueAt: fireTime,
    expiresAt: job.misfireGraceTimeMs === null ? null : fireTime + job.misfireGraceTimeMs,
    workerId: null,
    leaseToken: null,
    leaseExpiresAt: null,
    deadlineAt: null,
    startedAt: null,
    finishedAt: null,
    result: undefined,
    error: null,
    createdAt: ctx.now,
    updatedAt: ctx.now,
  };
}

/** A run that ends as soon as it is created (missed: its fire time was claimed too late). */
function ended(run: Run, status: "missed", reason: string, now: number): Run {
  return {
    ...run,
    status,
    statusReason: reason.slice(0, MAX_REASON_CHARS),
    dueAt: null,
    expiresAt: null,
    finishedAt: now,
  };
}

/**
 * The latest fire time at or before `now`, starting from a known fire time `from <= now`
 * without walking every fire time in between: look back from `now` over doubling windows until
 * one holds a fire time, then walk forward inside it.
 */
export function latestFireTime(trigger: Trigger, from: number, now: number): number {
  for (let back = 1000; ; back *= 2) {
    const start = Math.max(from, now - back);
    const first = trigger.nextAtOrAfter(start);
    if (first !== null && first <= now) {
      let latest = first;
      for (let t = trigger.nextFireTime(latest); t !== null && t <= now;) {
        latest = t;
        t = trigger.nextFireTime(t);
      }
      return latest;
    }
    if (start === from) return from;
  }
}

/**
 * Turns a due job's fire times (its next_run_time up to the horizon) into runs:
 * - overdue ones (up to `now`): with coalesce, all of them become one run for the latest (the
 *   others are named in its status reason; the plan names it `coalesced`, and the job's runs
 *   prepared ahead for earlier fire times, still pending, fold into it); without, each becomes a run, at most
 *   MAX_FIRES_PER_CLAIM per claim; one older than misfire_grace_time is a `missed` run;
 * - upcoming ones (after `now`, up to the horizon) each become a pending run, due at its time.
 * max_instances is not decided here but when a run is handed out (the fire time has come).
 * The job's next_run_time is the first fire time after those handled (null when the trigger has
 * ended, or passed the last representable instant).
 */
export function planFires(job: Job, trigger: Trigger, ctx: FireContext): FirePlan {
  const horizon = Math.max(ctx.now, ctx.horizon ?? ctx.now);
  const first = job.nextRunTime;
  if (first === null || first > horizon) return { runs: [], nextRunTime: first };
  const runs: Run[] = [];
  let last = first;
  let coalescedRun: Run | undefined;
  if (first <= ctx.now) {
    let times: number[];
    let coalesced = 0;
    if (job.coalesce) {
      const latest = latestFireTime(trigger, first, ctx.now);
      times = [latest];
      for (
        let t: number | null = first;
        t !== null && t < latest && coalesced <= 1000;
        t = trigger.nextFireTime(t)
      ) {
        coalesced++;
      }
    } else {
      times = [];
      for (
        let t: number | null = first;
        t !== null && t <= ctx.now && times.length < MAX_FIRES_PER_CLAIM;
        t = trigger.nextFireTime(t)
      ) {
        times.push(t);
      }
    }
    for (const nominal of times) {
      let run = newRun(job, trigger, nominal, ctx);
      const late = ctx.now - run.fireTime;
      if (job.misfireGraceTimeMs !== null && late > job.misfireGraceTimeMs) {
        run = ended(
          run,
          "missed",
          `misfire grace ${seconds(job.misfireGraceTimeMs)} exceeded (late by ${seconds(late)})`,
          ctx.now,
        );
      }
      if (coalesced > 0) {
        const count = coalesced > 1000 ? "over 1000" : String(coalesced);
        const note = `coalesced ${count} earlier fire time${coalesced === 1 ? "" : "s"} from ${new Date(first).toISOString()}`;
        run = {
          ...run,
          statusReason: (run.statusReason ? `${run.statusReason}; ${note}` : note).slice(
            0,
            MAX_REASON_CHARS,
          ),
        };
        coalescedRun = run;
      }
      runs.push(run);
    }
    last = times[times.length - 1] ?? first;
    if (!job.coalesce && runs.length >= MAX_FIRES_PER_CLAIM) {
      const next = trigger.nextFireTime(last);
      return { runs, nextRunTime: next === null || next > MAX_INSTANT ? null : next };
    }
  } else {
    runs.push(newRun(job, trigger, first, ctx));
  }
  // Upcoming fire times within the horizon.
  let next = trigger.nextFireTime(last);
  while (
    next !== null &&
    next <= horizon &&
    next <= MAX_INSTANT &&
    runs.length < MAX_FIRES_PER_CLAIM
  ) {
    runs.push(newRun(job, trigger, next, ctx));
    last = next;
    next = trigger.nextFireTime(next);
  }
  return {
    runs,
    nextRunTime: next === null || next > MAX_INSTANT ? null : next,
    ...(coalescedRun === undefined ? {} : { coalesced: coalescedRun }),
  };
}

/** A manual run (RunJobNow) of a job at `now`; max_instances applies when it is handed out. */
export function manualRun(job: Job, trigger: Trigger, ctx: FireContext): Run {
  const run = newRun(job, trigger, ctx.now, ctx);
  return {
    ...run,
    fireTime: ctx.now,
    dueAt: ctx.now,
    manual: true,
    expiresAt: job.misfireGraceTimeMs === null ? null : ctx.now + job.misfireGraceTimeMs,
  };
}

/** The delay before attempt `attempt + 1` after attempt `attempt` failed. */
export function backoffMs(policy: RetryPolicy, attempt: number): number {
  const raw = policy.initialBackoffMs * policy.multiplier ** Math.max(0, attempt - 1);
  return Math.min(policy.maxBackoffMs, Math.round(raw));
}

/** What follows a failed attempt: another attempt after a backoff, or the end. */
export type AfterFailure =
  | { readonly retry: true; readonly attempt: number; readonly dueAt: number }
  | { readonly retry: false };

export function afterFailure(run: Run, error: RunError, now: number): AfterFailure {
  const policy = run.retry;
  if (policy === null || error.nonRetryable || run.attempt >= policy.maxAttempts)
    return { retry: false };
  return { retry: true, attempt: run.attempt + 1, dueAt: now + backoffMs(policy, run.attempt) };
}

/** The attempts a run may have in total (1 without a retry policy). */
export function maxAttempts(run: Run): number {
  return run.retry?.maxAttempts ?? 1;
}

export const ERROR_LIMITS = { message: 4096, type: 191, stack: 16_384 } as const;

/**
 * A worker's error as it is stored: each part cut to its limit, and control characters in the
 * type replaced by U+FFFD — the type is written as plain text (the run's status reason), where
 * PostgreSQL refuses a NUL; the message and the stack are stored inside JSON, escaped.
 */
export function boundedError(e: RunError): RunError {
  return {
    message: e.message.slice(0, ERROR_LIMITS.message),
    // eslint-disable-next-line no-control-regex
    type: e.type.slice(0, ERROR_LIMITS.type).replace(/[\u0000-\u001f\u007f]/g, "\ufffd"),
    stack: e.stack.slice(0, ERROR_LIMITS.stack),
    nonRetryable: e.nonRetryable,
  };
}
