import type { LogState } from "../../port.js";
import { all, num, type Tx } from "../runner.js";
import { endOfBatch } from "./sequence-events.js";

/**
 * The newest cursor given, and how far retention deleted. One statement (the hub reads this after
 * every sequencing on a node without subscribers): the last batch's event count comes with the
 * state rows.
 */
export function* logState(): Tx<LogState> {
  const rows = yield* all(
    "SELECT `name`, `value`, CASE WHEN `name` = 'last' THEN (SELECT `count` FROM `event_log` WHERE `cursor` = `event_log_state`.`value`) END AS `last_count` FROM `event_log_state`",
  );
  const row = (name: string) => rows.find((r) => r.name === name);
  const get = (name: string) => num(row(name)?.value ?? 0);
  return { last: endOfBatch(get("last"), row("last")?.last_count), pruned: get("pruned") };
}
