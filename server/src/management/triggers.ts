/** Trigger use cases that store nothing: previewing fire times. */
import { InvalidArgumentError } from "../domain/errors.js";
import { at } from "../domain/fields.js";
import { compileTrigger, fireTimes, ZoneRules } from "../domain/triggers/index.js";
import { resolveTrigger } from "./build-job.js";
import type { TriggerInput } from "./job-input.js";

/**
 * PreviewTrigger: the next `count` fire times of a trigger after `after`, an empty time zone in
 * the trigger being `timezone`; nothing is stored. Errors name the fields of the request
 * (`trigger.cron.hour`, `timezone`, `count`).
 */
export function previewTrigger(
  trigger: TriggerInput,
  after: number,
  count: number,
  timezone: string,
): number[] {
  if (!Number.isInteger(count) || count < 1 || count > 100)
    throw new InvalidArgumentError("count", "must be from 1 to 100");
  const zone = ZoneRules.of(timezone, "timezone").name;
  // An `and` whose search for a fire time runs out throws too, naming it (trigger.all_of.triggers):
  // the preview does not end there as if the trigger had.
  return at("trigger", () =>
    fireTimes(compileTrigger(resolveTrigger(trigger, zone, after)), after, count),
  );
}
