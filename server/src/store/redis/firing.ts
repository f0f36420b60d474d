/**
 * Firing on Redis: claims of due jobs, manual runs, and withdrawing prepared runs. A claim reads
 * the due jobs from each unpaused scheduler's jobs by next run time, plans them in TypeScript
 * (domain/claim-plan.ts, as the SQL stores do) and commits with scripts/claim-due-jobs.ts, which
 * creates the runs only if no other claim changed those jobs in between: exactly once across
 * nodes without locks. A coalesced run created ends its job's earlier pending runs (prepared
 * before an outage: domain/claim-plan.ts, foldIntoCoalesced) in the same commit.
 */
import { foldIntoCoalesced, planClaim } from "../../domain/claim-plan.js";
import type { Job } from "../../domain/jobs.js";
import type { Run } from "../../domain/runs.js";
import type { ClaimRequest, ClaimResult, DueJob, EventsOf } from "../port.js";
import { nextRev } from "./cache.js";
import {
  type Fields,
  jobFromFields,
  revOf,
  type RunChange,
  runChange,
  runFields,
  runFromFields,
} from "./codec.js";
import { type Db, eventArgs } from "./db.js";
import { CONFLICT, optimistic } from "./optimistic.js";
import { CLAIM_DUE_JOBS } from "./scripts/claim-due-jobs.js";
import { CREATE_MANUAL_RUN } from "./scripts/create-manual-run.js";
import { NEXT_DUE } from "./scripts/next-due.js";
import { RESERVE_JOBS } from "./scripts/reserve-jobs.js";
import { WITHDRAW_PREPARED_RUNS } from "./scripts/withdraw-prepared-runs.js";

/** How long a claim holds the jobs it reserved, at most (the hold ends with its commit). */
const HOLD_MS = 2000;

/** Jobs of these schedulers due by `horizon` (scores up to it), earliest first. */
async function due(
  db: Db,
  schedulers: readonly string[],
  horizon: number | null,
  limit: number,
): Promise<{ scheduler: string; id: string; t: number }[]> {
  if (schedulers.length === 0) return [];
  const max = horizon === null ? "(9007199254740991" : String(horizon);
  const replies = await db.batch((pipe) => {
    for (const s of schedulers)
      pipe.zrangebyscore(db.keys.sched(s, "jobs"), "-inf", max, "WITHSCORES", "LIMIT", 0, limit);
  });
  const out: { scheduler: string; id: string; t: number }[] = [];
  schedulers.forEach((scheduler, i) => {
    const flat = (replies[i] ?? []) as string[];
    for (let j = 0; j + 1 < flat.length; j += 2)
      out.push({ scheduler, id: flat[j] ?? "", t: Number(flat[j + 1]) });
  });
  return out.sort((a, b) => a.t - b.t).slice(0, limit);
}

/** A pipeline reply read as a string (absent: empty). */
const stringOf = (v: unknown): string => (typeof v === "string" ? v : "");

const uniqueKey = (r: Run): string => `${String(r.scheduledTime)}/${r.manual ? "1" : "0"}`;

/** Which of these runs' (job, fire time) keys are free. */
async function free(db: Db, runs: readonly Run[]): Promise<boolean[]> {
  if (runs.length === 0) return [];
  const replies = await db.batch((pipe) => {
    for (const r of runs)
      pipe.hexists(db.keys.sched(r.scheduler, `fired:${r.jobId}`), uniqueKey(r));
  });
  return runs.map((_, i) => replies[i] === 0);
}

/**
 * The jobs reserved, as they are at the revisions the reservation found: from the cache when this
 * node wrote a job last at that revision of that incarnation (cache.ts), else read.
 */
async function reservedJobs(
  db: Db,
  reserved: readonly [string, string, string, string][],
): Promise<{ job: Job; rev: string; inc: string }[]> {
  const out: ({ job: Job; rev: string; inc: string } | null)[] = [];
  const missing: { at: number; key: string }[] = [];
  for (const [scheduler, id, rev, inc] of reserved) {
    const key = db.keys.job(scheduler, id);
    const cached = db.jobs.get(key);
    if (cached !== undefined && cached.rev === `${inc}:${rev}`)
      out.push({ job: cached.value, rev, inc });
    else {
      missing.push({ at: out.length, key });
      out.push(null);
    }
  }
  const hashes = await db.hashes(missing.map((m) => m.key));
  missing.forEach((m, i) => {
    const h = hashes[i];
    out[m.at] =
      h === null || h === undefined
        ? null
        : { job: jobFromFields(h), rev: revOf(h), inc: h.inc ?? "" };
  });
  return out.filter((j) => j !== null);
}

/** What a hold leaves on a run (reserve-runs.ts): a run that ends drops it. */
const HOLD = ["held_until"];

/**
 * The earlier pending runs of the coalesced runs' jobs (`{sched:S}:job-pending:<job>`), ended
 * as foldIntoCoalesced decides: their writes, and the revisions read that the commit checks (a
 * run handed out meanwhile makes the claim read again).
 */
async function foldPrepared(
  db: Db,
  into: readonly Run[],
): Promise<{ folded: Run[]; changes: RunChange[]; checks: [string, string][] }> {
  const out = { folded: [] as Run[], changes: [] as RunChange[], checks: [] as [string, string][] };
  if (into.length === 0) return out;
  const ids = (await db.batch((pipe) => {
    for (const r of into) pipe.smembers(db.keys.sched(r.scheduler, `job-pending:${r.jobId}`));
  })) as string[][];
  const keys = into.flatMap((r, i) => (ids[i] ?? []).map((id) => db.keys.run(r.scheduler, id)));
  const read = new Map<string, { run: Run; fields: Fields }>();
  for (const h of await db.hashes(keys))
    if (h !== null && h.status !== undefined)
      read.set(h.id ?? "", { run: runFromFields(h), fields: h });
  into.forEach((r, i) => {
    const pending = (ids[i] ?? []).flatMap((id) => {
      const found = read.get(id);
      return found === undefined ? [] : [found.run];
    });
    for (const ended of foldIntoCoalesced(r, pending)) {
      const before = read.get(ended.id)?.fields;
      if (before === undefined) continue;
      const rev = revOf(before);
      out.folded.push(ended);
      out.checks.push([db.keys.run(ended.scheduler, ended.id), rev]);
      out.changes.push(runChange(before, runFields(ended), nextRev(rev), HOLD));
    }
  });
  return out;
}

export function claimDueJobs(
  db: Db,
  req: ClaimRequest,
  events: EventsOf<ClaimResult> | undefined,
): Promise<ClaimResult> {
  return optimistic("claimDueJobs", async (round) => {
    const [reserved, pausedNow] = (await db.run(RESERVE_JOBS, {
      horizon: String(req.horizon),
      limit: String(req.limit),
      holdMs: String(HOLD_MS),
    })) as [[string, string, string, string][], string[]];
    const paused = pausedNow.sort();
    const release = reserved.map(([scheduler, id]) => [scheduler, id]);
    const checks: [string, string][] = [];
    const jobs: Job[] = [];
    const read = new Map<string, { rev: string; inc: string }>();
    for (const { job, rev, inc } of await reservedJobs(db, reserved)) {
      if (job.nextRunTime === null || job.nextRunTime > req.horizon) continue;
      const key = db.keys.job(job.scheduler, job.id);
      checks.push([key, rev]);
      read.set(key, { rev, inc });
      jobs.push(job);
    }
    const plan = planClaim(jobs, req.plan);
    const { ended, broken } = plan;
    // A run's (job, fire time) is almost always free: the first attempt assumes so (the commit
    // checks it, and a taken one is a conflict); a retry asks which are.
    const isFree = round === 0 ? null : await free(db, plan.runs);
    const runs = isFree === null ? plan.runs : plan.runs.filter((_, i) => isFree[i] === true);
    // Almost every claim coalesces nothing: then nothing more is read.
    const fold = await foldPrepared(
      db,
      plan.coalesced.length === 0 || isFree === null
        ? plan.coalesced
        : plan.coalesced.filter((r) => runs.includes(r)),
    );
    checks.push(...fold.checks);
    const result: ClaimResult = {
      jobs: jobs.length,
      runs: [...runs, ...fold.folded],
      ignored: plan.runs.length - runs.length,
      paused,
      ended,
      broken,
    };
    const drafts = eventArgs(events?.(result));
    if (jobs.length === 0 && drafts.length === 0) {
      if (reserved.length > 0) await db.run(CLAIM_DUE_JOBS, { release });
      return result;
    }
    const written = runs.map(runFields);
    const reply = await db.run(CLAIM_DUE_JOBS, {
      release,
      checks,
      runs: [...written.map((f) => runChange(null, f, "1")), ...fold.changes],
      advance: plan.advance.map((a) => [
        a.job.scheduler,
        a.job.id,
        String(a.nextRunTime),
        nextRev(read.get(db.keys.job(a.job.scheduler, a.job.id))?.rev ?? "0"),
        a.preparedFirst === null ? "" : String(a.preparedFirst),
        a.lastFirePrepared ? "1" : "0",
      ]),
      finished: ended.map((j) => [j.scheduler, j.id]),
      broken: broken.map((j) => [j.scheduler, j.id]),
      events: drafts,
    });
    if (reply === CONFLICT) return CONFLICT;
    // A run created has revision 1 (scripts/lib.ts): its hand-out starts from it; a job advanced
    // is the job read with its next run time, one revision on.
    runs.forEach((run, i) => {
      const fields = written[i];
      if (run.status === "pending" && fields !== undefined)
        db.runs.set(run.id, "1", { run, fields });
    });
    for (const a of plan.advance) {
      const key = db.keys.job(a.job.scheduler, a.job.id);
      const was = read.get(key);
      if (was !== undefined)
        db.jobs.set(key, `${was.inc}:${nextRev(was.rev)}`, {
          ...a.job,
          nextRunTime: a.nextRunTime,
          preparedFirst: a.preparedFirst ?? undefined,
          lastFirePrepared: a.lastFirePrepared || undefined,
        });
    }
    for (const j of [...ended, ...broken]) db.jobs.delete(db.keys.job(j.scheduler, j.id));
    for (const r of fold.folded) db.runs.delete(r.id);
    return result;
  });
}

export async function nextDueTime(db: Db, paused: readonly string[]): Promise<number | null> {
  const first = await db.run(NEXT_DUE, { paused, indexes: ["jobs"], max: "(9007199254740991" });
  return typeof first === "string" ? Number(first) : null;
}

export async function dueJobsOf(
  db: Db,
  schedulers: readonly string[],
  horizon: number,
  limit: number,
): Promise<DueJob[]> {
  const found = await due(db, schedulers, horizon, limit);
  const read = await db.batch((pipe) => {
    for (const j of found)
      pipe.hmget(db.keys.job(j.scheduler, j.id), "handler", "last_fire_prepared");
  });
  // A job kept until its last run is due has no fire time left: its score is where the claim
  // that removes it starts (domain/prepared-runs.ts), not a fire time.
  return found.flatMap((j, i) => {
    const [handler, last] = (read[i] ?? []) as (string | null)[];
    if (last === "1") return [];
    return [{ scheduler: j.scheduler, id: j.id, handler: stringOf(handler), nextRunTime: j.t }];
  });
}

export function createManualRun(
  db: Db,
  scheduler: string,
  jobId: string,
  make: (job: Job, shift: number) => Run,
): Promise<Run | null> {
  const key = db.keys.job(scheduler, jobId);
  return optimistic("createManualRun", async () => {
    const [h] = await db.hashes([key]);
    if (h === null || h === undefined) return null;
    const job = jobFromFields(h);
    // Two manual runs requested in the same millisecond: the second takes the next one.
    for (let shift = 0; ; shift++) {
      const run = make(job, shift);
      const reply = await db.run(CREATE_MANUAL_RUN, {
        checks: [[key, revOf(h)]],
        run: runFields(run),
      });
      if (reply === CONFLICT) return CONFLICT;
      if (reply === "ok") return run;
    }
  });
}

export async function withdrawPreparedRuns(
  db: Db,
  scheduler: string,
  since: number,
): Promise<number> {
  return Number(await db.run(WITHDRAW_PREPARED_RUNS, { scheduler, since: String(since) }));
}
