import { InvalidArgumentError } from "../../domain/errors.js";
import type { TriggerSpec } from "../../domain/triggers/index.js";
import { protoTriggerPath } from "../convert/triggers.js";

/**
 * Run `op`, renaming the field of an `InvalidArgumentError` from the domain's path to the
 * request's proto path (e.g. `trigger.fields.hour` -> `job.trigger.cron.hour`).
 */
export async function withFields<T>(
  op: () => Promise<T> | T,
  rename: (field: string) => string,
): Promise<T> {
  try {
    return await op();
  } catch (err) {
    if (err instanceof InvalidArgumentError) throw err.renamed(rename(err.field));
    throw err;
  }
}

/** Field paths of a `Job` message inside a request (`prefix` = `job`). */
export function jobFields(
  prefix: string,
  trigger: TriggerSpec | undefined,
): (field: string) => string {
  return (field) => {
    if (field === "trigger" || field.startsWith("trigger.")) {
      const rest = field.slice("trigger.".length);
      const path = trigger && field !== "trigger" ? protoTriggerPath(trigger, rest) : rest;
      return path ? `${prefix}.trigger.${path}` : `${prefix}.trigger`;
    }
    if (field.startsWith("retry.")) return `${prefix}.retry_policy.${field.slice("retry.".length)}`;
    if (field === "update_mask" || field === "page_size") return field;
    return `${prefix}.${field}`;
  };
}

/** Field paths of requests that name a job by (scheduler, job_id). */
export const jobRefFields = (field: string): string => (field === "id" ? "job_id" : field);
