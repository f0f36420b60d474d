/**
 * What ends or retries an attempt on Redis: results, timeouts, cancels and the sweeper. Each
 * reads the runs, applies the domain's transitions (domain/run-transitions.ts) and commits with
 * scripts/put-runs.ts only if the runs are still as read: a result for a lease that another
 * node's sweep expired meanwhile reads the run again and is rejected (fencing).
 */
import type { Lease, Outcome, Run } from "../../domain/runs.js";
import {
  attemptFailed,
  cancelled,
  isFinal,
  leaseExpired,
  missed,
  succeeded,
  timedOut,
} from "../../domain/run-transitions.js";
import type { CancelOutcome, EventsOf, SweepRequest, SweepResult, Verdict } from "../port.js";
import { nextRev } from "./cache.js";
import { type Fields, revOf, runChange, runFields, runFromFields } from "./codec.js";
import { type Db, eventArgs } from "./db.js";
import { CONFLICT, optimistic } from "./optimistic.js";
import { PUT_RUNS } from "./scripts/put-runs.js";

/** The checks that these runs are still as read. */
function checksOf(db: Db, runs: Iterable<Fields>): [string, string][] {
  return [...runs].map((h) => [db.keys.run(h.scheduler ?? "", h.id ?? ""), revOf(h)]);
}

/** The verdict on a result for a run that is not running under its lease (completeRuns). */
function rejectedOrRepeat(run: Run | undefined, lease: Lease): Verdict | null {
  if (run === undefined || run.attempt !== lease.attempt || run.leaseToken !== lease.token)
    return {
      accepted: false,
      reason: run === undefined || run.attempt < lease.attempt ? "unknown_lease" : "lease_expired",
      run: run ?? null,
    };
  if (run.status === "running") return null;
  if (run.status === "cancelled" || run.status === "timed_out")
    return { accepted: false, reason: run.status, run };
  if (run.status === "failed" && run.error?.type === "LeaseExpired")
    return { accepted: false, reason: "lease_expired", run };
  if (run.status === "succeeded" || run.status === "failed")
    return { accepted: true, run, recorded: false };
  return { accepted: false, reason: "lease_expired", run };
}

/** A run as read: its record, its fields and its revision. */
interface ReadRun {
  readonly run: Run;
  readonly fields: Fields;
  readonly rev: string;
}

/** These runs as read, with their revisions (absent: no such run). */
async function readRuns(db: Db, ids: readonly string[]): Promise<Map<string, ReadRun>> {
  const found = await db.runHashes(ids);
  return new Map(
    [...found].map(([id, h]) => [id, { run: runFromFields(h), fields: h, rev: revOf(h) }]),
  );
}

/**
 * These runs as this node last wrote them (cache.ts), when it knows each; their revisions are
 * then checked by the commit.
 */
function cachedRuns(db: Db, ids: readonly string[]): Map<string, ReadRun> | null {
  const out = new Map<string, ReadRun>();
  for (const id of ids) {
    const c = db.runs.get(id);
    if (c === undefined) return null;
    out.set(id, { ...c.value, rev: c.rev });
  }
  return out;
}

/** Keeps what a commit wrote of runs read at `revs`: ended runs are needed no more. */
function remember(
  db: Db,
  runs: Iterable<{ run: Run; fields: Fields }>,
  revs: ReadonlyMap<string, { rev: string }>,
): void {
  for (const w of runs) {
    const id = w.run.id;
    if (isFinal(w.run.status)) db.runs.delete(id);
    else db.runs.set(id, nextRev(revs.get(id)?.rev ?? "0"), w);
  }
}

export function completeRuns(
  db: Db,
  now: number,
  items: readonly { readonly lease: Lease; readonly outcome: Outcome }[],
  events: EventsOf<Verdict[]> | undefined,
): Promise<Verdict[]> {
  if (items.length === 0) return Promise.resolve([]);
  const ids = [...new Set(items.map((i) => i.lease.runId))];
  return optimistic("completeRuns", async (round) => {
    // A result for a run this node leased starts from the run as leased: the commit checks that
    // it is still so (another node's sweep, a cancel, an extension: it reads again). A decision
    // that would commit nothing is only taken on runs read.
    for (let cached = round === 0; ; cached = false) {
      const known = cached ? cachedRuns(db, ids) : null;
      const fromCache = known !== null;
      const found = known ?? (await readRuns(db, ids));
      const runs = new Map([...found].map(([id, f]) => [id, f.run]));
      const changed = new Map<string, Run>();
      const verdicts: Verdict[] = [];
      for (const { lease, outcome } of items) {
        const run = runs.get(lease.runId);
        const verdict = rejectedOrRepeat(run, lease);
        if (verdict !== null || run === undefined) {
          if (verdict !== null) verdicts.push(verdict);
          continue;
        }
        const next =
          outcome.kind === "success"
            ? succeeded(run, outcome.result, now)
            : attemptFailed(run, outcome.error, now);
        runs.set(run.id, next);
        changed.set(run.id, next);
        verdicts.push({ accepted: true, run: next, recorded: true });
      }
      if (changed.size === 0 && fromCache) continue;
      const drafts = eventArgs(events?.(verdicts));
      if (changed.size === 0 && drafts.length === 0) return verdicts;
      const writes = [...changed.values()].map((run) => ({ run, fields: runFields(run) }));
      const reply = await db.run(PUT_RUNS, {
        checks: [...found.values()].map((f) => [db.keys.run(f.run.scheduler, f.run.id), f.rev]),
        changes: writes.map((w) => {
          const was = found.get(w.run.id);
          if (was === undefined) throw new Error(`run ${w.run.id} was written without being read`);
          return runChange(was.fields, w.fields, nextRev(was.rev));
        }),
        events: drafts,
      });
      if (reply === CONFLICT) {
        if (fromCache) for (const id of ids) db.runs.delete(id);
        return CONFLICT;
      }
      remember(db, writes, found);
      return verdicts;
    }
  });
}

export function timeOutRun(
  db: Db,
  now: number,
  lease: Lease,
  events: EventsOf<Run | null> | undefined,
): Promise<Run | null> {
  return optimistic("timeOutRun", async () => {
    const h = (await db.runHashes([lease.runId])).get(lease.runId);
    const run = h === undefined ? null : runFromFields(h);
    if (
      h === undefined ||
      run === null ||
      run.status !== "running" ||
      run.attempt !== lease.attempt ||
      run.leaseToken !== lease.token
    ) {
      const drafts = events?.(null) ?? [];
      if (drafts.length > 0) await db.run(PUT_RUNS, { checks: [], events: eventArgs(drafts) });
      return null;
    }
    const next = timedOut(run, now);
    const reply = await db.run(PUT_RUNS, {
      checks: checksOf(db, [h]),
      runs: [runFields(next)],
      events: eventArgs(events?.(next)),
    });
    return reply === CONFLICT ? CONFLICT : next;
  });
}

export function cancelRun(
  db: Db,
  now: number,
  runId: string,
  reason: string,
  events: EventsOf<CancelOutcome> | undefined,
): Promise<CancelOutcome> {
  return optimistic("cancelRun", async () => {
    const h = (await db.runHashes([runId])).get(runId);
    let outcome: CancelOutcome;
    let next: Run | null = null;
    if (h === undefined) outcome = { kind: "not_found" };
    else {
      const run = runFromFields(h);
      if (run.status === "cancelled")
        outcome = { kind: "cancelled", run, wasRunning: false, changed: false };
      else if (isFinal(run.status)) outcome = { kind: "final", run };
      else {
        next = cancelled(run, reason, now);
        outcome = {
          kind: "cancelled",
          run: next,
          wasRunning: run.status === "running",
          changed: true,
        };
      }
    }
    const drafts = events?.(outcome) ?? [];
    if (next === null && drafts.length === 0) return outcome;
    const reply = await db.run(PUT_RUNS, {
      checks: h === undefined ? [] : checksOf(db, [h]),
      runs: next === null ? [] : [runFields(next)],
      events: eventArgs(drafts),
    });
    return reply === CONFLICT ? CONFLICT : outcome;
  });
}

/** Runs of each scheduler in the sorted set `index` scoring below `max`, earliest first. */
async function below(
  db: Db,
  index: string,
  max: string,
  limit: number,
): Promise<Map<string, Fields>> {
  const schedulers = await db.spaces();
  const replies = await db.batch((pipe) => {
    for (const s of schedulers)
      pipe.zrangebyscore(db.keys.sched(s, index), "-inf", max, "WITHSCORES", "LIMIT", 0, limit);
  });
  const found: { s: string; id: string; t: number }[] = [];
  schedulers.forEach((s, i) => {
    const flat = (replies[i] ?? []) as string[];
    for (let j = 0; j + 1 < flat.length; j += 2)
      found.push({ s, id: flat[j] ?? "", t: Number(flat[j + 1]) });
  });
  const first = found.sort((a, b) => a.t - b.t).slice(0, limit);
  const hashes = await db.hashes(first.map((f) => db.keys.run(f.s, f.id)));
  const out = new Map<string, Fields>();
  first.forEach((f, i) => {
    const h = hashes[i];
    if (h !== null && h !== undefined) out.set(f.id, h);
  });
  return out;
}

export function sweep(
  db: Db,
  req: SweepRequest,
  events: EventsOf<SweepResult> | undefined,
): Promise<SweepResult> {
  const { now, limit } = req;
  return optimistic("sweep", async () => {
    const misfired = req.misfires
      ? await below(db, "expiring", `(${String(now)}`, limit)
      : new Map<string, Fields>();
    const late = await below(db, "deadlines", String(now), limit);
    const lapsed = req.leases
      ? await below(db, "running", `(${String(now)}`, limit)
      : new Map<string, Fields>();
    const read = new Map([...misfired, ...late, ...lapsed]);
    const missedRuns = [...misfired.values()]
      .map(runFromFields)
      .filter((r) => r.status === "pending")
      .map((r) => missed(r, now));
    const timedOutRuns = [...late.values()]
      .map(runFromFields)
      .filter((r) => r.status === "running")
      .map((r) => timedOut(r, now));
    const expired = [...lapsed.values()]
      .map(runFromFields)
      .filter((r) => r.status === "running" && !late.has(r.id))
      .map((r) => leaseExpired(r, now));
    const result: SweepResult = { missed: missedRuns, expired, timedOut: timedOutRuns };
    const drafts = eventArgs(events?.(result));
    if (missedRuns.length + expired.length + timedOutRuns.length + drafts.length === 0)
      return result;
    const reply = await db.run(PUT_RUNS, {
      checks: checksOf(db, read.values()),
      runs: [...missedRuns, ...timedOutRuns, ...expired].map(runFields),
      events: drafts,
    });
    return reply === CONFLICT ? CONFLICT : result;
  });
}
