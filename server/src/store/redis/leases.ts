/**
 * Leases on Redis: the hand-out of pending runs to a worker, leases handed back, extended and
 * checked. Pending runs wait in `{sched:S}:pending:<handler>` by due time; running runs sit in
 * `{sched:S}:running` by lease expiry and in `{sched:S}:running:<job>` (max_instances). The
 * hand-out decides in TypeScript (domain/hand-out.ts, as the SQL stores do; a coalescing job's
 * due fire that waited while a later one came due folds into it) and commits with
 * scripts/lease-runs.ts only if the runs are still as read and no other run of their jobs
 * started meanwhile.
 */
import type { Lease, Run } from "../../domain/runs.js";
import { foldable, foldPlan, handOut, waitedUnserved } from "../../domain/hand-out.js";
import { handedBack } from "../../domain/run-transitions.js";
import { jobKey } from "../sql/job-rows.js";
import {
  BUSY_LIMIT,
  type EventsOf,
  type LeaseRequest,
  type LeaseResult,
  type LeaseState,
} from "../port.js";
import { nextRev } from "./cache.js";
import {
  type Fields,
  revOf,
  type RunChange,
  runChange,
  runFields,
  runFromFields,
} from "./codec.js";
import { type Db, eventArgs } from "./db.js";
import { CONFLICT, optimistic } from "./optimistic.js";
import { EXTEND_LEASES } from "./scripts/extend-leases.js";
import { LEASE_RUNS } from "./scripts/lease-runs.js";
import { PUT_RUNS } from "./scripts/put-runs.js";
import { NEXT_DUE } from "./scripts/next-due.js";
import { jobPendingKey } from "./pending-of-jobs.js";
import { RESERVE_RUNS } from "./scripts/reserve-runs.js";

/** How long a hand-out holds the runs it reserved (the hold ends with its commit). */
const HOLD_MS = 2000;

/**
 * The runs reserved, as they are at the revisions the reservation found: from the cache when this
 * node wrote a run last at that revision, else read.
 */
async function reservedRuns(
  db: Db,
  reserved: readonly [string, string, string][],
): Promise<{ run: Run; fields: Fields; rev: string }[]> {
  const out: ({ run: Run; fields: Fields; rev: string } | null)[] = [];
  const missing: { at: number; key: string }[] = [];
  for (const [scheduler, id, rev] of reserved) {
    const cached = db.runs.get(id);
    if (cached !== undefined && cached.rev === rev) out.push({ ...cached.value, rev });
    else {
      missing.push({ at: out.length, key: db.keys.run(scheduler, id) });
      out.push(null);
    }
  }
  const hashes = await db.hashes(missing.map((m) => m.key));
  missing.forEach((m, i) => {
    const h = hashes[i];
    out[m.at] =
      h === null || h === undefined ? null : { run: runFromFields(h), fields: h, rev: revOf(h) };
  });
  return out.filter((r) => r !== null);
}

/**
 * For the jobs of these candidates (due first attempts that waited unserved) that coalesce: the
 * nominal time of their latest due fire within its grace, which the earlier fold into, and the
 * runs the fold plan takes up (`runs`, to join the candidates: the earlier ones, and the latest
 * when all of them are there; domain/hand-out.ts, foldPlan). Read from the job's `coalesce`
 * field (just before the commit, not checked by it) and its index of pending runs
 * (`{sched:S}:job-pending:<job>`, pending-of-jobs.ts); runs another hand-out holds count for
 * the latest but are left to it (`mine`: this hand-out's candidates). Nothing is read when no
 * candidate waited unserved.
 */
async function dueFiresToFold(
  db: Db,
  late: readonly Run[],
  mine: ReadonlyMap<string, unknown>,
  now: number,
): Promise<{ latest: Map<string, number>; runs: { run: Run; fields: Fields; rev: string }[] }> {
  const none = { latest: new Map<string, number>(), runs: [] };
  const jobs = [...new Map(late.map((r) => [jobKey(r.scheduler, r.jobId), r])).values()];
  if (jobs.length === 0) return none;
  const replies = await db.batch((pipe) => {
    for (const r of jobs) {
      pipe.hget(db.keys.job(r.scheduler, r.jobId), "coalesce");
      pipe.smembers(jobPendingKey(db, r.scheduler, r.jobId));
    }
  });
  const keys: string[] = [];
  jobs.forEach((r, i) => {
    if (replies[2 * i] !== "1") return;
    for (const id of replies[2 * i + 1] as string[]) keys.push(db.keys.run(r.scheduler, id));
  });
  if (keys.length === 0) return none;
  const found = new Map<string, { run: Run; fields: Fields; rev: string; free: boolean }>();
  for (const h of await db.hashes(keys)) {
    if (h === null || h.status === undefined) continue;
    const run = runFromFields(h);
    if (run.status !== "pending" || !foldable(run, now)) continue;
    if (run.expiresAt !== null && run.expiresAt < now) continue; // its grace ends it instead
    // Held by another hand-out (this one's own candidates are held by it).
    const free = mine.has(run.id) || Number(h.held_until ?? "0") <= now;
    found.set(run.id, { run, fields: h, rev: revOf(h), free });
  }
  const plan = foldPlan(
    [...found.values()].map(({ run }) => ({
      id: run.id,
      job: jobKey(run.scheduler, run.jobId),
      scheduledTime: run.scheduledTime,
    })),
  );
  const runs = plan.take.flatMap((id) => {
    const f = found.get(id);
    return f?.free === true ? [{ run: f.run, fields: f.fields, rev: f.rev }] : [];
  });
  return { latest: plan.latest, runs };
}

/** What a hold leaves on a run that its hand-out's write removes (reserve-runs.ts). */
const HOLD = ["held_until"];

export function leaseRuns(
  db: Db,
  req: LeaseRequest,
  events: EventsOf<LeaseResult> | undefined,
): Promise<LeaseResult> {
  const now = req.now;
  const handlers = req.total > 0 ? [...req.slots.keys()] : [];
  const busy = [...(req.busy ?? [])].filter(([h]) => !handlers.includes(h));
  if (handlers.length === 0 && busy.length === 0) return Promise.resolve({ taken: [], ended: [] });
  const dueBy = String(Math.max(now, req.dueBy ?? now));
  // Each handler's read: [handler, limit, due after (exclusive; "-inf": none), due by]. A busy
  // handler's (no free slot) is for max_instances only: its runs that came due since the node
  // last looked, of jobs with a run running (handOut takes none of them: they have no slot).
  const reads = [
    ...handlers.map((h) => [h, String(Math.min(req.total, req.slots.get(h) ?? 0)), "-inf", dueBy]),
    ...busy.map(([h, after]) => [h, String(BUSY_LIMIT), `(${String(after)}`, String(now), "busy"]),
  ];
  return optimistic("leaseRuns", async () => {
    const [reserved, runningNow] = (await db.run(RESERVE_RUNS, {
      now: String(now),
      until: String(now + HOLD_MS),
      paused: req.paused,
      handlers: reads,
    })) as [[string, string, string][], [string, string, string[]][]];
    const checks: [string, string][] = [];
    const candidates: Run[] = [];
    const read = new Map<string, { fields: Fields; rev: string }>();
    for (const { run, fields, rev } of await reservedRuns(db, reserved)) {
      if (run.status !== "pending") continue;
      checks.push([db.keys.run(run.scheduler, run.id), rev]);
      read.set(run.id, { fields, rev });
      candidates.push(run);
    }
    const jobs = new Set(candidates.map((r) => jobKey(r.scheduler, r.jobId)));
    const running = new Map<string, number>();
    // max_instances is decided on these: the commit checks that no run of these jobs started
    // meanwhile (one that ended meanwhile changes nothing decided here).
    const startedBefore: [string, string, string[]][] = [];
    for (const [scheduler, job, ids] of runningNow) {
      const k = jobKey(scheduler, job);
      if (!jobs.has(k)) continue;
      running.set(k, ids.length);
      startedBefore.push([scheduler, job, ids]);
    }
    const fold = await dueFiresToFold(
      db,
      candidates.filter((r) => waitedUnserved(r, now, req.servedSince)),
      read,
      now,
    );
    for (const { run, fields, rev } of fold.runs) {
      if (read.has(run.id)) continue;
      checks.push([db.keys.run(run.scheduler, run.id), rev]);
      read.set(run.id, { fields, rev });
      candidates.push(run);
    }
    const grant = { workerId: req.workerId, token: req.leaseToken, leaseMs: req.leaseMs };
    const result: LeaseResult = handOut({
      now,
      slots: req.slots,
      candidates,
      running: (r) => running.get(jobKey(r.scheduler, r.jobId)) ?? 0,
      latestDue: (r) => fold.latest.get(jobKey(r.scheduler, r.jobId)),
      grant,
    });
    const drafts = eventArgs(events?.(result));
    const writes = [...result.ended, ...result.taken];
    const written = new Set(writes.map((r) => r.id));
    // Holds end with the runs' writes; those of the runs not written end apart.
    const release = reserved.flatMap(([scheduler, id]) =>
      written.has(id) ? [] : [[scheduler, id]],
    );
    if (writes.length + drafts.length === 0) {
      if (reserved.length > 0) await db.run(LEASE_RUNS, { release });
      return result;
    }
    const changes: RunChange[] = [];
    const fieldsOf = new Map<string, Fields>();
    for (const r of writes) {
      const was = read.get(r.id);
      if (was === undefined) throw new Error(`run ${r.id} was written without being read`);
      const fields = runFields(r);
      fieldsOf.set(r.id, fields);
      changes.push(runChange(was.fields, fields, nextRev(was.rev), HOLD));
    }
    const reply = await db.run(LEASE_RUNS, {
      release,
      checks,
      running: startedBefore,
      runs: changes,
      events: drafts,
    });
    if (reply === CONFLICT) return CONFLICT;
    for (const r of result.ended) db.runs.delete(r.id);
    for (const run of result.taken) {
      const fields = fieldsOf.get(run.id);
      const rev = read.get(run.id)?.rev;
      if (fields !== undefined && rev !== undefined)
        db.runs.set(run.id, nextRev(rev), { run, fields });
    }
    return result;
  });
}

const sameLease = (run: Run, l: Lease): boolean =>
  run.status === "running" && run.attempt === l.attempt && run.leaseToken === l.token;

export function releaseLeases(db: Db, now: number, leases: readonly Lease[]): Promise<number> {
  if (leases.length === 0) return Promise.resolve(0);
  return optimistic("releaseLeases", async () => {
    const found = await db.runHashes(leases.map((l) => l.runId));
    const checks: [string, string][] = [];
    const back: Run[] = [];
    for (const l of leases) {
      const h = found.get(l.runId);
      if (h === undefined) continue;
      const run = runFromFields(h);
      if (!sameLease(run, l)) continue;
      checks.push([db.keys.run(run.scheduler, run.id), revOf(h)]);
      back.push(handedBack(run, now));
    }
    if (back.length === 0) return 0;
    const reply = await db.run(PUT_RUNS, { checks, runs: back.map(runFields) });
    return reply === CONFLICT ? CONFLICT : back.length;
  });
}

export async function nextPendingDue(
  db: Db,
  handlers: readonly string[],
  paused: readonly string[],
  after?: number,
): Promise<number | null> {
  if (handlers.length === 0) return null;
  const first = await db.run(NEXT_DUE, {
    paused,
    indexes: handlers.map((h) => `pending:${h}`),
    min: after === undefined ? "-inf" : `(${String(after)}`,
    max: String(Number.MAX_SAFE_INTEGER),
  });
  return typeof first === "string" ? Number(first) : null;
}

export async function extendLeases(
  db: Db,
  now: number,
  leases: readonly Lease[],
  leaseMs: number,
  workerId: string,
): Promise<Lease[]> {
  if (leases.length === 0) return [];
  // An extension changes the runs (their revision too): their results read them again.
  for (const l of leases) db.runs.delete(l.runId);
  const lost = (await db.run(EXTEND_LEASES, {
    now: String(now),
    until: String(now + leaseMs),
    worker: workerId,
    leases: leases.map((l) => [l.runId, String(l.attempt), l.token]),
  })) as number[];
  return lost.flatMap((i) => {
    const l = leases[i - 1];
    return l === undefined ? [] : [l];
  });
}

export async function leaseStates(
  db: Db,
  leases: readonly Lease[],
): Promise<Map<string, LeaseState>> {
  const found = await db.runHashes(leases.map((l) => l.runId));
  const out = new Map<string, LeaseState>();
  for (const l of leases) {
    const h: Fields | undefined = found.get(l.runId);
    const run = h === undefined ? null : runFromFields(h);
    out.set(l.runId, {
      status: run?.status ?? "failed",
      reason: run?.statusReason ?? "",
      current: run !== null && sameLease(run, l),
    });
  }
  return out;
}
