import type { LogState } from "../../port.js";
import { all, num, type Tx } from "../runner.js";
import { BATCH_SPAN } from "./append-events.js";

/** The newest cursor given, and how far retention deleted. */
export function* logState(): Tx<LogState> {
  const rows = yield* all("SELECT `name`, `value` FROM `event_log_state`");
  const get = (name: string) => num(rows.find((r) => r.name === name)?.value ?? 0);
  const lastBatch = get("last");
  let last = 0;
  if (lastBatch > 0) {
    const found = yield* all("SELECT `count` FROM `event_log` WHERE `cursor` = ?", [lastBatch]);
    // A batch deleted by retention: the whole span counts as given.
    last = lastBatch * BATCH_SPAN + num(found[0]?.count ?? BATCH_SPAN) - 1;
  }
  return { last, pruned: get("pruned") };
}
