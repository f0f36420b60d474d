import type { Run } from "../../../domain/runs.js";
import { cancelled, REASONS } from "../../../domain/run-transitions.js";
import { chunks } from "../../../lib/chunks.js";
import type { Dialect } from "../dialect.js";
import { PREPARED, RUN_SELECT, runFromRow } from "../run-rows.js";
import { all, exec, placeholders, type Tx } from "../runner.js";

/** Which of the pending runs: at most `limit` (those due first), ids before `idBefore`. */
export interface PendingRunsPart {
  readonly limit?: number | undefined;
  readonly idBefore?: string | undefined;
}

/**
 * Cancels the pending runs of a removed job (or of every job of a scheduler, `jobId` null): they
 * are never handed out. Runs prepared ahead for fire times still to come are withdrawn instead
 * (the row would keep the (job, fire time) key taken, and a job added again with the same id
 * would lose that fire). Running runs go on. Answers the runs cancelled.
 */
export function* cancelPendingRuns(
  d: Dialect,
  now: number,
  scheduler: string,
  jobId: string | null,
  part: PendingRunsPart = {},
): Tx<Run[]> {
  const job = jobId === null ? "" : " AND `job_id` = ?";
  const before = part.idBefore === undefined ? "" : " AND `id` < ?";
  const params = [
    scheduler,
    ...(jobId === null ? [] : [jobId]),
    ...(part.idBefore === undefined ? [] : [part.idBefore]),
  ];
  yield* exec(`DELETE FROM \`runs\` WHERE \`scheduler\` = ?${job}${before} AND ${PREPARED}`, [
    ...params,
    now,
  ]);
  const limit = part.limit === undefined ? "" : " ORDER BY `due_at`, `id` LIMIT ?";
  const pending = (yield* all(
    `SELECT ${RUN_SELECT} FROM \`runs\` WHERE \`scheduler\` = ?${job}${before} AND \`status\` = 'pending'${limit}${d.lock}`,
    part.limit === undefined ? params : [...params, part.limit],
  )).map(runFromRow);
  const out: Run[] = [];
  for (const rows of chunks(pending, 500)) {
    // One statement for the part: every run gets the same values (see `cancelled`).
    const done = rows.map((r) => cancelled(r, REASONS.jobRemoved, now));
    yield* exec(
      `UPDATE \`runs\` SET \`status\` = 'cancelled', \`status_reason\` = ?, \`due_at\` = NULL, \`expires_at\` = NULL, \`finished_at\` = ?, \`updated_at\` = ? WHERE \`status\` = 'pending' AND \`id\` IN (${placeholders(rows.length)})`,
      [REASONS.jobRemoved, now, now, ...rows.map((r) => r.id)],
    );
    out.push(...done);
  }
  return out;
}
