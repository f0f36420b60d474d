/**
 * Jobs on Redis: a hash each (`{sched:S}:job:<id>`) and, per scheduler, a sorted set of its jobs
 * by next run time (`{sched:S}:jobs`; jobs without one score NO_NEXT_RUN), which is both the due
 * index and the order of listings by next run time, and one by id (`{sched:S}:job-ids`,
 * job-ids.ts) for listings by id. Writes that decide in TypeScript commit optimistically (db.ts).
 */
import type { EventDraft } from "../../domain/events.js";
import { currentIdempotentCall } from "../../lib/idempotent-call.js";
import type { Job } from "../../domain/jobs.js";
import { changedJob, isPrepared, rewoundToPrepared } from "../../domain/prepared-runs.js";
import type { Run } from "../../domain/runs.js";
import { cancelled, REASONS } from "../../domain/run-transitions.js";
import type { CancelPendingRunsOptions, DeleteAllJobsOptions, DeleteJobOptions } from "../port.js";
import { type Fields, jobFields, jobFromFields, revOf, runFields, runFromFields } from "./codec.js";
import { type Db, eventArgs } from "./db.js";
import { Coalescer } from "./coalesce.js";
import { CONFLICT, optimistic } from "./optimistic.js";
import { jobFence, schedulerFence } from "./fences.js";
import { indexedKey, JOB_PENDING, jobPendingKey, pendingIndexed } from "./pending-of-jobs.js";
import { CANCEL_PENDING_RUNS } from "./scripts/cancel-pending-runs.js";
import { DELETE_ALL_JOBS } from "./scripts/delete-all-jobs.js";
import { DELETE_JOB } from "./scripts/delete-job.js";
import { INSERT_JOBS } from "./scripts/insert-job.js";
import { UPDATE_JOB } from "./scripts/update-job.js";

/** Jobs inserted per script call, at most (a script holds Redis while it runs). */
const INSERT_BATCH = 500;

const inserters = new WeakMap<
  Db,
  Coalescer<{ job: Job; events: readonly EventDraft[] }, boolean>
>();

/** Inserts made at about the same time (an AddJobs call's) go in one script call (coalesce.ts). */
function inserter(db: Db): Coalescer<{ job: Job; events: readonly EventDraft[] }, boolean> {
  let c = inserters.get(db);
  if (c === undefined) {
    c = new Coalescer(async (items) => {
      const jobs = items.map((i) => ({ fields: jobFields(i.job), events: eventArgs(i.events) }));
      const reply = (await db.run(INSERT_JOBS, { jobs })) as number[];
      return jobs.map((j, k) => {
        const inserted = reply[k] === 1;
        if (inserted) db.committed(j.events);
        return inserted;
      });
    }, INSERT_BATCH);
    inserters.set(db, c);
  }
  return c;
}

export async function insertJob(db: Db, job: Job, events: readonly EventDraft[]): Promise<boolean> {
  // A keyed call's insert writes the key's record with it (db.ts): it goes alone.
  if (db.keys.tag === "" && currentIdempotentCall() !== undefined) {
    const jobs = [{ fields: jobFields(job), events: eventArgs(events) }];
    const inserted = (await db.run(INSERT_JOBS, { jobs, one: "1" })) === 1;
    if (inserted) db.committed(jobs[0]?.events ?? []);
    return inserted;
  }
  const inserted = inserter(db).add({ job, events });
  return db.shared(inserted);
}

export async function getJob(db: Db, scheduler: string, id: string): Promise<Job | null> {
  const [h] = await db.hashes([db.keys.job(scheduler, id)]);
  return h === null || h === undefined ? null : jobFromFields(h);
}

const revOrZero = (v: unknown): string => (typeof v === "string" ? v : "0");

/** All of a job's runs, with their fields, as read. */
async function runsOfJob(
  db: Db,
  scheduler: string,
  jobId: string,
): Promise<{ run: Run; fields: Fields }[]> {
  const ids = await db.call(() =>
    db.redis.zrange(db.keys.sched(scheduler, `job-runs:${jobId}`), 0, -1),
  );
  return runsRead(db, scheduler, ids);
}

export function updateJob(
  db: Db,
  scheduler: string,
  id: string,
  change: (current: Job) => Job,
  now: number | undefined,
  events: ((after: Job) => readonly EventDraft[]) | undefined,
): Promise<Job | null> {
  const key = db.keys.job(scheduler, id);
  const fence = jobFence(db, scheduler, id);
  return fence.around(() =>
    optimistic("updateJob", async (round) => {
      // After a conflict (a claim of the job committed meanwhile), claims pass the job by.
      if (round > 0) await fence.raise();
      const [h] = await db.hashes([key]);
      if (h === null || h === undefined) return null;
      const current = jobFromFields(h);
      let prepared: number | null = null;
      // Its runs prepared ahead (not due yet, whatever their nominal time: with jitter it may
      // have passed) are among its pending runs: read from their index when it is complete
      // (pending-of-jobs.ts), else among all its runs. The script finds them the same way.
      const indexed = now !== undefined && (await pendingIndexed(db));
      if (now !== undefined) {
        const runs = indexed
          ? await runsRead(
              db,
              scheduler,
              await db.call(() => db.redis.smembers(jobPendingKey(db, scheduler, id))),
            )
          : await runsOfJob(db, scheduler, id);
        for (const { run } of runs)
          if (isPrepared(run, now) && (prepared === null || run.scheduledTime < prepared))
            prepared = run.scheduledTime;
      }
      const base = rewoundToPrepared(current, prepared);
      const changed = change(base);
      if (changed === base) return current;
      const next = changedJob(base, changed);
      const reply = await db.run(UPDATE_JOB, {
        checks: [[key, revOf(h)]],
        ...(now === undefined
          ? {}
          : {
              now: String(now),
              prepared: prepared === null ? "" : String(prepared),
              ...(indexed ? { indexed: "1" } : {}),
            }),
        fields: jobFields(next),
        events: eventArgs(events?.(next)),
      });
      return reply === CONFLICT ? CONFLICT : next;
    }),
  );
}

/**
 * What removing jobs does to their pending runs at `now`: the prepared ones are withdrawn, the
 * others cancelled; with the checks that they are still as read.
 */
function pendingOutcome(
  runs: readonly { run: Run; fields: Fields }[],
  now: number | undefined,
  db: Db,
): { withdrawn: string[]; cancelled: Run[]; checks: [string, string][] } {
  const withdrawn: string[] = [];
  const done: Run[] = [];
  const checks: [string, string][] = [];
  if (now === undefined) return { withdrawn, cancelled: done, checks };
  for (const { run, fields } of runs) {
    if (run.status !== "pending") continue;
    checks.push([db.keys.run(run.scheduler, run.id), revOf(fields)]);
    if (isPrepared(run, now)) withdrawn.push(run.id);
    else done.push(cancelled(run, REASONS.jobRemoved, now));
  }
  return { withdrawn, cancelled: done, checks };
}

/**
 * What deleting a job decides from one read of it and its runs: the DELETE_JOB payload, or
 * false when there is nothing to delete. The script commits it only if the job, the pending runs
 * read and the set of the job's pending runs are still as read (no run turned pending meanwhile:
 * a retry put back by the results path or the sweep).
 */
export async function readJobDeletion(
  db: Db,
  scheduler: string,
  id: string,
  options: DeleteJobOptions,
): Promise<Record<string, unknown> | false> {
  const key = db.keys.job(scheduler, id);
  const [h, indexed] = await db.batch((pipe) => {
    pipe.hgetall(key);
    pipe.sismember(indexedKey(db), JOB_PENDING);
  });
  const fields = h as Fields | null | undefined;
  if (fields === null || fields === undefined || Object.keys(fields).length === 0) return false;
  const job = jobFromFields(fields);
  if (options.expectedVersion !== undefined && job.version !== options.expectedVersion)
    return false;
  const now = options.cancelPendingRunsAt;
  // Only the job's pending runs matter (as on SQL): read from their index (pending-of-jobs.ts),
  // or, in a store not migrated yet, found among all its runs.
  let runs: { run: Run; fields: Fields }[] = [];
  if (now !== undefined)
    runs =
      indexed === 1
        ? await runsRead(
            db,
            scheduler,
            await db.call(() => db.redis.smembers(jobPendingKey(db, scheduler, id))),
          )
        : await runsOfJob(db, scheduler, id);
  const outcome = pendingOutcome(runs, now, db);
  return {
    checks: [[key, revOf(fields)], ...outcome.checks],
    scheduler,
    id,
    ...(indexed === 1 ? { indexed: "1" } : {}),
    ...(now === undefined
      ? {}
      : { pending: runs.filter(({ run }) => run.status === "pending").map(({ run }) => run.id) }),
    withdrawn: outcome.withdrawn,
    runs: outcome.cancelled.map(runFields),
    events: eventArgs(options.events?.(job, outcome.cancelled)),
  };
}

export function deleteJob(
  db: Db,
  scheduler: string,
  id: string,
  options: DeleteJobOptions,
): Promise<boolean> {
  const fence = jobFence(db, scheduler, id);
  return fence.around(() =>
    optimistic("deleteJob", async (round) => {
      // After a conflict (a claim of the job, a hand-out of its runs), they pass the job by.
      if (round > 0) await fence.raise();
      const payload = await readJobDeletion(db, scheduler, id, options);
      if (payload === false) return false;
      const reply = await db.run(DELETE_JOB, payload);
      return reply === CONFLICT ? CONFLICT : true;
    }),
  );
}

export function deleteAllJobs(
  db: Db,
  scheduler: string,
  options: DeleteAllJobsOptions,
): Promise<number> {
  // On a scheduler whose jobs fire, claims and hand-outs change its jobs and runs all the time:
  // they pass it by while this is under way (it would otherwise conflict with them each time).
  const fence = schedulerFence(db, scheduler);
  return fence.around(() =>
    optimistic("deleteAllJobs", async () => {
      await fence.raise();
      const ids = await db.call(() => db.redis.zrange(db.keys.sched(scheduler, "jobs"), 0, -1));
      const revs = await db.batch((pipe) => {
        for (const id of ids) pipe.hget(db.keys.job(scheduler, id), "rev");
      });
      const checks: [string, string][] = ids.map((id, i) => [
        db.keys.job(scheduler, id),
        revOrZero(revs[i]),
      ]);
      const now = options.cancelPendingRunsAt;
      const limit = options.cancelLimit;
      let runs: { run: Run; fields: Fields }[] = [];
      let pending: string[] = [];
      if (now !== undefined) {
        // Those due first (the set's order): with a limit, the rest are left to cancelPendingRuns.
        pending = await db.call(() =>
          db.redis.zrange(
            db.keys.sched(scheduler, "pending"),
            0,
            limit === undefined ? -1 : limit - 1,
          ),
        );
        runs = await runsRead(db, scheduler, pending);
      }
      const outcome = pendingOutcome(runs, now, db);
      const reply = await db.run(DELETE_ALL_JOBS, {
        checks: [...checks, ...outcome.checks],
        count: String(ids.length),
        ...(now === undefined || limit !== undefined ? {} : { pending: String(pending.length) }),
        scheduler,
        withdrawn: outcome.withdrawn,
        runs: outcome.cancelled.map(runFields),
        events: eventArgs(options.events?.(ids.length, outcome.cancelled)),
      });
      return reply === CONFLICT ? CONFLICT : ids.length;
    }),
  );
}

/** These runs of a scheduler, with their fields (gone ones left out). */
async function runsRead(
  db: Db,
  scheduler: string,
  ids: readonly string[],
): Promise<{ run: Run; fields: Fields }[]> {
  const found = await db.hashes(ids.map((r) => db.keys.run(scheduler, r)));
  return found.flatMap((h) => (h === null ? [] : [{ run: runFromFields(h), fields: h }]));
}

/** The first `limit` pending runs of a scheduler (due first) with ids before `idBefore`. */
async function pendingBefore(
  db: Db,
  scheduler: string,
  idBefore: string,
  limit: number,
): Promise<string[]> {
  const ids: string[] = [];
  for (let offset = 0; ids.length < limit; offset += limit) {
    const part = await db.call(() =>
      db.redis.zrange(db.keys.sched(scheduler, "pending"), offset, offset + limit - 1),
    );
    ids.push(...part.filter((id) => id < idBefore));
    if (part.length < limit) break;
  }
  return ids.slice(0, limit);
}

/** The rest of a RemoveAllJobs: some more of the scheduler's pending runs (port.ts). */
export function cancelPendingRuns(
  db: Db,
  scheduler: string,
  options: CancelPendingRunsOptions,
): Promise<number> {
  const fence = schedulerFence(db, scheduler);
  return fence.around(() =>
    optimistic("cancelPendingRuns", async () => {
      await fence.raise();
      const ids = await pendingBefore(db, scheduler, options.idBefore, options.limit);
      if (ids.length === 0) return 0;
      const outcome = pendingOutcome(await runsRead(db, scheduler, ids), options.now, db);
      const reply = await db.run(CANCEL_PENDING_RUNS, {
        checks: outcome.checks,
        scheduler,
        withdrawn: outcome.withdrawn,
        runs: outcome.cancelled.map(runFields),
        events: eventArgs(
          outcome.cancelled.length === 0 ? [] : options.events?.(outcome.cancelled),
        ),
      });
      return reply === CONFLICT ? CONFLICT : outcome.withdrawn.length + outcome.cancelled.length;
    }),
  );
}
