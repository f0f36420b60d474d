import type { Run } from "../../../domain/runs.js";
import { RUN_SELECT, runFromRow } from "../run-rows.js";
import { all, type Tx } from "../runner.js";

export function* getRun(runId: string): Tx<Run | null> {
  const rows = yield* all(`SELECT ${RUN_SELECT} FROM \`runs\` WHERE \`id\` = ?`, [runId]);
  return rows[0] === undefined ? null : runFromRow(rows[0]);
}
