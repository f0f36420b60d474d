import type { Dialect } from "../dialect.js";
import { all, exec, num, type Tx } from "../runner.js";
import { BATCH_SPAN } from "./append-events.js";

/**
 * Retention: deletes the oldest batches, in cursor order, while their newest event is older
 * than `before` (at most `limit` batches), and records the cursor of the last event deleted.
 * Deleting a prefix of the log keeps the rule simple: a cursor below `pruned` may have lost
 * events after it (OUT_OF_RANGE), any other has not. Answers how many batches were deleted.
 */
export function* pruneEvents(d: Dialect, before: number, limit: number): Tx<number> {
  const oldest = yield* all(
    "SELECT `cursor`, `count`, `time` FROM `event_log` WHERE `cursor` IS NOT NULL ORDER BY `cursor` LIMIT ?",
    [limit],
  );
  let upTo = 0;
  let lastEvent = 0;
  let batches = 0;
  for (const r of oldest) {
    if (num(r.time) >= before) break;
    upTo = num(r.cursor);
    lastEvent = upTo * BATCH_SPAN + num(r.count) - 1;
    batches++;
  }
  if (upTo === 0) return 0;
  const state = yield* all(
    `SELECT \`value\` FROM \`event_log_state\` WHERE \`name\` = 'pruned'${d.lock}`,
  );
  yield* exec("DELETE FROM `event_log` WHERE `cursor` IS NOT NULL AND `cursor` <= ?", [upTo]);
  if (lastEvent > num(state[0]?.value ?? 0))
    yield* exec("UPDATE `event_log_state` SET `value` = ? WHERE `name` = 'pruned'", [lastEvent]);
  return batches;
}
