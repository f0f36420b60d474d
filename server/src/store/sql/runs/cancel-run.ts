import { cancelled, isFinal } from "../../../domain/run-transitions.js";
import type { CancelOutcome } from "../../port.js";
import type { Dialect } from "../dialect.js";
import { RUN_SELECT, runFromRow, writeRun } from "../run-rows.js";
import { all, type Tx } from "../runner.js";

/** Cancels a pending or running run (a repeat finds it cancelled already). */
export function* cancelRun(
  d: Dialect,
  now: number,
  runId: string,
  reason: string,
): Tx<CancelOutcome> {
  const rows = yield* all(`SELECT ${RUN_SELECT} FROM \`runs\` WHERE \`id\` = ?${d.lock}`, [runId]);
  const row = rows[0];
  if (row === undefined) return { kind: "not_found" };
  const run = runFromRow(row);
  if (run.status === "cancelled")
    return { kind: "cancelled", run, wasRunning: false, changed: false };
  if (isFinal(run.status)) return { kind: "final", run };
  const next = cancelled(run, reason, now);
  yield* writeRun(next);
  return { kind: "cancelled", run: next, wasRunning: run.status === "running", changed: true };
}
