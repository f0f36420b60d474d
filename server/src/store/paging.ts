/**
 * Keyset page tokens: opaque to clients, base64url of the last row's sort key; and the keyset of
 * job listings, which every store pages the same way (sql/jobs/list-jobs.ts, redis/list-jobs.ts),
 * with the API's tokens of them, bound to their listing (jobPageTokenAfter).
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
 * What a ListJobs page token of the API is bound to: the listing's scheduler, filters and order
 * (its page size may change from page to page). Absent and empty filters are the same listing.
 */
function jobListingKey(q: ListJobsQuery): string {
  return JSON.stringify([
    q.scheduler ?? null,
    q.handler ?? null,
    q.paused ?? null,
    q.idPrefix || null,
    q.namePrefix || null,
    q.orderBy,
  ]);
}

const NOT_THIS_LISTING = "is not a token of this listing (same scheduler, filters and order)";

/**
 * The API's page token for the page after `job` in listing `q`: the listing it belongs to
 * (jobListingKey), then the job's position (jobPosition), as ListRuns binds its tokens. The
 * stores' own tokens (jobPage) hold the position alone: the management layer binds them
 * (boundJobPageToken) and unbinds a client's token for them (storeJobPageToken).
 */
export function jobPageTokenAfter(q: ListJobsQuery, job: Job): string {
  return encodePageToken([jobListingKey(q), ...jobPosition(q.orderBy, job)]);
}

/** A store's next-page token of listing `q` (jobPage) bound to the listing; "" stays "". */
export function boundJobPageToken(q: ListJobsQuery, storeToken: string): string {
  if (storeToken === "") return "";
  const position = decodePageToken(storeToken);
  if (position === null) throw new Error("a store answered a page token it cannot read");
  return encodePageToken([jobListingKey(q), ...position]);
}

/**
 * The store's token (a position, see jobPageStart) of the token a client sent with listing `q`
 * (undefined: from the start). A token of another listing — another scheduler, filter or order
 * — is INVALID_ARGUMENT naming `page_token`. A token that holds a position alone (as tokens were
 * before they named their listing: a listing under way while the nodes are upgraded) is taken
 * for a listing of the scheduler its position names; its filters cannot be told.
 */
export function storeJobPageToken(q: ListJobsQuery): string | undefined {
  if (!q.pageToken) return undefined;
  const token = decodePageToken(q.pageToken);
  const [first, ...position] = token ?? [];
  // A bound token starts with its listing's key, a JSON array: no position starts with "["
  // (a next run time is a number, and a scheduler name has no "[").
  if (typeof first === "string" && first.startsWith("[")) {
    if (first !== jobListingKey(q)) throw new InvalidArgumentError("page_token", NOT_THIS_LISTING);
    return encodePageToken(position);
  }
  const scheduler = token?.[q.orderBy === "id" ? 0 : 1];
  if (token !== null && q.scheduler !== undefined && scheduler !== q.scheduler)
    throw new InvalidArgumentError("page_token", NOT_THIS_LISTING);
  return q.pageToken;
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
