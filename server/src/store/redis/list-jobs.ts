/**
 * ListJobs on Redis: each scheduler's sorted set of jobs gives (next run time, id) for every
 * job; the keyset, the order and the id prefix apply to those, and the jobs are read in that order
 * until a page of them passes the other filters.
 */
import type { Job } from "../../domain/jobs.js";
import { comparePositions, jobPage, jobPageStart } from "../paging.js";
import type { ListJobsQuery, Page } from "../port.js";
import { jobFromFields } from "./codec.js";
import type { Db } from "./db.js";

type Key = (string | number)[];

/** Jobs read per round trip. */
const READ = 200;

export async function listJobs(db: Db, q: ListJobsQuery): Promise<Page<Job>> {
  const after = jobPageStart(q);
  const schedulers = q.scheduler === undefined ? await db.spaces() : [q.scheduler];
  const entries = await db.batch((pipe) => {
    for (const s of schedulers) pipe.zrange(db.keys.sched(s, "jobs"), 0, -1, "WITHSCORES");
  });
  const keys: Key[] = [];
  schedulers.forEach((s, i) => {
    const flat = (entries[i] ?? []) as string[];
    for (let j = 0; j + 1 < flat.length; j += 2) {
      const id = flat[j] ?? "";
      if (q.idPrefix && !id.startsWith(q.idPrefix)) continue;
      keys.push(q.orderBy === "id" ? [s, id] : [Number(flat[j + 1]), s, id]);
    }
  });
  const ordered = keys
    .filter((k) => after === null || comparePositions(k, after) > 0)
    .sort(comparePositions);
  const items: Job[] = [];
  for (let i = 0; i < ordered.length && items.length <= q.pageSize; i += READ) {
    const part = ordered.slice(i, i + READ);
    const found = await db.hashes(
      part.map((k) => db.keys.job(String(k[k.length - 2]), String(k[k.length - 1]))),
    );
    for (const h of found) {
      if (h === null) continue;
      const job = jobFromFields(h);
      if (q.handler !== undefined && job.handler !== q.handler) continue;
      if (q.paused !== undefined && job.paused !== q.paused) continue;
      if (q.namePrefix && !job.name.startsWith(q.namePrefix)) continue;
      items.push(job);
      if (items.length > q.pageSize) break;
    }
  }
  return jobPage(q, items);
}
