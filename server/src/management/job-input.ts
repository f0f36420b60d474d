/**
 * What a caller gives to add or change a job, before the scheduler's defaults and the trigger's
 * omitted parts are filled in (see build-job.ts).
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

/** Any subset of a job's input; ModifyJob reads the fields its mask names. */
export type JobPatch = { readonly [K in keyof JobInput]?: JobInput[K] | undefined };

/** Fields a modification may change (the API's field mask names, snake_case). */
export const MODIFIABLE_FIELDS = [
  "name",
  "handler",
  "trigger",
  "args",
  "kwargs",
  "coalesce",
  "max_instances",
  "misfire_grace_time",
  "timeout",
  "retry",
] as const;
export type ModifiableField = (typeof MODIFIABLE_FIELDS)[number];

/** The server's defaults for new schedulers (configuration). */
export interface ServerDefaults {
  readonly timezone: string;
  readonly settings: JobSettings;
}
