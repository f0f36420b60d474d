/**
 * What a caller gives to add or change a job, before the scheduler's defaults and the trigger's
 * omitted parts are filled in (build-job.ts). Errors about it name the fields of the API's Job
 * message (domain/fields.ts).
 */
import type { JsonObject, JsonValue, JobSettings, RetryPolicy } from "../domain/jobs.js";
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

/** The server's defaults for new schedulers (configuration). */
export interface ServerDefaults {
  readonly timezone: string;
  readonly settings: JobSettings;
}
