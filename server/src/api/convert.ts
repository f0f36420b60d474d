/**
 * Conversions between the generated protobuf messages and the domain. Structural problems of a
 * message (a missing oneof, a negative duration) are reported here, with the proto field path;
 * domain rules are checked by the domain and their field paths translated by `protoFieldPath`.
 */
import { create, fromJson, toJson } from "@bufbuild/protobuf";
import {
  ListValueSchema,
  ValueSchema,
  durationFromMs,
  durationMs,
  timestampFromMs,
  timestampMs,
  type Duration,
  type Timestamp,
} from "@bufbuild/protobuf/wkt";
import { InvalidArgumentError } from "../domain/errors.js";
import { isDeepStrictEqual } from "node:util";
import type {
  Job,
  JobSettings,
  JsonObject,
  JsonValue,
  RetryPolicy,
  Scheduler,
} from "../domain/jobs.js";
import { parseJsonArray, parseJsonObject } from "../domain/json.js";
import type { CronFields, TriggerSpec } from "../domain/triggers/index.js";
import type { JobInput, JobPatch } from "../management/jobs.js";
import {
  JobSchema,
  MisfireGraceTimeSchema,
  RetryPolicySchema,
  type Job as PbJob,
  type MisfireGraceTime as PbMisfire,
  type RetryPolicy as PbRetry,
} from "../gen/metronome/v1/job_pb.js";
import {
  SchedulerSchema,
  type Scheduler as PbScheduler,
} from "../gen/metronome/v1/scheduler_pb.js";
import { TriggerSchema, type Trigger as PbTrigger } from "../gen/metronome/v1/trigger_pb.js";
import {
  RunErrorSchema,
  RunSchema,
  RunStatus as PbRunStatus,
  type Run as PbRun,
  type RunError as PbRunError,
} from "../gen/metronome/v1/run_pb.js";
import type { Run, RunError, RunStatus } from "../domain/runs.js";

export function msOf(ts: Timestamp | undefined): number | null {
  return ts === undefined ? null : timestampMs(ts);
}

export function ts(ms: number): Timestamp {
  return timestampFromMs(ms);
}

function optionalTs(ms: number | null | undefined): Timestamp | undefined {
  return ms === null || ms === undefined || !Number.isFinite(ms) ? undefined : timestampFromMs(ms);
}

export function nonNegativeMs(d: Duration | undefined, field: string): number | null {
  if (d === undefined) return null;
  const ms = durationMs(d);
  if (!(ms >= 0)) throw new InvalidArgumentError(field, "must not be negative");
  return ms;
}

const CRON_FIELDS = [
  "year",
  "month",
  "day",
  "week",
  "dayOfWeek",
  "hour",
  "minute",
  "second",
] as const;
const SNAKE: Record<(typeof CRON_FIELDS)[number], keyof CronFields> = {
  year: "year",
  month: "month",
  day: "day",
  week: "week",
  dayOfWeek: "day_of_week",
  hour: "hour",
  minute: "minute",
  second: "second",
};

/** A trigger message as a domain spec (time zones may be empty: the scheduler's). */
export function triggerFromProto(t: PbTrigger | undefined, field: string): TriggerSpec {
  if (t === undefined) throw new InvalidArgumentError(field, "is required");
  const jitter =
    t.jitter === undefined ? null : (nonNegativeMs(t.jitter, `${field}.jitter`) ?? 0) / 1000;
  const k = t.kind;
  switch (k.case) {
    case "cron": {
      const fields: Record<string, string> = {};
      for (const name of CRON_FIELDS) {
        const v = k.value[name];
        if (v !== undefined) fields[SNAKE[name]] = v;
      }
      return {
        type: "cron",
        fields,
        timezone: k.value.timezone,
        startDate: msOf(k.value.startDate),
        endDate: msOf(k.value.endDate),
        jitter,
      };
    }
    case "crontab":
      return {
        type: "crontab",
        expression: k.value.expression,
        timezone: k.value.timezone,
        startDate: msOf(k.value.startDate),
        endDate: msOf(k.value.endDate),
        jitter,
      };
    case "interval": {
      const v = k.value;
      return {
        type: "interval",
        weeks: v.weeks,
        days: v.days,
        hours: v.hours,
        minutes: v.minutes,
        seconds: v.seconds,
        startDate: msOf(v.startDate) ?? Number.NaN,
        endDate: msOf(v.endDate),
        timezone: v.timezone,
        jitter,
      };
    }
    case "date": {
      const runDate = msOf(k.value.runDate);
      if (runDate === null) throw new InvalidArgumentError(`${field}.date.run_date`, "is required");
      return { type: "date", runDate, timezone: k.value.timezone, jitter };
    }
    case "allOf":
    case "anyOf": {
      const key = k.case === "allOf" ? "all_of" : "any_of";
      return {
        type: k.case === "allOf" ? "and" : "or",
        triggers: k.value.triggers.map((sub, i) =>
          triggerFromProto(sub, `${field}.${key}.triggers[${i}]`),
        ),
        jitter,
      };
    }
    default:
      throw new InvalidArgumentError(
        field,
        "set one kind: cron, crontab, interval, date, all_of or any_of",
      );
  }
}

export function triggerToProto(spec: TriggerSpec): PbTrigger {
  const jitter = spec.jitter ? durationFromMs(spec.jitter * 1000) : undefined;
  switch (spec.type) {
    case "cron": {
      const fields: Partial<Record<(typeof CRON_FIELDS)[number], string>> = {};
      for (const name of CRON_FIELDS) {
        const v = spec.fields[SNAKE[name]];
        if (v !== undefined) fields[name] = String(v);
      }
      return create(TriggerSchema, {
        jitter,
        kind: {
          case: "cron",
          value: {
            ...fields,
            timezone: spec.timezone,
            startDate: optionalTs(spec.startDate),
            endDate: optionalTs(spec.endDate),
          },
        },
      });
    }
    case "crontab":
      return create(TriggerSchema, {
        jitter,
        kind: {
          case: "crontab",
          value: {
            expression: spec.expression,
            timezone: spec.timezone,
            startDate: optionalTs(spec.startDate),
            endDate: optionalTs(spec.endDate),
          },
        },
      });
    case "interval":
      return create(TriggerSchema, {
        jitter,
        kind: {
          case: "interval",
          value: {
            weeks: spec.weeks ?? 0,
            days: spec.days ?? 0,
            hours: spec.hours ?? 0,
            minutes: spec.minutes ?? 0,
            seconds: spec.seconds ?? 0,
            startDate: optionalTs(spec.startDate),
            endDate: optionalTs(spec.endDate),
            timezone: spec.timezone,
          },
        },
      });
    case "date":
      return create(TriggerSchema, {
        jitter,
        kind: { case: "date", value: { runDate: ts(spec.runDate), timezone: spec.timezone } },
      });
    case "and":
    case "or":
      return create(TriggerSchema, {
        jitter,
        kind: {
          case: spec.type === "and" ? "allOf" : "anyOf",
          value: { triggers: spec.triggers.map(triggerToProto) },
        },
      });
  }
}

/** Translate a domain field path inside a trigger spec (`fields.hour`) to the proto's (`cron.hour`). */
export function protoTriggerPath(spec: TriggerSpec, path: string): string {
  if (path === "" || path === "jitter") return path;
  if (path === "type") return "kind";
  switch (spec.type) {
    case "cron":
      return `cron.${path.replace(/^fields\.?/, "")}`.replace(/\.$/, "");
    case "crontab":
      return `crontab.${path}`;
    case "interval":
      return path === "interval" ? "interval" : `interval.${path}`;
    case "date":
      return `date.${path}`;
    case "and":
    case "or": {
      const key = spec.type === "and" ? "all_of" : "any_of";
      const m = /^triggers\[(\d+)\]\.?(.*)$/.exec(path);
      const sub = m ? spec.triggers[Number(m[1])] : undefined;
      if (!m || sub === undefined) return `${key}.${path}`;
      const rest = protoTriggerPath(sub, m[2] ?? "");
      return `${key}.triggers[${m[1]}]${rest ? `.${rest}` : ""}`;
    }
  }
}

function misfireFromProto(m: PbMisfire | undefined, field: string): number | null | undefined {
  if (m === undefined) return undefined;
  switch (m.value.case) {
    case "duration": {
      const ms = durationMs(m.value.value);
      if (!(ms > 0) || ms > 365 * 86_400_000)
        throw new InvalidArgumentError(field, "must be greater than 0 and at most 365 days");
      return ms;
    }
    case "noLimit":
      if (!m.value.value)
        throw new InvalidArgumentError(`${field}.no_limit`, "must be true when set");
      return null;
    default:
      throw new InvalidArgumentError(field, "set duration or no_limit");
  }
}

function misfireToProto(ms: number | null): PbMisfire {
  return create(MisfireGraceTimeSchema, {
    value:
      ms === null
        ? { case: "noLimit", value: true }
        : { case: "duration", value: durationFromMs(ms) },
  });
}

function retryFromProto(r: PbRetry | undefined): RetryPolicy | null {
  if (r === undefined) return null;
  return {
    maxAttempts: r.maxAttempts,
    initialBackoffMs: nonNegativeMs(r.initialBackoff, "retry.initial_backoff") ?? 1000,
    maxBackoffMs: nonNegativeMs(r.maxBackoff, "retry.max_backoff") ?? 300_000,
    multiplier: r.backoffMultiplier === 0 ? 2 : r.backoffMultiplier,
  };
}

/**
 * A job's args from `args` or `args_json` (exact integers). Both may be set only when they hold
 * the same values, so that a job read from the server can be sent back as it is.
 */
function argsFromProto(j: PbJob): JsonValue[] {
  const fromList =
    j.args === undefined ? undefined : (toJson(ListValueSchema, j.args) as JsonValue[]);
  if (j.argsJson === "") return fromList ?? [];
  const exact = parseJsonArray(j.argsJson, "args_json");
  if (fromList !== undefined && !isDeepStrictEqual(fromList, exact))
    throw new InvalidArgumentError("args_json", "differs from args: set one of them, not both");
  return exact;
}

/** A job's kwargs from `kwargs` or `kwargs_json`, as argsFromProto. */
function kwargsFromProto(j: PbJob): JsonObject {
  if (j.kwargsJson === "") return j.kwargs ?? {};
  const exact = parseJsonObject(j.kwargsJson, "kwargs_json");
  if (j.kwargs !== undefined && !isDeepStrictEqual({ ...j.kwargs }, exact))
    throw new InvalidArgumentError("kwargs_json", "differs from kwargs: set one of them, not both");
  return exact;
}

/** The fields of a Job message as a partial management input (ModifyJob takes what the mask names). */
export function jobPatchFromProto(j: PbJob): JobPatch {
  return {
    scheduler: j.scheduler || undefined,
    id: j.id || undefined,
    name: j.name || undefined,
    handler: j.handler,
    trigger: j.trigger === undefined ? undefined : triggerFromProto(j.trigger, "trigger"),
    args: argsFromProto(j),
    kwargs: kwargsFromProto(j),
    coalesce: j.coalesce,
    maxInstances: j.maxInstances,
    misfireGraceTimeMs: misfireFromProto(j.misfireGraceTime, "misfire_grace_time"),
    timeoutMs: j.timeout === undefined ? undefined : durationMs(j.timeout),
    retry: retryFromProto(j.retryPolicy),
    paused: j.paused,
  };
}

/** The fields of a Job message as management input for AddJob (trigger required). */
export function jobInputFromProto(j: PbJob): JobInput {
  return {
    ...jobPatchFromProto(j),
    handler: j.handler,
    trigger: triggerFromProto(j.trigger, "trigger"),
  };
}

/**
 * A job as the API answers it; `workerCount`: the worker sessions serving its handler (unset
 * when not counted).
 */
export function jobToProto(j: Job, workerCount?: number): PbJob {
  return create(JobSchema, {
    id: j.id,
    scheduler: j.scheduler,
    name: j.name,
    handler: j.handler,
    trigger: triggerToProto(j.trigger),
    args: fromJson(ListValueSchema, j.args),
    kwargs: j.kwargs,
    argsJson: JSON.stringify(j.args),
    kwargsJson: JSON.stringify(j.kwargs),
    ...(workerCount === undefined ? {} : { workerCount }),
    coalesce: j.coalesce,
    maxInstances: j.maxInstances,
    misfireGraceTime: misfireToProto(j.misfireGraceTimeMs),
    timeout: j.timeoutMs === null ? undefined : durationFromMs(j.timeoutMs),
    retryPolicy:
      j.retry === null
        ? undefined
        : create(RetryPolicySchema, {
            maxAttempts: j.retry.maxAttempts,
            initialBackoff: durationFromMs(j.retry.initialBackoffMs),
            maxBackoff: durationFromMs(j.retry.maxBackoffMs),
            backoffMultiplier: j.retry.multiplier,
          }),
    paused: j.paused,
    nextRunTime: optionalTs(j.nextRunTime),
    createdAt: ts(j.createdAt),
    updatedAt: ts(j.updatedAt),
    version: BigInt(j.version),
  });
}

export function settingsFromProto(
  d:
    | {
        coalesce?: boolean | undefined;
        maxInstances?: number | undefined;
        misfireGraceTime?: PbMisfire | undefined;
      }
    | undefined,
  field: string,
): Partial<JobSettings> {
  if (d === undefined) return {};
  const out: { coalesce?: boolean; maxInstances?: number; misfireGraceTimeMs?: number | null } = {};
  if (d.coalesce !== undefined) out.coalesce = d.coalesce;
  if (d.maxInstances !== undefined) out.maxInstances = d.maxInstances;
  const misfire = misfireFromProto(d.misfireGraceTime, `${field}.misfire_grace_time`);
  if (misfire !== undefined) out.misfireGraceTimeMs = misfire;
  return out;
}

export function schedulerToProto(s: Scheduler): PbScheduler {
  return create(SchedulerSchema, {
    name: s.name,
    timezone: s.timezone,
    jobDefaults: {
      coalesce: s.defaults.coalesce,
      maxInstances: s.defaults.maxInstances,
      misfireGraceTime: misfireToProto(s.defaults.misfireGraceTimeMs),
    },
    paused: s.paused,
    createdAt: ts(s.createdAt),
    updatedAt: ts(s.updatedAt),
  });
}

// ---- runs ----

const RUN_STATUS_TO_PROTO: Record<RunStatus, PbRunStatus> = {
  pending: PbRunStatus.PENDING,
  running: PbRunStatus.RUNNING,
  succeeded: PbRunStatus.SUCCEEDED,
  failed: PbRunStatus.FAILED,
  timed_out: PbRunStatus.TIMED_OUT,
  cancelled: PbRunStatus.CANCELLED,
  missed: PbRunStatus.MISSED,
  skipped: PbRunStatus.SKIPPED,
};

export function runStatusToProto(s: RunStatus): PbRunStatus {
  return RUN_STATUS_TO_PROTO[s];
}

export function runStatusFromProto(s: PbRunStatus, field: string): RunStatus {
  const found = (Object.entries(RUN_STATUS_TO_PROTO) as [RunStatus, PbRunStatus][]).find(
    ([, v]) => v === s,
  );
  if (found === undefined) throw new InvalidArgumentError(field, "must be a run status");
  return found[0];
}

export function runErrorToProto(e: RunError): PbRunError {
  return create(RunErrorSchema, {
    message: e.message,
    type: e.type,
    stack: e.stack,
    nonRetryable: e.nonRetryable,
  });
}

export function runToProto(r: Run): PbRun {
  return create(RunSchema, {
    runId: r.id,
    jobId: r.jobId,
    scheduler: r.scheduler,
    handler: r.handler,
    scheduledTime: ts(r.scheduledTime),
    fireTime: ts(r.fireTime),
    attempt: r.attempt,
    status: runStatusToProto(r.status),
    statusReason: r.statusReason,
    manual: r.manual,
    workerId: r.workerId ?? "",
    createdAt: ts(r.createdAt),
    startedAt: optionalTs(r.startedAt),
    finishedAt: optionalTs(r.finishedAt),
    retryAt: r.status === "pending" && r.attempt > 1 ? optionalTs(r.dueAt) : undefined,
    result: r.status === "succeeded" ? fromJson(ValueSchema, r.result ?? null) : undefined,
    resultJson: r.status === "succeeded" ? JSON.stringify(r.result ?? null) : "",
    error: r.error === null ? undefined : runErrorToProto(r.error),
  });
}
