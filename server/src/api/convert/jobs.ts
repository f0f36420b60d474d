/**
 * Job messages: management input from a request's job, and jobs as the API answers them. Errors
 * name the request's fields: each conversion is given the path of its message in the request.
 */
import { create, fromJson, toJson } from "@bufbuild/protobuf";
import { ListValueSchema, durationFromMs, durationMs } from "@bufbuild/protobuf/wkt";
import { isDeepStrictEqual } from "node:util";
import { InvalidArgumentError } from "../../domain/errors.js";
import { joinPath } from "../../domain/fields.js";
import type { Job, JsonObject, JsonValue, RetryPolicy } from "../../domain/jobs.js";
import { parseJsonArray, parseJsonObject } from "../../domain/json.js";
import type { JobInput, JobPatch } from "../../management/job-input.js";
import {
  JobSchema,
  RetryPolicySchema,
  type Job as PbJob,
  type RetryPolicy as PbRetry,
} from "../../gen/metronome/v1/job_pb.js";
import { misfireFromProto, misfireToProto } from "./misfire.js";
import { nonNegativeMs, optionalTs, ts } from "./time.js";
import { triggerFromProto, triggerToProto } from "./triggers.js";

/** An unset max_backoff: 5 minutes, or initial_backoff when that is longer. */
const DEFAULT_MAX_BACKOFF_MS = 300_000;

function retryFromProto(r: PbRetry | undefined, path: string): RetryPolicy | null {
  if (r === undefined) return null;
  const initialBackoffMs =
    nonNegativeMs(r.initialBackoff, joinPath(path, "initial_backoff")) ?? 1000;
  return {
    maxAttempts: r.maxAttempts,
    initialBackoffMs,
    // Never below initial_backoff: a policy that sets only a long initial_backoff is not
    // refused on max_backoff, a field its caller never set.
    maxBackoffMs:
      nonNegativeMs(r.maxBackoff, joinPath(path, "max_backoff")) ??
      Math.max(DEFAULT_MAX_BACKOFF_MS, initialBackoffMs),
    multiplier: r.backoffMultiplier === 0 ? 2 : r.backoffMultiplier,
  };
}

/**
 * A job's args from `args` or `args_json` (exact integers). Both may be set only when they hold
 * the same values, so that a job read from the server can be sent back as it is.
 */
function argsFromProto(j: PbJob, path: string): JsonValue[] {
  const fromList =
    j.args === undefined ? undefined : (toJson(ListValueSchema, j.args) as JsonValue[]);
  if (j.argsJson === "") return fromList ?? [];
  const field = joinPath(path, "args_json");
  const exact = parseJsonArray(j.argsJson, field);
  if (fromList !== undefined && !isDeepStrictEqual(fromList, exact))
    throw new InvalidArgumentError(field, "differs from args: set one of them, not both");
  return exact;
}

/** A job's kwargs from `kwargs` or `kwargs_json`, as argsFromProto. */
function kwargsFromProto(j: PbJob, path: string): JsonObject {
  if (j.kwargsJson === "") return j.kwargs ?? {};
  const field = joinPath(path, "kwargs_json");
  const exact = parseJsonObject(j.kwargsJson, field);
  if (j.kwargs !== undefined && !isDeepStrictEqual({ ...j.kwargs }, exact))
    throw new InvalidArgumentError(field, "differs from kwargs: set one of them, not both");
  return exact;
}

/**
 * The fields of the Job message at `path` in a request (required) as a partial management
 * input: ModifyJob takes what its mask names.
 */
export function jobPatchFromProto(j: PbJob | undefined, path: string): JobPatch {
  if (j === undefined) throw new InvalidArgumentError(path, "is required");
  return {
    scheduler: j.scheduler || undefined,
    id: j.id || undefined,
    name: j.name || undefined,
    handler: j.handler,
    trigger:
      j.trigger === undefined ? undefined : triggerFromProto(j.trigger, joinPath(path, "trigger")),
    args: argsFromProto(j, path),
    kwargs: kwargsFromProto(j, path),
    coalesce: j.coalesce,
    maxInstances: j.maxInstances,
    misfireGraceTimeMs: misfireFromProto(j.misfireGraceTime, joinPath(path, "misfire_grace_time")),
    timeoutMs: j.timeout === undefined ? undefined : durationMs(j.timeout),
    retry: retryFromProto(j.retryPolicy, joinPath(path, "retry_policy")),
    paused: j.paused,
  };
}

/** The Job message at `path` in a request (required) as management input for AddJob. */
export function jobInputFromProto(j: PbJob | undefined, path: string): JobInput {
  const patch = jobPatchFromProto(j, path);
  return {
    ...patch,
    handler: patch.handler ?? "",
    trigger: triggerFromProto(j?.trigger, joinPath(path, "trigger")),
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
    modifiedBy: j.modifiedBy ?? "",
  });
}
