import { all, type Tx } from "../runner.js";

/** How many jobs a scheduler holds (an index range of the primary key). */
export function* countJobs(scheduler: string): Tx<number> {
  const rows = yield* all("SELECT COUNT(*) AS `n` FROM `jobs` WHERE `scheduler` = ?", [scheduler]);
  return Number(rows[0]?.n ?? 0);
}
