import type { Job } from "../../../domain/jobs.js";
import { jobPage, jobPageStart, NO_NEXT_RUN } from "../../paging.js";
import type { ListJobsQuery, Page } from "../../port.js";
import { JOB_SELECT, jobFromSelected } from "../job-rows.js";
import { all, type Param, type Tx } from "../runner.js";

/** Escape LIKE wildcards (ids cannot contain them, names can) with `!`, the same in every dialect. */
export function escapeLike(s: string): string {
  return s.replace(/[!%_]/g, (c) => `!${c}`);
}

/**
 * A page of jobs: the filters, and a keyset position after the previous page's last row. Jobs
 * without a next run time sort last. Row-value comparison works on MySQL, MariaDB and SQLite.
 */
export function* listJobs(q: ListJobsQuery): Tx<Page<Job>> {
  const where: string[] = [];
  const params: Param[] = [];
  const add = (clause: string, ...values: Param[]): void => {
    where.push(clause);
    params.push(...values);
  };
  if (q.scheduler !== undefined) add("`scheduler` = ?", q.scheduler);
  if (q.handler !== undefined) add("`handler` = ?", q.handler);
  if (q.paused !== undefined) add("`paused` = ?", q.paused ? 1 : 0);
  if (q.idPrefix) add("`id` LIKE ? ESCAPE '!'", `${escapeLike(q.idPrefix)}%`);
  if (q.namePrefix) add("`name` LIKE ? ESCAPE '!'", `${escapeLike(q.namePrefix)}%`);
  const nextKey = `COALESCE(\`next_run_time\`, ${String(NO_NEXT_RUN)})`;
  const after = jobPageStart(q);
  if (after !== null) {
    if (q.orderBy === "id") add("(`scheduler`, `id`) > (?, ?)", ...after.slice(0, 2));
    else add(`(${nextKey}, \`scheduler\`, \`id\`) > (?, ?, ?)`, ...after.slice(0, 3));
  }
  const order = q.orderBy === "id" ? "`scheduler`, `id`" : `${nextKey}, \`scheduler\`, \`id\``;
  const rows = yield* all(
    `SELECT ${JOB_SELECT} FROM \`jobs\`${where.length === 0 ? "" : ` WHERE ${where.join(" AND ")}`} ORDER BY ${order} LIMIT ?`,
    [...params, q.pageSize + 1],
  );
  return jobPage(q, rows.map(jobFromSelected));
}
