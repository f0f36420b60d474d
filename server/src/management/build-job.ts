/**
 * Building a job from its input: validation of every field, the scheduler's defaults for what
 * the input leaves out, and the first fire time. Pure: the caller passes the time. Errors name
 * the fields of the Job message (`trigger.cron.hour`, `retry_policy.max_attempts`).
 */
import { InvalidArgumentError } from "../domain/errors.js";
import {
  checkHandler,
  checkName,
  checkPayload,
  checkRetry,
  checkSettings,
  checkTimeout,
  type Job,
  type Limits,
  type Scheduler,
} from "../domain/jobs.js";
import { at, itemPath, joinPath, TRIGGER_KIND_FIELD } from "../domain/fields.js";
import {
  compileTrigger,
  intervalMs,
  MAX_INSTANT,
  type TriggerSpec,
} from "../domain/triggers/index.js";
import { sameJson } from "../lib/same-json.js";
import type { JobInput, TriggerInput } from "./job-input.js";

/**
 * The job `input` describes, in scheduler `s`, at version 1 and created `now`. With
 * `checkSchedule`, a trigger without a fire time after now is refused.
 */
export function buildJob(
  s: Scheduler,
  id: string,
  input: JobInput,
  now: number,
  limits: Limits,
  checkSchedule = true,
): Job {
  const handler = checkHandler(input.handler, "handler", limits);
  const name = checkName(input.name || handler, "name");
  const args = input.args ?? [];
  const kwargs = input.kwargs ?? {};
  checkPayload(args, kwargs, limits);
  const settings = checkSettings({
    coalesce: input.coalesce ?? s.defaults.coalesce,
    maxInstances: input.maxInstances ?? s.defaults.maxInstances,
    misfireGraceTimeMs:
      input.misfireGraceTimeMs === undefined
        ? s.defaults.misfireGraceTimeMs
        : input.misfireGraceTimeMs,
  });
  const { spec, trigger } = at("trigger", () => {
    const spec = resolveTrigger(input.trigger, s.timezone, now);
    return { spec, trigger: compileTrigger(spec) };
  });
  const paused = input.paused ?? false;
  const nextRunTime = trigger.firstFireTime(now);
  if (checkSchedule && (nextRunTime === null || nextRunTime > MAX_INSTANT)) {
    throw new InvalidArgumentError("trigger", "has no fire time after now");
  }
  return {
    scheduler: s.name,
    id,
    name,
    handler,
    trigger: spec,
    args,
    kwargs,
    ...settings,
    timeoutMs: checkTimeout(input.timeoutMs ?? null),
    retry: checkRetry(input.retry ?? null),
    paused,
    nextRunTime: paused ? null : nextRunTime,
    createdAt: now,
    updatedAt: now,
    version: 1,
  };
}

/**
 * Fill what a caller may leave out: an empty time zone becomes the scheduler's, and an interval
 * without a start starts one interval from now (APScheduler's default), so its grid is fixed
 * when stored. With `previous` (the trigger being replaced), re-adding the same interval keeps
 * its grid. Errors name the fields of the Trigger message (`interval.seconds`).
 */
export function resolveTrigger(
  spec: TriggerInput,
  timezone: string,
  now: number,
  previous?: TriggerSpec,
): TriggerSpec {
  switch (spec.type) {
    case "and":
    case "or":
      return {
        ...spec,
        triggers: spec.triggers.map((t, i) =>
          at(joinPath(TRIGGER_KIND_FIELD[spec.type], itemPath("triggers", i)), () =>
            resolveTrigger(
              t,
              timezone,
              now,
              previous?.type === spec.type ? previous.triggers[i] : undefined,
            ),
          ),
        ),
      };
    case "interval": {
      const tz = spec.timezone || timezone;
      if (Number.isFinite(spec.startDate)) return { ...spec, timezone: tz };
      // Re-adding the same interval (REPLACE on every deploy) keeps its grid instead of
      // starting a new one.
      if (previous?.type === "interval") {
        const kept = { ...spec, timezone: tz, startDate: previous.startDate };
        if (sameJson(kept, previous)) return previous;
      }
      return { ...spec, timezone: tz, startDate: now + at("interval", () => intervalMs(spec)) };
    }
    default:
      return { ...spec, timezone: spec.timezone || timezone };
  }
}
