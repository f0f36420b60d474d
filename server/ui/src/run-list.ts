/**
 * A job's run history on the Job page, page after page, kept up to date without reading every
 * page again: a keyset list (keyset-list.ts) of ListRuns, newest fire time first.
 *
 * ListRuns orders a job's runs by fire time (`scheduled_time`), newest first, then by run id
 * (ASCII), greatest first, and a page token continues after the last run of its page. A run's
 * status changes, its place in that order does not: new runs come at the top, so reading the
 * first page again shows them, and the runs it pushes past the first page stay shown, once, as
 * last read.
 *
 * - The timer reads the first page only (the 25 newest runs): one call every 2 s however many
 *   pages **More** has shown.
 * - **More** reads the page after the last run shown.
 * - **Refresh** reads every run shown again, in pages of up to 1,000.
 */
import { timestampMs } from "@bufbuild/protobuf/wkt";
import type { Run } from "../../src/gen/metronome/v1/run_pb.js";
import { runs } from "./api.js";
import { KeysetList, RecentLists } from "./keyset-list.js";

/** Runs per page read by the timer and by **More**. */
export const PAGE_SIZE = 25;
/** How often the first page is read again. */
export const REFRESH_MS = 2000;

const fireTime = (run: Run): number => (run.scheduledTime ? timestampMs(run.scheduledTime) : 0);

/** ListRuns' order: newest fire time first, then the greatest run id. */
function newestFirst(a: Run, b: Run): number {
  const byTime = fireTime(b) - fireTime(a);
  if (byTime !== 0) return byTime;
  return a.runId > b.runId ? -1 : a.runId < b.runId ? 1 : 0;
}

/** The runs of one job. */
export type RunList = KeysetList<Run>;

/** The histories read lately: back on a job's page, the runs read with More are still there. */
const lists = new RecentLists<RunList>(10);

/** The history of this job: the one read lately, or a new one. */
export function runList(scheduler: string, jobId: string): RunList {
  return lists.get(
    JSON.stringify([scheduler, jobId]),
    () =>
      new KeysetList<Run>({
        pageSize: PAGE_SIZE,
        compare: newestFirst,
        read: async (pageToken, pageSize) => {
          const page = await runs.listRuns({ scheduler, jobId, pageSize, pageToken });
          return { rows: page.runs, nextPageToken: page.nextPageToken };
        },
      }),
  );
}
