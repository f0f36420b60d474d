/**
 * Keyset page tokens: opaque to clients, base64url of the last row's sort key; and the keyset of
 * job listings, which every store pages the same way (sql/jobs/list-jobs.ts, redis/list-jobs.ts).
 */
import { InvalidArgumentError } from "../domain/errors.js";
import type { Job } from "../domain/jobs.js";
import type { ListJobsQuery, Page } from "./port.js";

export function encodePageToken(key: readonly (string | number)[]): string {
  return Buffer.from(JSON.stringify(key)).toString("base64url");
}

export function decodePageToken(token: string): (string | number)[] | null {
  try {
    const key: unknown = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
    if (Array.isArray(key) && key.every((k) => typeof k === "string" || typeof k === "number"))
      return key;
  } catch {
    // fall through
  }
  return null;
}

/** Sort key for next-run-time order: jobs without a next run time sort last. */
export const NO_NEXT_RUN = Number.MAX_SAFE_INTEGER;

/** A job's position in a listing's order: [next run time (none: NO_NEXT_RUN), scheduler, id], or [scheduler, id] by id. */
export function jobPosition(orderBy: ListJobsQuery["orderBy"], job: Job): (string | number)[] {
  return orderBy === "id"
    ? [job.scheduler, job.id]
    : [job.nextRunTime ?? NO_NEXT_RUN, job.scheduler, job.id];
}

/** Compares two listing positions (jobPosition, or a page token's) in their order. */
export function comparePositions(
  a: readonly (string | number)[],
  b: readonly (string | number)[],
): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const x = a[i] as string | number;
    const y = b[i] as string | number;
    if (x < y) return -1;
    if (x > y) return 1;
  }
  return a.length - b.length;
}

/**
 * Where a job listing's page starts: after the position its token holds (null: from the start).
 * A token that is not one of this listing's is an INVALID_ARGUMENT naming `page_token`.
 */
export function jobPageStart(q: ListJobsQuery): (string | number)[] | null {
  if (!q.pageToken) return null;
  const after = decodePageToken(q.pageToken);
  const shape = q.orderBy === "id" ? ["string", "string"] : ["number", "string", "string"];
  if (
    after === null ||
    after.length !== shape.length ||
    after.some((k, i) => typeof k !== shape[i])
  )
    throw new InvalidArgumentError(
      "page_token",
      "is not a token from a previous page of this listing",
    );
  return after;
}

/**
 * A page of a job listing from the jobs found after its start, in its order: up to `pageSize`
 * of them, and a token for the next page when there were more (one more is enough to know).
 */
export function jobPage(q: ListJobsQuery, found: readonly Job[]): Page<Job> {
  const items = found.slice(0, q.pageSize);
  const last = items[items.length - 1];
  if (found.length <= q.pageSize || last === undefined) return { items, nextPageToken: "" };
  return { items, nextPageToken: encodePageToken(jobPosition(q.orderBy, last)) };
}
