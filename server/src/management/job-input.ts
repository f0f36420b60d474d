/**
 * What a caller gives to add or change a job, before the scheduler's defaults and the trigger's
 * omitted parts are filled in (build-job.ts). Errors about it name the fields of the API's Job
 * message (domain/fields.ts).
 */
import { InvalidArgumentError } from "../domain/errors.js";
import type {
  Job,
  JsonObject,
  JsonValue,
  JobSettings,
  RetryPolicy,
  Scheduler,
} from "../domain/jobs.js";
import type { TriggerSpec } from "../domain/triggers/index.js";

export type ConflictPolicy = "error" | "replace" | "keep_existing";

/** A trigger as the caller gives it: the time zone may be empty (the scheduler's) and an interval may lack its start. */
export type TriggerInput = TriggerSpec;

export interface JobInput {
  readonly scheduler?: string | undefined;
  readonly id?: string | undefined;
  readonly name?: string | undefined;
  readonly handler: string;
  readonly trigger: TriggerInput;
  readonly args?: JsonValue[] | undefined;
  readonly kwargs?: JsonObject | undefined;
  readonly coalesce?: boolean | undefined;
  readonly maxInstances?: number | undefined;
  /** undefined = the scheduler's default; null = no limit. */
  readonly misfireGraceTimeMs?: number | null | undefined;
  readonly timeoutMs?: number | null | undefined;
  readonly retry?: RetryPolicy | null | undefined;
  readonly paused?: boolean | undefined;
}

/**
 * Any subset of a job's input; ModifyJob reads the fields its mask names (a trigger left
 * undefined, or an empty handler, is unset).
 */
export type JobPatch = { readonly [K in keyof JobInput]?: JobInput[K] | undefined };

/** The input fields a modification may change. */
export type ModifiableField =
  | "name"
  | "handler"
  | "trigger"
  | "args"
  | "kwargs"
  | "coalesce"
  | "maxInstances"
  | "misfireGraceTime"
  | "timeout"
  | "retry";

/** The paths a ModifyJob field mask may name (the Job message's), and the field each changes. */
export const MODIFIABLE_FIELDS: Readonly<Record<string, ModifiableField>> = {
  name: "name",
  handler: "handler",
  trigger: "trigger",
  args: "args",
  kwargs: "kwargs",
  args_json: "args",
  kwargs_json: "kwargs",
  coalesce: "coalesce",
  max_instances: "maxInstances",
  misfire_grace_time: "misfireGraceTime",
  timeout: "timeout",
  retry_policy: "retry",
};

/** The fields a ModifyJob mask names; INVALID_ARGUMENT (`update_mask`) for an empty or unknown one. */
export function checkMask(mask: readonly string[]): Set<ModifiableField> {
  const modifiable = Object.keys(MODIFIABLE_FIELDS).join(", ");
  if (mask.length === 0)
    throw new InvalidArgumentError(
      "update_mask",
      `is required: name at least one of ${modifiable}`,
    );
  return new Set(
    mask.map((path) => {
      const field = MODIFIABLE_FIELDS[path];
      if (field === undefined)
        throw new InvalidArgumentError(
          "update_mask",
          `cannot modify ${JSON.stringify(path)}; modifiable: ${modifiable}`,
        );
      return field;
    }),
  );
}

/** A job's input with the fields `has` names taken from `patch` (unset: the default). */
export function patched(
  job: Job,
  patch: JobPatch,
  has: (f: ModifiableField) => boolean,
  sched: Scheduler,
): JobInput {
  return {
    name: has("name") ? (patch.name ?? "") : job.name,
    handler: has("handler") ? (patch.handler ?? "") : job.handler,
    trigger: has("trigger") ? (patch.trigger ?? job.trigger) : job.trigger,
    args: has("args") ? (patch.args ?? []) : job.args,
    kwargs: has("kwargs") ? (patch.kwargs ?? {}) : job.kwargs,
    coalesce: has("coalesce") ? (patch.coalesce ?? sched.defaults.coalesce) : job.coalesce,
    maxInstances: has("maxInstances")
      ? (patch.maxInstances ?? sched.defaults.maxInstances)
      : job.maxInstances,
    misfireGraceTimeMs: has("misfireGraceTime") ? patch.misfireGraceTimeMs : job.misfireGraceTimeMs,
    timeoutMs: has("timeout") ? (patch.timeoutMs ?? null) : job.timeoutMs,
    retry: has("retry") ? (patch.retry ?? null) : job.retry,
    paused: job.paused,
  };
}

/** The server's defaults for new schedulers (configuration). */
export interface ServerDefaults {
  readonly timezone: string;
  readonly settings: JobSettings;
}
