import { all, type Tx } from "../runner.js";

/** Whether some committed event waits for its cursor (a cheap look before sequencing). */
export function* hasUnsequenced(): Tx<boolean> {
  const rows = yield* all("SELECT `id` FROM `event_log` WHERE `cursor` IS NULL LIMIT 1");
  return rows.length > 0;
}
