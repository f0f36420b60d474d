/**
 * The Jobs page's list, page after page, kept up to date without reading every page again: a
 * keyset list (keyset-list.ts) of ListJobs in id order.
 *
 * The rows are in id order, the server's byte order (ids are ASCII, so JavaScript's `<` on
 * strings orders them the same). Each read of ListJobs answers for a range of ids: a page read
 * after job `a` (the page token of the page that ended with `a`; the start of the list for the
 * first page) and ending with job `b` holds every job between `a` and `b` as it is now, and the
 * last page (no next token) every job after `a`.
 *
 * - The timer reads the first page only: one call every 5 s however many pages are shown. New
 *   jobs among the first page's ids appear, removed ones go, and a job pushed out of the first
 *   page stays shown as last read.
 * - **More** reads the page after the last row shown.
 * - **Refresh** reads every row shown again, in pages of up to 1,000 (the API's largest): 1,250
 *   rows cost two calls.
 */
import type { Job } from "../../src/gen/metronome/v1/job_pb.js";
import { JobOrder } from "../../src/gen/metronome/v1/job_service_pb.js";
import { jobs } from "./api.js";
import { KeysetList, RecentLists, type KeysetListView } from "./keyset-list.js";

/** Jobs per page read by the timer and by **More**. */
export const PAGE_SIZE = 50;
/** How often the first page is read again. */
export const REFRESH_MS = 5000;

export interface JobFilters {
  readonly scheduler: string;
  readonly idPrefix: string;
  readonly handler: string;
  /** Only paused (true) or only active (false) jobs; undefined: both. */
  readonly paused: boolean | undefined;
}

/** What the page shows. */
export type JobListView = KeysetListView<Job>;

/** In id order, byte by byte, as the server lists them (JOB_ORDER_ID). */
function compareIds(a: Job, b: Job): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** One list of jobs (one scheduler and set of filters); the page subscribes to its view. */
export class JobList extends KeysetList<Job> {
  readonly #filters: JobFilters;

  constructor(filters: JobFilters) {
    const { scheduler, idPrefix, handler, paused } = filters;
    super({
      pageSize: PAGE_SIZE,
      compare: compareIds,
      read: async (pageToken, pageSize) => {
        const page = await jobs.listJobs({
          scheduler,
          idPrefix,
          handler,
          ...(paused === undefined ? {} : { paused }),
          orderBy: JobOrder.ID,
          pageSize,
          pageToken,
        });
        return { rows: page.jobs, nextPageToken: page.nextPageToken };
      },
    });
    this.#filters = filters;
  }

  get scheduler(): string {
    return this.#filters.scheduler;
  }

  /** Shows a job as a change made from this page left it (`undefined`: removed), if it is shown. */
  put(id: string, job: Job | undefined): void {
    const { paused } = this.#filters;
    const keep = job !== undefined && (paused === undefined || job.paused === paused);
    this.replace((j) => j.id === id, keep ? job : undefined);
  }
}

/** The lists read lately, by filters: back on the Jobs page, the pages read with More are still there. */
const lists = new RecentLists<JobList>(10);

/**
 * A job changed from the dashboard (paused, resumed, removed: `job` undefined) is shown so in
 * the lists read lately, wherever it is in them; the first page would show it at the next read,
 * the rows past it only on **Refresh**.
 */
export function jobChanged(scheduler: string, id: string, job: Job | undefined): void {
  for (const list of lists.values()) if (list.scheduler === scheduler) list.put(id, job);
}

/** The list of these filters: the one read lately, or a new one. */
export function jobList(filters: JobFilters): JobList {
  const key = JSON.stringify([
    filters.scheduler,
    filters.idPrefix,
    filters.handler,
    filters.paused ?? null,
  ]);
  return lists.get(key, () => new JobList(filters));
}
