import type { Run } from "../../../domain/runs.js";
import type { ListRunsQuery } from "../../port.js";
import { RUN_SELECT, runFromRow } from "../run-rows.js";
import { all, placeholders, type Param, type Tx } from "../runner.js";

/** A scheduler's runs (of one job, in some statuses), newest fire time first, after a keyset. */
export function* listRuns(q: ListRunsQuery): Tx<Run[]> {
  const where = ["`scheduler` = ?"];
  const params: Param[] = [q.scheduler];
  if (q.jobId !== undefined) {
    where.push("`job_id` = ?");
    params.push(q.jobId);
  }
  if (q.statuses.length > 0) {
    where.push(`\`status\` IN (${placeholders(q.statuses.length)})`);
    params.push(...q.statuses);
  }
  if (q.after !== undefined) {
    where.push("(`scheduled_time` < ? OR (`scheduled_time` = ? AND `id` < ?))");
    params.push(q.after.scheduledTime, q.after.scheduledTime, q.after.id);
  }
  const rows = yield* all(
    `SELECT ${RUN_SELECT} FROM \`runs\` WHERE ${where.join(" AND ")} ORDER BY \`scheduled_time\` DESC, \`id\` DESC LIMIT ?`,
    [...params, q.limit],
  );
  return rows.map(runFromRow);
}
