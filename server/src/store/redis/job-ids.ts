/**
 * A scheduler's jobs by id on Redis: a sorted set (`{sched:S}:job-ids`) with every job at score
 * 0, so in the byte order of the ids, kept with the jobs' set by next run time (`{sched:S}:jobs`)
 * by every script that adds or removes a job (scripts/lib.ts put_job and del_job,
 * scripts/insert-job.ts). A listing by id reads a page of it from the page token's id
 * (list-jobs.ts) instead of sorting every job. A store written before the index existed gets it
 * from migrate(), which indexes the jobs then present and records it done in `{g}:indexed`;
 * until then a listing by id reads every job as before.
 */
import type { Db } from "./db.js";
import { indexedKey } from "./pending-of-jobs.js";
import { INDEX_JOB_IDS } from "./scripts/index-job-ids.js";

/** The member of `{g}:indexed` that says the index of jobs by id is complete. */
export const JOB_IDS = "job-ids";

/** Jobs indexed per script call of the migration, about (a ZSCAN step's COUNT). */
const INDEX_PART = 1000;

/** The key of a scheduler's jobs by id. */
export function jobIdsKey(db: Db, scheduler: string): string {
  return db.keys.sched(scheduler, JOB_IDS);
}

/** Whether every scheduler's jobs are in its index by id (the migration below ran). */
export async function jobIdsIndexed(db: Db): Promise<boolean> {
  return (await db.call(() => db.redis.sismember(indexedKey(db), JOB_IDS))) === 1;
}

/**
 * Indexes the jobs by id, scheduler by scheduler, about `part` per script call (a scan of the
 * scheduler's jobs: every job there throughout is met at least once), and records the index
 * complete; nothing when it is. Nodes doing so at once only index the same jobs twice. Jobs
 * added meanwhile are indexed by the scripts that add them, jobs removed leave it with them.
 */
export async function indexJobIds(db: Db, part = INDEX_PART): Promise<void> {
  if (await jobIdsIndexed(db)) return;
  for (const scheduler of await db.spaces()) {
    let cursor = "0";
    do {
      cursor = String(await db.run(INDEX_JOB_IDS, { scheduler, cursor, limit: String(part) }));
    } while (cursor !== "0");
  }
  await db.call(() => db.redis.sadd(indexedKey(db), JOB_IDS));
}
