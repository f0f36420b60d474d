import type { Job } from "../domain/jobs.js";
import { jobFromRow, type JobRow } from "./rows.js";
import { NO_NEXT_RUN, encodePageToken, type ListJobsQuery, type Page } from "./store.js";

/** Escape LIKE wildcards (ids cannot contain them, names can). */
export function escapeLike(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** Cut a `pageSize + 1` result into a page and its keyset token. */
export function page(rows: JobRow[], q: ListJobsQuery): Page<Job> {
  const items = rows.slice(0, q.pageSize).map(jobFromRow);
  const last = items[items.length - 1];
  if (rows.length <= q.pageSize || last === undefined) return { items, nextPageToken: "" };
  const key =
    q.orderBy === "id"
      ? [last.scheduler, last.id]
      : [last.nextRunTime ?? NO_NEXT_RUN, last.scheduler, last.id];
  return { items, nextPageToken: encodePageToken(key) };
}
