import { leaseExpired, missed, timedOut } from "../../../domain/run-transitions.js";
import type { SweepRequest, SweepResult } from "../../port.js";
import type { Dialect } from "../dialect.js";
import { RUN_SELECT, runFromRow, writeRun } from "../run-rows.js";
import { all, exec, placeholders, type Tx } from "../runner.js";

/**
 * One pass of the sweeper, up to `limit` runs of each kind: pending runs past their misfire
 * grace become missed; running runs past their timeout become timed_out; running runs whose
 * lease expired are retried or failed. Rows another node is sweeping are skipped.
 */
export function* sweep(d: Dialect, req: SweepRequest): Tx<SweepResult> {
  const { now, limit } = req;
  // Pending runs are scanned for misfires only when asked (every few seconds): the hand-out
  // records the missed runs of handlers with workers as it meets them.
  const missedRows = !req.misfires
    ? []
    : yield* all(
        `SELECT ${RUN_SELECT} FROM \`runs\` WHERE \`status\` = 'pending' AND \`expires_at\` < ? ORDER BY \`expires_at\` LIMIT ?${d.lockSkipLocked}`,
        [now, limit],
      );
  const missedRuns = missedRows.map(runFromRow).map((r) => missed(r, now));
  if (missedRuns.length > 0) {
    yield* exec(
      `UPDATE \`runs\` SET \`status\` = 'missed', \`status_reason\` = CASE \`id\` ${missedRuns.map(() => "WHEN ? THEN ?").join(" ")} END, \`due_at\` = NULL, \`expires_at\` = NULL, \`finished_at\` = ?, \`updated_at\` = ? WHERE \`id\` IN (${placeholders(missedRuns.length)})`,
      [
        ...missedRuns.flatMap((r) => [r.id, r.statusReason]),
        now,
        now,
        ...missedRuns.map((r) => r.id),
      ],
    );
  }
  const timedOutRows = yield* all(
    `SELECT ${RUN_SELECT} FROM \`runs\` WHERE \`status\` = 'running' AND \`deadline_at\` <= ? ORDER BY \`deadline_at\` LIMIT ?${d.lockSkipLocked}`,
    [now, limit],
  );
  const timedOutRuns = timedOutRows.map(runFromRow).map((r) => timedOut(r, now));
  for (const r of timedOutRuns) yield* writeRun(r);
  const expiredRows = !req.leases
    ? []
    : yield* all(
        `SELECT ${RUN_SELECT} FROM \`runs\` WHERE \`status\` = 'running' AND \`lease_expires_at\` < ? ORDER BY \`lease_expires_at\` LIMIT ?${d.lockSkipLocked}`,
        [now, limit],
      );
  const expired = expiredRows
    .map(runFromRow)
    .filter((r) => !timedOutRuns.some((t) => t.id === r.id))
    .map((r) => leaseExpired(r, now));
  for (const r of expired) yield* writeRun(r);
  return { missed: missedRuns, expired, timedOut: timedOutRuns };
}
