/**
 * A job's pending runs on Redis: a set per job (`{sched:S}:job-pending:<job>`) that every script
 * changing a run's status keeps (scripts/lib.ts, index_status and put_changes), so that removing
 * a job reads the runs it cancels or withdraws without walking the job's whole run history
 * (`job-runs:<job>`, which grows with every fire time until retention). A store written before
 * the index existed gets it from migrate(), which indexes the runs then pending and records it
 * done in `{g}:indexed`; until then a job's pending runs are found by walking its runs.
 */
import type { Db } from "./db.js";
import { INDEX_PENDING_OF_JOBS } from "./scripts/index-pending-of-jobs.js";

/** The member of `{g}:indexed` that says the per-job index of pending runs is complete. */
export const JOB_PENDING = "job-pending";

/** Pending runs indexed per script call of the migration. */
const INDEX_PART = 1000;

/** The key of a job's pending runs. */
export function jobPendingKey(db: Db, scheduler: string, jobId: string): string {
  return db.keys.sched(scheduler, `${JOB_PENDING}:${jobId}`);
}

/** The key that records the indexes built over what was written before them. */
export function indexedKey(db: Db): string {
  return db.keys.global("indexed");
}

/** Whether every job's pending runs are in its index (the migration below ran). */
export async function pendingIndexed(db: Db): Promise<boolean> {
  return (await db.call(() => db.redis.sismember(indexedKey(db), JOB_PENDING))) === 1;
}

/**
 * Indexes the runs pending now by job, `part` runs per script call, scheduler by scheduler, and
 * records the index complete; nothing when it is. Nodes doing so at once only index the same
 * runs twice. Runs that turn pending meanwhile are indexed by the scripts that write them.
 */
export async function indexPendingOfJobs(db: Db, part = INDEX_PART): Promise<void> {
  if (await pendingIndexed(db)) return;
  for (const scheduler of await db.spaces()) {
    let after = "";
    let score = "-inf";
    for (;;) {
      const reply = (await db.run(INDEX_PENDING_OF_JOBS, {
        scheduler,
        after,
        score,
        limit: String(part),
      })) as string[];
      if (reply.length < 2) break;
      [after = "", score = "-inf"] = reply;
    }
  }
  await db.call(() => db.redis.sadd(indexedKey(db), JOB_PENDING));
}
