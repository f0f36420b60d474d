/**
 * The API requests of a scheduler's calls, built from the forms the SDK takes: `addJob`'s
 * three forms (string mode, a trigger object then options, keywords), the Job message, the
 * changes of `modifyJob` with their field mask, and the settings of `configure`.
 */
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { JobSchema } from "../gen/metronome/v1/job_pb.js";
import type { ConfigureSchedulerRequestSchema } from "../gen/metronome/v1/scheduler_service_pb.js";
import type { Args, HandlerDef, Kwargs } from "../handlers.js";
import {
  argsToProto,
  kwargsToProto,
  settingsToProto,
  type JobOptions,
  type JobSettings,
} from "./jobs.js";
import { Trigger, triggerOf, type TriggerFields, type TriggerKind } from "./triggers.js";

/** A handler to run: its typed definition, or its name (arguments then untyped). */
export type HandlerRef<A extends Args, K extends Kwargs> = HandlerDef<A, K> | string;

/** `addJob`'s string mode: the trigger kind's fields and the job's options in one object. */
export type StringModeOptions<
  T extends TriggerKind,
  A extends Args,
  K extends Kwargs,
> = TriggerFields[T] & JobOptions<A, K>;

/** `addJob`'s keyword form: `addJob({ func, trigger, id, … })`. */
export type AddJobSpec<A extends Args, K extends Kwargs> = JobOptions<A, K> & {
  readonly func: HandlerRef<A, K>;
  readonly trigger: Trigger;
};

/** Options after a trigger object: required when the handler has required arguments. */
export type OptionsArg<A extends Args, K extends Kwargs> =
  Partial<JobOptions<A, K>> extends JobOptions<A, K>
    ? [options?: JobOptions<A, K>]
    : [options: JobOptions<A, K>];

/**
 * What `modifyJob` may change (the guide's modify_job); the rest stays, and so does a member
 * given as `undefined`.
 */
export interface JobChanges<A extends Args = Args, K extends Kwargs = Kwargs> extends JobSettings {
  readonly name?: string | undefined;
  readonly func?: HandlerRef<A, K> | undefined;
  readonly trigger?: Trigger | undefined;
  readonly args?: A | undefined;
  readonly kwargs?: K | undefined;
}

/** The guide's `get_instance` options: the scheduler's time zone and job defaults. */
export interface SchedulerSettings {
  readonly timezone?: string | undefined;
  readonly jobDefaults?:
    Pick<JobSettings, "coalesce" | "maxInstances" | "misfireGraceTime"> | undefined;
}

/** A job to add, whatever the form it was given in. */
export interface NewJob {
  readonly func: HandlerRef<Args, Kwargs>;
  readonly trigger: Trigger;
  readonly options: JobOptions;
}

const OPTION_KEYS = new Set([
  "id",
  "name",
  "args",
  "kwargs",
  "replaceExisting",
  "paused",
  "idempotencyKey",
  "coalesce",
  "maxInstances",
  "misfireGraceTime",
  "timeout",
  "retry",
]);

/** Splits string mode's one object into the trigger's fields and the job's options. */
function splitStringMode(all: object): [fields: object, options: JobOptions] {
  const fields: Record<string, unknown> = {};
  const options: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(all)) (OPTION_KEYS.has(k) ? options : fields)[k] = v;
  return [fields, options];
}

/** The job of `addJob`'s arguments, in any of its three forms. */
export function newJob(
  first: HandlerRef<Args, Kwargs> | AddJobSpec<Args, Kwargs>,
  trigger?: TriggerKind | Trigger,
  options?: object,
): NewJob {
  if (typeof first === "object" && "func" in first) {
    const { func, trigger: t, ...rest } = first;
    return { func, trigger: t, options: rest };
  }
  if (typeof trigger === "string") {
    const [fields, rest] = splitStringMode(options ?? {});
    return { func: first, trigger: triggerOf(trigger, fields as never), options: rest };
  }
  if (trigger instanceof Trigger) return { func: first, trigger, options: options ?? {} };
  throw new TypeError(
    'addJob: give a trigger: an object, or "cron", "crontab", "interval", "date"',
  );
}

function handlerName<A extends Args, K extends Kwargs>(func: HandlerRef<A, K>): string {
  return typeof func === "string" ? func : func.name;
}

/** The Job message of a new job in `scheduler`. */
export function jobMessage(scheduler: string, job: NewJob): MessageInitShape<typeof JobSchema> {
  const o = job.options;
  return {
    scheduler,
    id: o.id ?? "",
    name: o.name ?? "",
    handler: handlerName(job.func),
    trigger: job.trigger.toProto(),
    args: argsToProto(o.args),
    kwargs: kwargsToProto(o.kwargs),
    paused: o.paused ?? false,
    ...settingsToProto(o),
  };
}

/** The fields of `JobChanges` and their paths in the field mask. */
const CHANGE_PATHS: readonly (readonly [keyof JobChanges, string])[] = [
  ["name", "name"],
  ["func", "handler"],
  ["trigger", "trigger"],
  ["args", "args"],
  ["kwargs", "kwargs"],
  ["coalesce", "coalesce"],
  ["maxInstances", "max_instances"],
  ["misfireGraceTime", "misfire_grace_time"],
  ["timeout", "timeout"],
  ["retry", "retry_policy"],
];

/** The Job message and field mask of `modifyJob`'s changes. */
export function jobChanges<A extends Args, K extends Kwargs>(
  scheduler: string,
  id: string,
  changes: JobChanges<A, K>,
): { job: MessageInitShape<typeof JobSchema>; paths: string[] } {
  // A member set to undefined changes nothing (as if left out); misfireGraceTime: null is
  // a change (no limit).
  const paths = CHANGE_PATHS.filter(([key]) => changes[key] !== undefined).map(([, p]) => p);
  const func = changes.func;
  return {
    job: {
      scheduler,
      id,
      name: changes.name ?? "",
      handler: func === undefined ? "" : handlerName(func),
      trigger: changes.trigger?.toProto(),
      args: argsToProto(changes.args),
      kwargs: kwargsToProto(changes.kwargs),
      ...settingsToProto(changes),
    },
    paths,
  };
}

/** The ConfigureScheduler request of `settings` (only what they set is changed). */
export function configureRequest(
  name: string,
  settings: SchedulerSettings,
): MessageInitShape<typeof ConfigureSchedulerRequestSchema> {
  const d = settings.jobDefaults ?? {};
  const defaults = settingsToProto(d, "job_defaults");
  const paths = [
    ...(settings.timezone === undefined ? [] : ["timezone"]),
    ...(d.coalesce === undefined ? [] : ["job_defaults.coalesce"]),
    ...(d.maxInstances === undefined ? [] : ["job_defaults.max_instances"]),
    ...(d.misfireGraceTime === undefined ? [] : ["job_defaults.misfire_grace_time"]),
  ];
  return {
    name,
    timezone: settings.timezone ?? "",
    jobDefaults: {
      ...(defaults.coalesce === undefined ? {} : { coalesce: defaults.coalesce }),
      ...(defaults.maxInstances === undefined ? {} : { maxInstances: defaults.maxInstances }),
      misfireGraceTime: defaults.misfireGraceTime,
    },
    updateMask: { paths },
  };
}
