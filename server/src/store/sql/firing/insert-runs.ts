import type { Run } from "../../../domain/runs.js";
import { chunksWithin } from "../../../lib/chunks.js";
import type { Dialect } from "../dialect.js";
import { RUN_COLUMNS, RUN_SELECT, runCells } from "../run-rows.js";
import {
  all,
  cellChars,
  exec,
  placeholders,
  STATEMENT_CHARS,
  type Param,
  type Tx,
} from "../runner.js";

/**
 * Inserts runs; answers the ids that were new. A run of the same job and fire time may exist:
 * the unique key keeps the first, which is what makes a fire time run once across nodes.
 */
export function* insertRuns(d: Dialect, runs: readonly Run[]): Tx<Set<string>> {
  const created = new Set<string>();
  // 500 rows of 28 values: one statement for a typical claim, within SQLite's 32,766 variables;
  // fewer when the runs carry large arguments (STATEMENT_CHARS).
  const rows = runs.map((run) => ({ run, cells: runCells(run) }));
  const row = `(${placeholders(RUN_COLUMNS.length)})`;
  for (const cut of chunksWithin(rows, 500, STATEMENT_CHARS, (r) => cellChars(r.cells))) {
    const part = cut.map((r) => r.run);
    const n = yield* exec(
      `${d.insertIgnore} INTO \`runs\` (${RUN_SELECT}) VALUES ${part.map(() => row).join(", ")}${d.onConflictIgnore}`,
      cut.flatMap((r): Param[] => r.cells),
    );
    if (n === part.length) {
      for (const r of part) created.add(r.id);
    } else if (n > 0) {
      const found = yield* all<{ id: string }>(
        `SELECT \`id\` FROM \`runs\` WHERE \`id\` IN (${placeholders(part.length)})`,
        part.map((r) => r.id),
      );
      for (const f of found) created.add(f.id);
    }
  }
  return created;
}
