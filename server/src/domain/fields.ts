/**
 * Field paths: how errors and warnings name what they are about, in one vocabulary for every
 * layer — the API's own field names (the proto's, snake_case), joined by `.`, with `[i]` for
 * an item of a list: `job.trigger.interval.seconds`, `jobs[2].trigger.any_of.triggers[1].cron.hour`.
 *
 * Each validator names paths relative to the value it validates (`compileTrigger` says
 * `cron.hour`, a job's validation `trigger.cron.hour`); whoever nests that value prefixes the
 * path once with where it sits (`at`). The API then needs no translation: a path is already
 * the request's.
 */
import { InvalidArgumentError } from "./errors.js";
import type { TriggerType } from "./triggers/spec.js";

/** `prefix` and `path` joined: `job` + `trigger.cron` = `job.trigger.cron`; an empty side is left out. */
export function joinPath(prefix: string, path: string): string {
  if (prefix === "") return path;
  if (path === "") return prefix;
  return `${prefix}.${path}`;
}

/** The path of item `i` of the list `list`: `triggers[2]`. */
export function itemPath(list: string, i: number): string {
  return `${list}[${String(i)}]`;
}

/**
 * Runs `op` (synchronous or not); an InvalidArgumentError it throws comes out with `prefix` in
 * front of its path.
 */
export function at<T>(prefix: string, op: () => T): T {
  const rethrow = (err: unknown): never => {
    throw err instanceof InvalidArgumentError ? err.within(prefix) : err;
  };
  let result: T;
  try {
    result = op();
  } catch (err) {
    return rethrow(err);
  }
  if (result instanceof Promise) return result.catch(rethrow) as T;
  return result;
}

/** The field of the Trigger message holding each kind of trigger (its `kind` oneof). */
export const TRIGGER_KIND_FIELD: Readonly<Record<TriggerType, string>> = {
  cron: "cron",
  crontab: "crontab",
  interval: "interval",
  date: "date",
  and: "all_of",
  or: "any_of",
};
