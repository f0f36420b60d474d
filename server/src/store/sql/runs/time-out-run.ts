import type { Lease, Run } from "../../../domain/runs.js";
import { timedOut } from "../../../domain/run-transitions.js";
import type { Dialect } from "../dialect.js";
import { RUN_SELECT, runFromRow, writeRun } from "../run-rows.js";
import { all, type Tx } from "../runner.js";

/** Ends one running attempt as timed out if it is still running under this lease. */
export function* timeOutRun(d: Dialect, now: number, lease: Lease): Tx<Run | null> {
  const rows = yield* all(`SELECT ${RUN_SELECT} FROM \`runs\` WHERE \`id\` = ?${d.lock}`, [
    lease.runId,
  ]);
  const row = rows[0];
  if (row === undefined) return null;
  const run = runFromRow(row);
  if (run.status !== "running" || run.attempt !== lease.attempt || run.leaseToken !== lease.token)
    return null;
  const next = timedOut(run, now);
  yield* writeRun(next);
  return next;
}
