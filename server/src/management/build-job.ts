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
  type Trigger,
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
  const { spec, nextRunTime } = at("trigger", () => {
    const spec = resolveTrigger(input.trigger, s.timezone, now);
    const trigger = compileTrigger(spec);
    // An `and` whose search for a fire time runs out throws, naming it (all_of.triggers).
    const nextRunTime = trigger.firstFireTime(now);
    if (checkSchedule) checkFireTimesAfter(trigger, nextRunTime);
    return { spec, nextRunTime };
  });
  const paused = input.paused ?? false;
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
 * The fire times after the first that a new trigger must reach (AddJob, ModifyJob of the
 * trigger, RescheduleJob). An `and` trigger whose parts meet once and then not again within its
 * search (two intervals of 10,007 s and 10,009 s from one start meet every 3.2 years) would
 * otherwise be stored to stop after its first fire; it is refused instead, naming the `and`.
 */
const FIRE_TIMES_CHECKED_AFTER_FIRST = 2;

function checkFireTimesAfter(trigger: Trigger, first: number | null): void {
  let t = first;
  for (let i = 0; i < FIRE_TIMES_CHECKED_AFTER_FIRST && t !== null && t <= MAX_INSTANT; i++)
    t = trigger.nextFireTime(t);
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
