/**
 * The Jobs page's list, page after page, kept up to date without reading every page again.
 *
 * The rows are in id order, the server's byte order (ids are ASCII, so JavaScript's `<` on
 * strings orders them the same). Each read of ListJobs answers for a range of ids: a page read
 * after job `a` (the page token of the page that ended with `a`; the start of the list for the
 * first page) and ending with job `b` holds every job between `a` and `b` as it is now, and the
 * last page (no next token) every job after `a`. A read replaces the rows of its range and keeps
 * the others, so a job added or removed between two reads is neither shown twice nor lost,
 * whatever the order in which reads complete.
 *
 * - The timer reads the first page only: one call every 5 s however many pages are shown. New
 *   jobs among the first page's ids appear, removed ones go, and a job pushed out of the first
 *   page stays shown as last read.
 * - **More** reads the page after the last row shown.
 * - **Refresh** reads every row shown again, in pages of up to 1,000 (the API's largest): 1,250
 *   rows cost two calls.
 */
import { timestampFromDate, type Timestamp } from "@bufbuild/protobuf/wkt";
import type { Job } from "../../src/gen/metronome/v1/job_pb.js";
import { JobOrder, type ListJobsResponse } from "../../src/gen/metronome/v1/job_service_pb.js";
import { jobs } from "./api.js";

/** Jobs per page read by the timer and by **More**. */
export const PAGE_SIZE = 50;
/** How often the first page is read again. */
export const REFRESH_MS = 5000;
/** The largest page the API returns (METRONOME_MAX_PAGE_SIZE may make it smaller: pages then come shorter). */
const LARGEST_PAGE = 1000;

export interface JobFilters {
  readonly scheduler: string;
  readonly idPrefix: string;
  readonly handler: string;
  /** Only paused (true) or only active (false) jobs; undefined: both. */
  readonly paused: boolean | undefined;
}

/** What the page shows. */
export interface JobListView {
  /** Whether the first page was read at least once. */
  readonly loaded: boolean;
  readonly rows: readonly Job[];
  /** Whether **More** has a next page to read. */
  readonly hasMore: boolean;
  readonly loadingMore: boolean;
  readonly refreshing: boolean;
  /** When the rows past the first page were read (the oldest such read); undefined when none is shown. */
  readonly restReadAt: Timestamp | undefined;
  /** The error of the last **More** or **Refresh**, until one succeeds. */
  readonly error: unknown;
}

/**
 * The rows after a read of the jobs following `afterId` ("" for the start of the list): the rows
 * up to `afterId`, the jobs read, then the rows after the last job read, unless the read reached
 * the end of the list (`toEnd`). A read of no job answers for nothing but when it reached the end.
 */
export function mergeRange(
  rows: readonly Job[],
  afterId: string,
  read: readonly Job[],
  toEnd: boolean,
): Job[] {
  const last = read.at(-1)?.id ?? afterId;
  return [
    ...rows.filter((j) => j.id <= afterId),
    ...read,
    ...(toEnd ? [] : rows.filter((j) => j.id > last)),
  ];
}

function now(): Timestamp {
  return timestampFromDate(new Date());
}

/** Where **More** reads next: `token` continues after the job `afterId`; "" when the list ended there. */
interface Cursor {
  readonly token: string;
  readonly afterId: string;
}

/** One list of jobs (one scheduler and set of filters); the page subscribes to its view. */
export class JobList {
  readonly #filters: JobFilters;
  #rows: Job[] = [];
  #cursor: Cursor = { token: "", afterId: "" };
  #loaded = false;
  #loadingMore = false;
  #refreshing = false;
  #restReadAt: Timestamp | undefined;
  /** When the read last put in place was made. */
  #lastReadAt: Timestamp | undefined;
  #error: unknown;
  #view: JobListView;
  readonly #listeners = new Set<() => void>();

  constructor(filters: JobFilters) {
    this.#filters = filters;
    this.#view = this.#makeView();
  }

  readonly subscribe = (listener: () => void): (() => void) => {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  };

  readonly getView = (): JobListView => this.#view;

  get scheduler(): string {
    return this.#filters.scheduler;
  }

  /** Reads the first page again (the timer's call); throws the API's error. */
  async refreshFirstPage(): Promise<JobListView> {
    const readAt = now();
    const page = await this.#read("", PAGE_SIZE);
    this.#loaded = true;
    this.#apply("", page, readAt);
    return this.#view;
  }

  /** Reads the page after the last row shown. */
  async more(): Promise<void> {
    const { token, afterId } = this.#cursor;
    if (token === "" || this.#loadingMore || this.#refreshing) return;
    this.#loadingMore = true;
    this.#changed();
    try {
      const readAt = now();
      const page = await this.#read(token, PAGE_SIZE);
      this.#error = undefined;
      this.#apply(afterId, page, readAt);
    } catch (err) {
      this.#error = err;
    } finally {
      this.#loadingMore = false;
      this.#changed();
    }
  }

  /** Reads every row shown again, from the start of the list to the last row shown. */
  async refresh(): Promise<void> {
    if (this.#loadingMore || this.#refreshing) return;
    this.#refreshing = true;
    this.#changed();
    const end = this.#rows.at(-1)?.id ?? "";
    const readAt = now();
    try {
      let token = "";
      let afterId = "";
      for (;;) {
        const shown = this.#rows.filter((j) => j.id > afterId && j.id <= end).length;
        const page = await this.#read(token, Math.min(LARGEST_PAGE, Math.max(PAGE_SIZE, shown)));
        this.#apply(afterId, page, readAt);
        afterId = page.jobs.at(-1)?.id ?? afterId;
        token = page.nextPageToken;
        if (token === "" || afterId >= end) break;
      }
      this.#loaded = true;
      this.#error = undefined;
      this.#restReadAt = this.#rows.length > PAGE_SIZE ? readAt : undefined;
    } catch (err) {
      this.#error = err;
    } finally {
      this.#refreshing = false;
      this.#changed();
    }
  }

  /** Shows a job as a change made from this page left it (`undefined`: removed), if it is shown. */
  put(id: string, job: Job | undefined): void {
    const { paused } = this.#filters;
    const i = this.#rows.findIndex((j) => j.id === id);
    if (i < 0) return;
    const keep = job !== undefined && (paused === undefined || job.paused === paused);
    this.#rows = keep ? this.#rows.with(i, job) : this.#rows.filter((j) => j.id !== id);
    this.#changed();
  }

  #read(pageToken: string, pageSize: number): Promise<ListJobsResponse> {
    const { scheduler, idPrefix, handler, paused } = this.#filters;
    return jobs.listJobs({
      scheduler,
      idPrefix,
      handler,
      ...(paused === undefined ? {} : { paused }),
      orderBy: JobOrder.ID,
      pageSize,
      pageToken,
    });
  }

  /** Puts a read of the jobs after `afterId` in place, and moves the cursor if it read further. */
  #apply(afterId: string, page: ListJobsResponse, readAt: Timestamp): void {
    const toEnd = page.nextPageToken === "";
    const last = page.jobs.at(-1)?.id;
    this.#rows = mergeRange(this.#rows, afterId, page.jobs, toEnd);
    if (toEnd) {
      // Nothing follows the last row: the list is whole.
      this.#cursor = { token: "", afterId: this.#rows.at(-1)?.id ?? "" };
    } else if (last !== undefined) {
      // The read that reached furthest says where the next page starts.
      if (this.#cursor.afterId <= last) this.#cursor = { token: page.nextPageToken, afterId: last };
    } else if (this.#cursor.afterId <= afterId) {
      // An empty page that is not the last: the next one starts past it, after no new row.
      this.#cursor = { token: page.nextPageToken, afterId: this.#cursor.afterId };
    }
    // Rows past the first page come from this read or an earlier one: the earlier is said.
    if (this.#rows.length <= PAGE_SIZE) this.#restReadAt = undefined;
    else this.#restReadAt ??= this.#lastReadAt ?? readAt;
    this.#lastReadAt = readAt;
    this.#changed();
  }

  #makeView(): JobListView {
    return {
      loaded: this.#loaded,
      rows: this.#rows,
      hasMore: this.#cursor.token !== "",
      loadingMore: this.#loadingMore,
      refreshing: this.#refreshing,
      restReadAt: this.#restReadAt,
      error: this.#error,
    };
  }

  #changed(): void {
    this.#view = this.#makeView();
    for (const listener of this.#listeners) listener();
  }
}

/** The lists read lately, by filters: back on the Jobs page, the pages read with More are still there. */
const lists = new Map<string, JobList>();
const LISTS_KEPT = 10;

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
  const list = lists.get(key) ?? new JobList(filters);
  lists.delete(key);
  lists.set(key, list);
  for (const old of lists.keys()) {
    if (lists.size <= LISTS_KEPT) break;
    lists.delete(old);
  }
  return list;
}
