import type { EventDraft } from "../../../domain/events.js";
import type { Job } from "../../../domain/jobs.js";
import { changedJob, rewoundToPrepared } from "../../../domain/prepared-runs.js";
import type { Dialect } from "../dialect.js";
import { appendEvents } from "../events/append-events.js";
import { JOB_COLUMNS, JOB_SELECT, jobFromSelected, jobRowCells, jobToRow } from "../job-rows.js";
import { PREPARED } from "../run-rows.js";
import { all, exec, num, type Tx } from "../runner.js";

/**
 * The locked read-modify-write of a job (`change` is pure; returning its argument means "no
 * change"), with the events `events` makes of the new job when it changed. With `now`, runs the
 * engine prepared ahead for the job (not due yet at `now`, whatever their nominal time: see
 * `PREPARED`) are withdrawn when the job changes and its next_run_time rewound to the first of
 * them (by nominal time), so the change applies to those fire times too (new arguments, a pause,
 * a new trigger) and none is lost; the job keeps nothing of them (changedJob).
 */
export function* updateJob(
  d: Dialect,
  scheduler: string,
  id: string,
  change: (current: Job) => Job,
  now: number | undefined,
  events: ((after: Job) => readonly EventDraft[]) | undefined,
): Tx<Job | null> {
  const rows = yield* all(
    `SELECT ${JOB_SELECT} FROM \`jobs\` WHERE \`scheduler\` = ? AND \`id\` = ?${d.lock}`,
    [scheduler, id],
  );
  const row = rows[0];
  if (row === undefined) return null;
  const current = jobFromSelected(row);
  let prepared: number | null = null;
  if (now !== undefined) {
    // The rows, not MIN(): a job's pending runs are few, and found through runs_job_status
    // (scheduler, job_id, status) on every store (SQLite would answer MIN() by walking the
    // job's whole history in runs_job_scheduled_time order).
    const found = yield* all(
      `SELECT \`scheduled_time\` AS \`t\` FROM \`runs\` WHERE \`scheduler\` = ? AND \`job_id\` = ? AND ${PREPARED}`,
      [scheduler, id, now],
    );
    for (const r of found) {
      const t = num(r.t);
      if (prepared === null || t < prepared) prepared = t;
    }
  }
  const base = rewoundToPrepared(current, prepared);
  const changed = change(base);
  if (changed === base) return current;
  const next = changedJob(base, changed);
  if (prepared !== null)
    yield* exec(`DELETE FROM \`runs\` WHERE \`scheduler\` = ? AND \`job_id\` = ? AND ${PREPARED}`, [
      scheduler,
      id,
      now ?? 0,
    ]);
  yield* exec(
    `UPDATE \`jobs\` SET ${JOB_COLUMNS.map(([, c]) => `\`${c}\` = ?`).join(", ")} WHERE \`scheduler\` = ? AND \`id\` = ?`,
    [...jobRowCells(jobToRow(next)), scheduler, id],
  );
  if (events !== undefined) yield* appendEvents(events(next));
  return next;
}
