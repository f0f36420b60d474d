/** Trigger use cases that store nothing: previewing fire times. */
import { InvalidArgumentError } from "../domain/errors.js";
import { compileTrigger, fireTimes } from "../domain/triggers/index.js";
import { resolveTrigger } from "./build-job.js";
import type { TriggerInput } from "./job-input.js";

/** The next `count` fire times of a trigger after `after`; nothing is stored. */
export function previewTrigger(
  input: TriggerInput,
  after: number,
  count: number,
  timezone: string,
): number[] {
  if (!Number.isInteger(count) || count < 1 || count > 100)
    throw new InvalidArgumentError("count", "must be from 1 to 100");
  return fireTimes(compileTrigger(resolveTrigger(input, timezone, after)), after, count);
}
