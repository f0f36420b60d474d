/**
 * What the tests of ListJobs on Redis compare listings with (test/store/redis-list-jobs.test.ts,
 * redis-list-jobs-cluster.test.ts): the jobs a listing holds computed from every job, as
 * store/paging.ts orders them and tokens them, and every page of a listing walked to its end.
 */
import type { Job } from "../../server/src/domain/jobs.js";
import { comparePositions, encodePageToken, jobPosition } from "../../server/src/store/paging.js";
import type { ListJobsQuery, Page } from "../../server/src/store/port.js";

export type Query = Omit<ListJobsQuery, "pageToken">;

/** The jobs a listing holds, in its order: the filters applied to every job, then sorted. */
export function reference(all: readonly Job[], q: Query): Job[] {
  return all
    .filter(
      (j) =>
        (q.scheduler === undefined || j.scheduler === q.scheduler) &&
        (q.handler === undefined || j.handler === q.handler) &&
        (q.paused === undefined || j.paused === q.paused) &&
        (!q.idPrefix || j.id.startsWith(q.idPrefix)) &&
        (!q.namePrefix || j.name.startsWith(q.namePrefix)),
    )
    .sort((a, b) => comparePositions(jobPosition(q.orderBy, a), jobPosition(q.orderBy, b)));
}

/** The pages a listing of these jobs (in its order) gives: their jobs (`scheduler/id`) and tokens. */
export function referencePages(
  expected: readonly Job[],
  q: Query,
): { ids: string[]; token: string }[] {
  const pages: { ids: string[]; token: string }[] = [];
  for (let i = 0; i === 0 || i < expected.length; i += q.pageSize) {
    const items = expected.slice(i, i + q.pageSize);
    const last = items[items.length - 1];
    const more = i + q.pageSize < expected.length && last !== undefined;
    pages.push({
      ids: items.map((j) => `${j.scheduler}/${j.id}`),
      token: more ? encodePageToken(jobPosition(q.orderBy, last)) : "",
    });
  }
  return pages;
}

/** Every page of a listing, following each token to the end. */
export async function walk(
  list: (q: ListJobsQuery) => Promise<Page<Job>>,
  q: Query,
): Promise<{ ids: string[]; token: string }[]> {
  const pages: { ids: string[]; token: string }[] = [];
  let pageToken = "";
  for (let n = 0; n < 10_000; n++) {
    const p = await list({ ...q, pageToken });
    pages.push({ ids: p.items.map((j) => `${j.scheduler}/${j.id}`), token: p.nextPageToken });
    if (p.nextPageToken === "") return pages;
    pageToken = p.nextPageToken;
  }
  throw new Error("the listing never ended");
}
