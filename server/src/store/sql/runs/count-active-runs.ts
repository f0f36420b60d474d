import type { ActiveRunCount } from "../../port.js";
import { all, num, strOrNull, type Tx } from "../runner.js";

/** Pending runs (due by `now`, or later) and running runs, per scheduler. */
export function* countActiveRuns(now: number): Tx<ActiveRunCount[]> {
  const rows = yield* all(
    "SELECT `scheduler`, `status`, CASE WHEN `status` = 'pending' AND `due_at` > ? THEN 1 ELSE 0 END AS `later`, COUNT(*) AS `n` FROM `runs` WHERE `status` IN ('pending', 'running') GROUP BY `scheduler`, `status`, `later`",
    [now],
  );
  return rows.map((r) => ({
    scheduler: strOrNull(r.scheduler) ?? "",
    state: strOrNull(r.status) === "running" ? "running" : num(r.later) === 1 ? "later" : "due",
    count: num(r.n),
  }));
}
