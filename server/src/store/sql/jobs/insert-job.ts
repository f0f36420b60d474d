import type { EventDraft } from "../../../domain/events.js";
import type { Job } from "../../../domain/jobs.js";
import { appendEvents } from "../events/append-events.js";
import { JOB_COLUMNS, jobRowCells, jobToRow } from "../job-rows.js";
import { exec, placeholders, type Tx } from "../runner.js";

/** Inserts a job with its events (a duplicate key throws: the store answers false). */
export function* insertJob(job: Job, events: readonly EventDraft[]): Tx<boolean> {
  yield* exec(
    `INSERT INTO \`jobs\` (${JOB_COLUMNS.map(([, c]) => `\`${c}\``).join(", ")}) VALUES (${placeholders(JOB_COLUMNS.length)})`,
    jobRowCells(jobToRow(job)),
  );
  yield* appendEvents(events);
  return true;
}
