import { and, asc, eq, sql, type AnyColumn, type SQL } from "drizzle-orm";
import { InvalidArgumentError } from "../domain/errors.js";
import type { Job } from "../domain/jobs.js";
import { jobFromRow, type JobRow } from "./rows.js";
import {
  NO_NEXT_RUN,
  decodePageToken,
  encodePageToken,
  type ListJobsQuery,
  type Page,
} from "./store.js";

/** Escape LIKE wildcards (ids cannot contain them, names can) with `!`, the same in every dialect. */
export function escapeLike(s: string): string {
  return s.replace(/[!%_]/g, (c) => `!${c}`);
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

/** The job columns a listing filters and sorts on (the same in both dialects). */
export interface JobListColumns {
  readonly scheduler: AnyColumn;
  readonly id: AnyColumn;
  readonly name: AnyColumn;
  readonly handler: AnyColumn;
  readonly paused: AnyColumn;
  readonly nextRunTime: AnyColumn;
}

/**
 * WHERE and ORDER BY of a job listing: the filters, and a keyset position after the previous
 * page's last row. Jobs without a next run time sort last. Row-value comparison works on MySQL,
 * MariaDB and SQLite alike.
 */
export function jobListing(
  q: ListJobsQuery,
  c: JobListColumns,
): { where: SQL | undefined; order: SQL[] } {
  const where: SQL[] = [];
  if (q.scheduler !== undefined) where.push(eq(c.scheduler, q.scheduler));
  if (q.handler !== undefined) where.push(eq(c.handler, q.handler));
  if (q.paused !== undefined) where.push(eq(c.paused, q.paused));
  if (q.idPrefix) where.push(sql`${c.id} LIKE ${`${escapeLike(q.idPrefix)}%`} ESCAPE '!'`);
  if (q.namePrefix) where.push(sql`${c.name} LIKE ${`${escapeLike(q.namePrefix)}%`} ESCAPE '!'`);
  const nextKey = sql`COALESCE(${c.nextRunTime}, ${NO_NEXT_RUN})`;
  const after = q.pageToken ? decodePageToken(q.pageToken) : null;
  if (q.pageToken && (after === null || after.length !== (q.orderBy === "id" ? 2 : 3))) {
    throw new InvalidArgumentError(
      "page_token",
      "is not a token from a previous page of this listing",
    );
  }
  if (after !== null) {
    where.push(
      q.orderBy === "id"
        ? sql`(${c.scheduler}, ${c.id}) > (${after[0]}, ${after[1]})`
        : sql`(${nextKey}, ${c.scheduler}, ${c.id}) > (${after[0]}, ${after[1]}, ${after[2]})`,
    );
  }
  const order =
    q.orderBy === "id"
      ? [asc(c.scheduler), asc(c.id)]
      : [asc(nextKey), asc(c.scheduler), asc(c.id)];
  return { where: and(...where), order };
}
