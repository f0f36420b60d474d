import { foldPlan, handOut, waitedUnserved } from "../../../domain/hand-out.js";
import { chunks } from "../../../lib/chunks.js";
import { BUSY_LIMIT, type LeaseRequest, type LeaseResult } from "../../port.js";
import type { Dialect } from "../dialect.js";
import { byScheduler, jobKey } from "../job-rows.js";
import { RUN_SELECT, runFromRow, writeEnded } from "../run-rows.js";
import { all, notIn, num, placeholders, write, type Row, type Tx } from "../runner.js";

/**
 * Hands due pending runs of these handlers to one worker, as the domain's `handOut` decides
 * (running under the lease, skipped for max_instances, missed past their grace), with their
 * timeout deadline counted from their start. The job rows are locked for the decision (runs of a
 * job locked elsewhere wait for the next pass; a coalescing job's due fire that waited for a
 * worker until a later one came due folds into it). Runs of paused schedulers wait. The first
 * attempts of busy handlers (no free slot) that came due are decided too, for max_instances.
 */
export function* leaseRuns(d: Dialect, req: LeaseRequest): Tx<LeaseResult> {
  const now = req.now;
  const handlers = req.total > 0 ? [...req.slots.keys()] : [];
  const busy = [...(req.busy ?? [])].filter(([h]) => !handlers.includes(h));
  if (handlers.length === 0 && busy.length === 0) return { taken: [], ended: [] };
  const paused = req.paused;
  // One query per handler: its order is the index's (status, handler, due_at), so InnoDB locks
  // only the rows it returns (with `handler IN (…)` it would sort, locking every due row).
  const rows: Row[] = [];
  for (const handler of handlers) {
    rows.push(
      ...(yield* all(
        `SELECT ${RUN_SELECT} FROM \`runs\` WHERE \`status\` = 'pending' AND \`handler\` = ? AND \`due_at\` <= ?${notIn("scheduler", paused)} ORDER BY \`due_at\` LIMIT ?${d.lockSkipLocked}`,
        [
          handler,
          Math.max(now, req.dueBy ?? now),
          ...paused,
          Math.min(req.total, req.slots.get(handler) ?? 0),
        ],
      )),
    );
  }
  // Handlers without a free slot: their first attempts that came due since the node last looked,
  // for max_instances only (the domain leaves those whose job has room pending). Only those
  // whose job has a run running can be skipped, so only they are read and locked (one probe of
  // the (scheduler, job_id, status) index each); a retry waits for room whatever happens.
  for (const [handler, after] of busy) {
    rows.push(
      ...(yield* all(
        `SELECT ${RUN_SELECT} FROM \`runs\` WHERE \`status\` = 'pending' AND \`handler\` = ? AND \`due_at\` > ? AND \`due_at\` <= ? AND \`attempt\` = 1${notIn("scheduler", paused)} AND EXISTS (SELECT 1 FROM \`runs\` AS \`x\` WHERE \`x\`.\`scheduler\` = \`runs\`.\`scheduler\` AND \`x\`.\`job_id\` = \`runs\`.\`job_id\` AND \`x\`.\`status\` = 'running') ORDER BY \`due_at\` LIMIT ?${d.lockSkipLocked}`,
        [handler, after, now, ...paused, BUSY_LIMIT],
      )),
    );
  }
  if (rows.length === 0) return { taken: [], ended: [] };
  const candidates = rows.map(runFromRow);
  const read = new Set(candidates.map((r) => r.id));
  // Lock the jobs whose max_instances is decided (a removed job has no row: nothing to lock).
  const jobKeys = [
    ...new Map(
      candidates.map((r) => [
        jobKey(r.scheduler, r.jobId),
        { scheduler: r.scheduler, id: r.jobId },
      ]),
    ).values(),
  ];
  const existing = new Set<string>();
  const locked = new Set<string>();
  const coalescing = new Set<string>();
  const running = new Map<string, number>();
  const latest = new Map<string, number>();
  for (const [scheduler, part] of byScheduler(jobKeys, 500)) {
    const ids = part.map((j) => j.id);
    const marks = placeholders(ids.length);
    for (const r of yield* all(
      `SELECT \`id\`, \`coalesce\` FROM \`jobs\` WHERE \`scheduler\` = ? AND \`id\` IN (${marks})${d.lockSkipLocked}`,
      [scheduler, ...ids],
    )) {
      const k = jobKey(scheduler, String(r.id));
      locked.add(k);
      if (num(r.coalesce) === 1) coalescing.add(k);
    }
    // Of the others, which exist (locked elsewhere) rather than are gone (a removed date job)?
    const others = ids.filter((id) => !locked.has(jobKey(scheduler, id)));
    if (others.length > 0)
      for (const r of yield* all(
        `SELECT \`id\` FROM \`jobs\` WHERE \`scheduler\` = ? AND \`id\` IN (${placeholders(others.length)})`,
        [scheduler, ...others],
      ))
        existing.add(jobKey(scheduler, String(r.id)));
    for (const r of yield* all(
      `SELECT \`job_id\`, COUNT(*) AS \`n\` FROM \`runs\` WHERE \`scheduler\` = ? AND \`job_id\` IN (${marks}) AND \`status\` = 'running' GROUP BY \`job_id\``,
      [scheduler, ...ids],
    ))
      running.set(jobKey(scheduler, String(r.job_id)), num(r.n));
    // A due fire of a coalescing job that waited while no worker here served its handler folds
    // into its job's latest due fire (domain/hand-out.ts). For the jobs with such a candidate
    // only (none while the node's sessions serve the handler), their due fires within their
    // grace are read without locks (the latest is the latest whoever holds it); the runs the
    // plan takes up are then locked (rows another node holds are left to it) and join the
    // candidates — the earlier fold, and the latest goes in their place.
    const folding = [
      ...new Set(
        candidates
          .filter((c) => c.scheduler === scheduler && waitedUnserved(c, now, req.servedSince))
          .map((c) => c.jobId)
          .filter((id) => coalescing.has(jobKey(scheduler, id))),
      ),
    ];
    if (folding.length === 0) continue;
    const fires = (yield* all(
      `SELECT \`id\`, \`job_id\`, \`scheduled_time\` FROM \`runs\` WHERE \`scheduler\` = ? AND \`job_id\` IN (${placeholders(folding.length)}) AND \`status\` = 'pending' AND \`manual\` = 0 AND \`attempt\` = 1 AND \`due_at\` <= ? AND (\`expires_at\` IS NULL OR \`expires_at\` >= ?)`,
      [scheduler, ...folding, now, now],
    )).map((r) => ({
      id: String(r.id),
      job: jobKey(scheduler, String(r.job_id)),
      scheduledTime: num(r.scheduled_time),
    }));
    const plan = foldPlan(fires);
    for (const [k, t] of plan.latest) latest.set(k, t);
    for (const ids of chunks(
      plan.take.filter((id) => !read.has(id)),
      500,
    ))
      for (const run of (yield* all(
        `SELECT ${RUN_SELECT} FROM \`runs\` WHERE \`id\` IN (${placeholders(ids.length)}) AND \`status\` = 'pending'${d.lockSkipLocked}`,
        ids,
      )).map(runFromRow)) {
        read.add(run.id);
        candidates.push(run);
      }
  }
  const grant = { workerId: req.workerId, token: req.leaseToken, leaseMs: req.leaseMs };
  const { taken, ended } = handOut({
    now,
    slots: req.slots,
    candidates,
    running: (r) => running.get(jobKey(r.scheduler, r.jobId)) ?? 0,
    latestDue: (r) => latest.get(jobKey(r.scheduler, r.jobId)),
    grant,
    // Its job is being changed or claimed: next pass.
    waits: (r) => existing.has(jobKey(r.scheduler, r.jobId)),
  });
  yield* writeEnded(ended);
  if (taken.length === 0) return { taken, ended };
  // One statement for every run taken, computing `leased` per row: a run starts at its due time
  // when leased ahead, else now.
  const start = `CASE WHEN \`due_at\` > ? THEN \`due_at\` ELSE ? END`;
  yield* write(
    `UPDATE \`runs\` SET \`status\` = 'running', \`worker_id\` = ?, \`lease_token\` = ?, \`started_at\` = ${start}, \`lease_expires_at\` = ${start} + ?, \`deadline_at\` = CASE WHEN \`timeout_ms\` IS NULL THEN NULL ELSE ${start} + \`timeout_ms\` END, \`updated_at\` = ?, \`due_at\` = NULL WHERE \`id\` IN (${placeholders(taken.length)})`,
    [
      req.workerId,
      req.leaseToken,
      now,
      now,
      now,
      now,
      req.leaseMs,
      now,
      now,
      now,
      ...taken.map((r) => r.id),
    ],
  );
  return { ended, taken };
}
