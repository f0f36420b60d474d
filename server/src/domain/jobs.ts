/**
 * Schedulers and jobs as the domain sees them, and the validation of their plain fields.
 * Instants and durations are milliseconds. Pure: no I/O. Errors name the fields of the Job
 * message (domain/fields.ts).
 */
import { InvalidArgumentError, LimitExceededError } from "./errors.js";
import { checkJsonDepth, type JsonObject, type JsonValue } from "./json.js";
import type { TriggerSpec } from "./triggers/index.js";

export type { JsonObject, JsonValue } from "./json.js";

/** The settings a job inherits from its scheduler's defaults when it does not set them. */
export interface JobSettings {
  readonly coalesce: boolean;
  readonly maxInstances: number;
  /** Milliseconds; null = no limit. */
  readonly misfireGraceTimeMs: number | null;
}

export interface Scheduler {
  readonly name: string;
  readonly timezone: string;
  readonly defaults: JobSettings;
  readonly paused: boolean;
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly version: number;
  /** Who made the last change through the API (an actor, see domain/keys.ts); absent: unknown. */
  readonly modifiedBy?: string | undefined;
}

export interface RetryPolicy {
  /** Total attempts including the first (1 = no retry). */
  readonly maxAttempts: number;
  readonly initialBackoffMs: number;
  readonly maxBackoffMs: number;
  readonly multiplier: number;
}

export interface Job extends JobSettings {
  readonly scheduler: string;
  readonly id: string;
  readonly name: string;
  readonly handler: string;
  readonly trigger: TriggerSpec;
  readonly args: JsonValue[];
  readonly kwargs: JsonObject;
  /** Milliseconds; null = no timeout. */
  readonly timeoutMs: number | null;
  readonly retry: RetryPolicy | null;
  readonly paused: boolean;
  /**
   * Where the engine's next claim of the job starts: the next nominal fire time that has no run
   * yet; null when paused or when the trigger has no more fire times. Claims run ahead of time
   * (engine/firing.ts), so this may lie past a fire time whose run was prepared and has not come
   * yet: what clients see is upcomingFireTime (prepared-runs.ts).
   */
  readonly nextRunTime: number | null;
  /**
   * The first nominal fire time the claims prepared a run for ahead of time that had not come when
   * the job was last claimed (null or absent: none). Cleared when the job changes, as the change
   * withdraws those runs (prepared-runs.ts).
   */
  readonly preparedFirst?: number | null | undefined;
  /**
   * The trigger has no fire time after the runs prepared ahead: the job stays until the last of
   * them is due (it can still be read, paused or removed, as APScheduler keeps a date job until
   * its fire time), and `nextRunTime` is then where the claim that removes it starts.
   */
  readonly lastFirePrepared?: boolean | undefined;
  readonly createdAt: number;
  readonly updatedAt: number;
  /** Incremented by every change; compare-and-set for modifications. */
  readonly version: number;
  /** Who made the last change through the API (an actor, see domain/keys.ts); absent: unknown. */
  readonly modifiedBy?: string | undefined;
}

/** The API's limits (docs/api.md; configurable through the server's settings). */
export interface Limits {
  readonly maxIdLength: number;
  readonly maxPayloadBytes: number;
  readonly maxPageSize: number;
}

const DAY = 86_400_000;

export const DEFAULT_LIMITS: Limits = {
  maxIdLength: 191,
  maxPayloadBytes: 65_536,
  maxPageSize: 1000,
};

/** Ids, scheduler names and handler names: letters, digits and `. _ : -` (and `/` in handlers). */
const ID_RE = /^[A-Za-z0-9._:-]+$/;
const HANDLER_RE = /^[A-Za-z0-9._:/-]+$/;
const ID_CHARS = "letters, digits and . _ : -";

export function checkId(value: unknown, field: string, limits: Limits = DEFAULT_LIMITS): string {
  if (typeof value !== "string" || value === "")
    throw new InvalidArgumentError(field, "is required");
  if (value.length > limits.maxIdLength) {
    throw new InvalidArgumentError(field, `must be at most ${limits.maxIdLength} characters`);
  }
  if (!ID_RE.test(value)) throw new InvalidArgumentError(field, `may contain only ${ID_CHARS}`);
  return value;
}

export function checkHandler(
  value: unknown,
  field: string,
  limits: Limits = DEFAULT_LIMITS,
): string {
  if (typeof value !== "string" || value === "")
    throw new InvalidArgumentError(field, "is required");
  if (value.length > limits.maxIdLength) {
    throw new InvalidArgumentError(field, `must be at most ${limits.maxIdLength} characters`);
  }
  if (!HANDLER_RE.test(value))
    throw new InvalidArgumentError(field, `may contain only ${ID_CHARS} /`);
  return value;
}

/** A display name: any text without control characters, at most 191 characters. */
export function checkName(value: unknown, field: string): string {
  if (typeof value !== "string") throw new InvalidArgumentError(field, "must be a string");
  if (Array.from(value).length > 191)
    throw new InvalidArgumentError(field, "must be at most 191 characters");
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(value))
    throw new InvalidArgumentError(field, "must not contain control characters");
  return value;
}

export function checkPayload(
  args: unknown,
  kwargs: unknown,
  limits: Limits = DEFAULT_LIMITS,
): void {
  if (!Array.isArray(args)) throw new InvalidArgumentError("args", "must be a JSON array");
  if (typeof kwargs !== "object" || kwargs === null || Array.isArray(kwargs)) {
    throw new InvalidArgumentError("kwargs", "must be a JSON object");
  }
  checkJsonDepth(args as JsonValue[], "args");
  checkJsonDepth(kwargs as JsonObject, "kwargs");
  const size = Buffer.byteLength(JSON.stringify(args)) + Buffer.byteLength(JSON.stringify(kwargs));
  if (size > limits.maxPayloadBytes) {
    throw new LimitExceededError(
      "args",
      `args and kwargs together must be at most ${limits.maxPayloadBytes} bytes of JSON (got ${size})`,
    );
  }
}

/** A job's settings (of a Job message, or of a scheduler's job_defaults). */
export function checkSettings(s: JobSettings): JobSettings {
  if (!Number.isInteger(s.maxInstances) || s.maxInstances < 1 || s.maxInstances > 10_000) {
    throw new InvalidArgumentError("max_instances", "must be a whole number from 1 to 10000");
  }
  if (
    s.misfireGraceTimeMs !== null &&
    (!Number.isFinite(s.misfireGraceTimeMs) || s.misfireGraceTimeMs < 0)
  ) {
    throw new InvalidArgumentError(
      "misfire_grace_time",
      "must be a duration >= 0, or unset for no limit",
    );
  }
  return s;
}

/** A job's retry policy; paths of the Job message (`retry_policy.max_attempts`). */
export function checkRetry(r: RetryPolicy | null): RetryPolicy | null {
  if (r === null) return null;
  if (!Number.isInteger(r.maxAttempts) || r.maxAttempts < 1 || r.maxAttempts > 100) {
    throw new InvalidArgumentError(
      "retry_policy.max_attempts",
      "must be a whole number from 1 to 100",
    );
  }
  if (!(r.initialBackoffMs >= 0 && r.initialBackoffMs <= DAY))
    throw new InvalidArgumentError("retry_policy.initial_backoff", "must be from 0 to 1 day");
  if (!(r.maxBackoffMs >= r.initialBackoffMs && r.maxBackoffMs <= DAY)) {
    throw new InvalidArgumentError(
      "retry_policy.max_backoff",
      "must be from initial_backoff to 1 day",
    );
  }
  if (!(r.multiplier >= 1 && r.multiplier <= 10)) {
    throw new InvalidArgumentError("retry_policy.backoff_multiplier", "must be from 1.0 to 10.0");
  }
  return r;
}

export function checkTimeout(ms: number | null): number | null {
  if (ms !== null && (!Number.isFinite(ms) || ms <= 0 || ms > 30 * DAY))
    throw new InvalidArgumentError("timeout", "must be greater than 0 and at most 30 days");
  return ms;
}
