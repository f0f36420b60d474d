/**
 * The engine's statements and transactions, shared by both stores (see ops.ts). Decisions (which
 * fire times become which runs, what follows a failure) are pure functions passed in from the
 * domain; this module only reads, locks and writes.
 */
import type { Job, JsonObject, JsonValue, RetryPolicy } from "../../domain/jobs.js";
import type { Run, RunError, RunStatus } from "../../domain/runs.js";
import { JOB_COLUMNS, jobFromRow, jobRowCells, jobToRow, type JobRow } from "../rows.js";
import { all, exec, placeholders, type Dialect, type Param, type Row, type Tx } from "./ops.js";

// ---- rows ----

const json = (v: unknown): string => JSON.stringify(v);

/** The runs table's columns and how a Run fills each (booleans as 0/1, JSON as text). */
const RUN_FIELDS: readonly (readonly [column: string, cell: (r: Run) => Param])[] = [
  ["id", (r) => r.id],
  ["scheduler", (r) => r.scheduler],
  ["job_id", (r) => r.jobId],
  ["job_name", (r) => r.jobName],
  ["handler", (r) => r.handler],
  ["scheduled_time", (r) => r.scheduledTime],
  ["fire_time", (r) => r.fireTime],
  ["manual", (r) => (r.manual ? 1 : 0)],
  ["args", (r) => json(r.args)],
  ["kwargs", (r) => json(r.kwargs)],
  ["timeout_ms", (r) => r.timeoutMs],
  ["retry", (r) => (r.retry === null ? null : json(r.retry))],
  ["max_instances", (r) => r.maxInstances],
  ["attempt", (r) => r.attempt],
  ["status", (r) => r.status],
  ["status_reason", (r) => r.statusReason],
  ["due_at", (r) => r.dueAt],
  ["expires_at", (r) => r.expiresAt],
  ["worker_id", (r) => r.workerId],
  ["lease_token", (r) => r.leaseToken],
  ["lease_expires_at", (r) => r.leaseExpiresAt],
  ["deadline_at", (r) => r.deadlineAt],
  ["started_at", (r) => r.startedAt],
  ["finished_at", (r) => r.finishedAt],
  ["result", (r) => (r.result === undefined ? null : json(r.result))],
  ["error", (r) => (r.error === null ? null : json(r.error))],
  ["created_at", (r) => r.createdAt],
  ["updated_at", (r) => r.updatedAt],
];

const RUN_COLUMNS = RUN_FIELDS.map(([column]) => column);

/** The columns that change after a run is created (what writeRun writes). */
const RUN_MUTABLE = new Set([
  "attempt",
  "status",
  "status_reason",
  "due_at",
  "expires_at",
  "worker_id",
  "lease_token",
  "lease_expires_at",
  "deadline_at",
  "started_at",
  "finished_at",
  "result",
  "error",
  "updated_at",
]);
const RUN_MUTABLE_FIELDS = RUN_FIELDS.filter(([column]) => RUN_MUTABLE.has(column));

const RUN_SELECT = RUN_COLUMNS.map((c) => `\`${c}\``).join(", ");

const num = (v: unknown): number => (typeof v === "number" ? v : Number(v));
const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : num(v));
function strOrNull(v: unknown): string | null {
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "bigint") return String(v);
  if (Buffer.isBuffer(v)) return v.toString("utf8");
  return null;
}

export function runFromRow(r: Row): Run {
  const result = strOrNull(r.result);
  const error = strOrNull(r.error);
  const retry = strOrNull(r.retry);
  return {
    id: String(r.id),
    scheduler: String(r.scheduler),
    jobId: String(r.job_id),
    jobName: String(r.job_name),
    handler: String(r.handler),
    scheduledTime: num(r.scheduled_time),
    fireTime: num(r.fire_time),
    manual: num(r.manual) === 1,
    args: JSON.parse(String(r.args)) as JsonValue[],
    kwargs: JSON.parse(String(r.kwargs)) as JsonObject,
    timeoutMs: numOrNull(r.timeout_ms),
    retry: retry === null ? null : (JSON.parse(retry) as RetryPolicy),
    maxInstances: num(r.max_instances),
    attempt: num(r.attempt),
    status: String(r.status) as RunStatus,
    statusReason: String(r.status_reason),
    dueAt: numOrNull(r.due_at),
    expiresAt: numOrNull(r.expires_at),
    workerId: strOrNull(r.worker_id),
    leaseToken: strOrNull(r.lease_token),
    leaseExpiresAt: numOrNull(r.lease_expires_at),
    deadlineAt: numOrNull(r.deadline_at),
    startedAt: numOrNull(r.started_at),
    finishedAt: numOrNull(r.finished_at),
    result: result === null ? undefined : (JSON.parse(result) as JsonValue),
    error: error === null ? null : (JSON.parse(error) as RunError),
    createdAt: num(r.created_at),
    updatedAt: num(r.updated_at),
  };
}

function runCells(r: Run): Param[] {
  return RUN_FIELDS.map(([, cell]) => cell(r));
}

const JOB_SELECT = [
  "`scheduler`",
  "`id`",
  "`name`",
  "`handler`",
  "`trigger`",
  "`args`",
  "`kwargs`",
  "`coalesce`",
  "`max_instances` AS `maxInstances`",
  "`misfire_grace_ms` AS `misfireGraceMs`",
  "`timeout_ms` AS `timeoutMs`",
  "`retry`",
  "`paused`",
  "`next_run_time` AS `nextRunTime`",
  "`created_at` AS `createdAt`",
  "`updated_at` AS `updatedAt`",
  "`version`",
].join(", ");

function jobFromRaw(r: Row): Job {
  return jobFromRow({
    ...(r as unknown as JobRow),
    coalesce: num(r.coalesce) === 1,
    paused: num(r.paused) === 1,
    maxInstances: num(r.maxInstances),
    misfireGraceMs: numOrNull(r.misfireGraceMs),
    timeoutMs: numOrNull(r.timeoutMs),
    nextRunTime: numOrNull(r.nextRunTime),
    createdAt: num(r.createdAt),
    updatedAt: num(r.updatedAt),
    version: num(r.version),
  });
}

const key = (scheduler: string, id: string): string => `${scheduler}\u0000${id}`;

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

// ---- small pieces ----

/** The names of the paused schedulers (their jobs are not claimed, their runs not handed out). */
export function* pausedSchedulers(): Tx<string[]> {
  const rows = yield* all<{ name: string }>("SELECT `name` FROM `schedulers` WHERE `paused` = 1");
  return rows.map((r) => r.name);
}

function notIn(column: string, values: readonly string[]): string {
  return values.length === 0 ? "" : ` AND \`${column}\` NOT IN (${placeholders(values.length)})`;
}

/**
 * Jobs grouped by scheduler, in parts of at most `size`: statements name them as
 * `scheduler = ? AND id IN (…)`, which MySQL and MariaDB resolve on the primary key, where an OR
 * of `(scheduler = ? AND id = ?)` pairs was an order of magnitude slower.
 */
function byScheduler<T extends { scheduler: string }>(
  items: readonly T[],
  size: number,
): [string, T[]][] {
  const groups = new Map<string, T[]>();
  for (const it of items) {
    let g = groups.get(it.scheduler);
    if (g === undefined) groups.set(it.scheduler, (g = []));
    g.push(it);
  }
  return [...groups].flatMap(([scheduler, list]) =>
    chunks(list, size).map((part): [string, T[]] => [scheduler, part]),
  );
}

/** Inserts runs; answers the ids that were new (a run with the same job and time may exist). */
function* insertRuns(d: Dialect, runs: readonly Run[]): Tx<Set<string>> {
  const created = new Set<string>();
  for (const part of chunks(runs, 100)) {
    const row = `(${placeholders(RUN_COLUMNS.length)})`;
    const n = yield* exec(
      `${d.insertIgnore} INTO \`runs\` (${RUN_SELECT}) VALUES ${part.map(() => row).join(", ")}`,
      part.flatMap(runCells),
    );
    if (n === part.length) {
      for (const r of part) created.add(r.id);
    } else if (n > 0) {
      const found = yield* all<{ id: string }>(
        `SELECT \`id\` FROM \`runs\` WHERE \`id\` IN (${placeholders(part.length)})`,
        part.map((r) => r.id),
      );
      for (const f of found) created.add(f.id);
    }
  }
  return created;
}

// ---- firing ----

export interface ClaimResult {
  /** Jobs claimed (due and locked by this transaction). */
  readonly jobs: number;
  /** Runs created (pending, missed or skipped). */
  readonly runs: Run[];
  /** Runs not created because one exists for the same job and fire time. */
  readonly ignored: number;
  /** The paused schedulers, as the claim read them. */
  readonly paused: readonly string[];
  /** Jobs removed because their trigger has no fire time left. */
  readonly ended: readonly Job[];
  /** Jobs paused because they cannot be planned. */
  readonly broken: readonly Job[];
}

/** Null: the job cannot be planned (e.g. a trigger this version cannot read): it is paused. */
export type PlanFn = (job: Job) => { runs: Run[]; nextRunTime: number | null } | null;

/**
 * Claims up to `limit` jobs due by `horizon` (next_run_time <= horizon, scheduler not paused)
 * with row locks that other nodes skip, turns their fire times into runs as `plan` decides
 * (fire times after now become runs due later: prepared ahead), advances their next_run_time,
 * and removes jobs whose trigger has ended. A run that already exists for the same job and fire
 * time is not created again (the unique key).
 */
export function* claimDueJobs(
  d: Dialect,
  horizon: number,
  limit: number,
  plan: PlanFn,
): Tx<ClaimResult> {
  const paused = yield* pausedSchedulers();
  const rows = yield* all(
    `SELECT ${JOB_SELECT} FROM \`jobs\` WHERE \`next_run_time\` <= ?${notIn("scheduler", paused)} ORDER BY \`next_run_time\` LIMIT ?${d.lockSkipLocked}`,
    [horizon, ...paused, limit],
  );
  if (rows.length === 0) return { jobs: 0, runs: [], ignored: 0, paused, ended: [], broken: [] };
  const jobs = rows.map(jobFromRaw);
  const runs: Run[] = [];
  const advance: { scheduler: string; id: string; next: number }[] = [];
  const finished: Job[] = [];
  const broken: Job[] = [];
  for (const job of jobs) {
    const decided = plan(job);
    if (decided === null) {
      broken.push(job);
      continue;
    }
    runs.push(...decided.runs);
    if (decided.nextRunTime === null) finished.push(job);
    else advance.push({ scheduler: job.scheduler, id: job.id, next: decided.nextRunTime });
  }
  const created = yield* insertRuns(d, runs);
  for (const [scheduler, part] of byScheduler(advance, 500)) {
    yield* exec(
      `UPDATE \`jobs\` SET \`next_run_time\` = CASE \`id\` ${part.map(() => "WHEN ? THEN ?").join(" ")} END WHERE \`scheduler\` = ? AND \`id\` IN (${placeholders(part.length)})`,
      [...part.flatMap((a) => [a.id, a.next]), scheduler, ...part.map((a) => a.id)],
    );
  }
  yield* deleteJobs(finished);
  // A job that cannot be planned must not block the others (it would sort first every time).
  for (const [scheduler, part] of byScheduler(broken, 500))
    yield* exec(
      `UPDATE \`jobs\` SET \`paused\` = 1, \`next_run_time\` = NULL WHERE \`scheduler\` = ? AND \`id\` IN (${placeholders(part.length)})`,
      [scheduler, ...part.map((j) => j.id)],
    );
  return {
    jobs: jobs.length,
    runs: runs.filter((r) => created.has(r.id)),
    ignored: runs.length - created.size,
    paused,
    ended: finished,
    broken,
  };
}

/** Runs prepared ahead of their fire time by a claim: pending, scheduled, not yet due. */
const PREPARED = "`status` = 'pending' AND `manual` = 0 AND `attempt` = 1 AND `scheduled_time` > ?";

/**
 * The locked read-modify-write of a job (`change` is pure; returning its argument means "no
 * change"). Runs the engine prepared ahead for the job are withdrawn when the job changes and
 * its next_run_time rewound to the first of them, so the change applies to those fire times
 * too (new arguments, a pause, a new trigger) and none is lost.
 */
export function* updateJobLocked(
  d: Dialect,
  scheduler: string,
  id: string,
  change: (current: Job) => Job,
  now: number | undefined,
): Tx<Job | null> {
  const rows = yield* all(
    `SELECT ${JOB_SELECT} FROM \`jobs\` WHERE \`scheduler\` = ? AND \`id\` = ?${d.lock}`,
    [scheduler, id],
  );
  const row = rows[0];
  if (row === undefined) return null;
  const current = jobFromRaw(row);
  let prepared: number | null = null;
  if (now !== undefined) {
    const found = yield* all(
      `SELECT MIN(\`scheduled_time\`) AS \`t\` FROM \`runs\` WHERE \`scheduler\` = ? AND \`job_id\` = ? AND ${PREPARED}`,
      [scheduler, id, now],
    );
    prepared = numOrNull(found[0]?.t);
  }
  const base =
    prepared !== null && (current.nextRunTime === null || current.nextRunTime > prepared)
      ? { ...current, nextRunTime: prepared }
      : current;
  const next = change(base);
  if (next === base) return current;
  if (prepared !== null)
    yield* exec(`DELETE FROM \`runs\` WHERE \`scheduler\` = ? AND \`job_id\` = ? AND ${PREPARED}`, [
      scheduler,
      id,
      now ?? 0,
    ]);
  yield* exec(
    `UPDATE \`jobs\` SET ${JOB_COLUMNS.map(([, c]) => `\`${c}\` = ?`).join(", ")} WHERE \`scheduler\` = ? AND \`id\` = ?`,
    [...jobRowCells(jobToRow(next)), scheduler, id],
  );
  return next;
}

/** Deletes jobs (their runs stay). */
function* deleteJobs(list: readonly Job[]): Tx<void> {
  for (const [scheduler, part] of byScheduler(list, 500)) {
    yield* exec(
      `DELETE FROM \`jobs\` WHERE \`scheduler\` = ? AND \`id\` IN (${placeholders(part.length)})`,
      [scheduler, ...part.map((j) => j.id)],
    );
  }
}

/** The earliest next_run_time of a job whose scheduler is not paused. */
export function* nextDueTime(paused: readonly string[]): Tx<number | null> {
  const rows = yield* all(
    `SELECT \`next_run_time\` AS \`t\` FROM \`jobs\` WHERE \`next_run_time\` IS NOT NULL${notIn("scheduler", paused)} ORDER BY \`next_run_time\` LIMIT 1`,
    paused,
  );
  return rows[0] === undefined ? null : num(rows[0].t);
}

/** Jobs of these schedulers due by `horizon`, earliest first (those of paused schedulers wait). */
export function* dueJobsOf(
  schedulers: readonly string[],
  horizon: number,
  limit: number,
): Tx<{ scheduler: string; id: string; handler: string; nextRunTime: number }[]> {
  if (schedulers.length === 0) return [];
  const rows = yield* all(
    `SELECT \`scheduler\`, \`id\`, \`handler\`, \`next_run_time\` AS \`t\` FROM \`jobs\` WHERE \`scheduler\` IN (${placeholders(schedulers.length)}) AND \`next_run_time\` <= ? ORDER BY \`next_run_time\` LIMIT ?`,
    [...schedulers, horizon, limit],
  );
  return rows.map((r) => ({
    scheduler: String(r.scheduler),
    id: String(r.id),
    handler: String(r.handler),
    nextRunTime: num(r.t),
  }));
}

/** A manual run of a job, made by `make` from the job (locked). */
export function* createManualRun(
  d: Dialect,
  scheduler: string,
  jobId: string,
  make: (job: Job, shift: number) => Run,
): Tx<Run | null> {
  const rows = yield* all(
    `SELECT ${JOB_SELECT} FROM \`jobs\` WHERE \`scheduler\` = ? AND \`id\` = ?${d.lock}`,
    [scheduler, jobId],
  );
  const row = rows[0];
  if (row === undefined) return null;
  const job = jobFromRaw(row);
  // Two manual runs requested in the same millisecond: the second takes the next one.
  for (let shift = 0; ; shift++) {
    const run = make(job, shift);
    if ((yield* insertRuns(d, [run])).has(run.id)) return run;
  }
}

// ---- dispatch ----

export interface LeaseRequest {
  /** Free slots per handler (already bounded by the worker's total). */
  readonly slots: ReadonlyMap<string, number>;
  readonly total: number;
  readonly workerId: string;
  readonly leaseToken: string;
  readonly leaseMs: number;
  /** Paused schedulers, whose runs wait (read once per dispatch pass). */
  readonly paused: readonly string[];
  /**
   * Runs due by this instant (>= now) are leased; those due after now are leased ahead, to be
   * sent at their due time by the session's node: their start, lease and timeout count from it.
   * Only runs whose job has none running are leased ahead (max_instances cannot change then).
   */
  readonly dueBy?: number;
}

export interface LeaseResult {
  /** Runs now running under the lease. */
  readonly taken: Run[];
  /** Runs ended at hand-out: skipped (max_instances runs of their job running) or missed
   * (their misfire grace ran out while they waited). */
  readonly ended: Run[];
}

/**
 * Hands due pending runs of these handlers to one worker: each becomes running under the given
 * lease, with its timeout deadline counted from now. This is when max_instances is decided: a
 * run whose job already has that many runs running is recorded as skipped. The job rows are
 * locked for the decision (runs of a job locked elsewhere wait for the next pass). Runs of
 * paused schedulers wait; runs past their misfire grace are left to the sweeper (missed).
 */
export function* leaseRuns(
  d: Dialect,
  now: number,
  req: LeaseRequest,
  skip: (run: Run, running: number) => Run | null,
): Tx<LeaseResult> {
  const handlers = [...req.slots.keys()];
  if (handlers.length === 0 || req.total <= 0) return { taken: [], ended: [] };
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
  if (rows.length === 0) return { taken: [], ended: [] };
  const candidates = rows.map(runFromRow).sort((a, b) => (a.dueAt ?? 0) - (b.dueAt ?? 0));
  // Lock the jobs whose max_instances is decided (a removed job has no row: nothing to lock).
  const jobKeys = [
    ...new Map(
      candidates.map((r) => [key(r.scheduler, r.jobId), { scheduler: r.scheduler, id: r.jobId }]),
    ).values(),
  ];
  const existing = new Set<string>();
  const locked = new Set<string>();
  const running = new Map<string, number>();
  for (const [scheduler, part] of byScheduler(jobKeys, 500)) {
    const ids = part.map((j) => j.id);
    const marks = placeholders(ids.length);
    for (const r of yield* all(
      `SELECT \`id\` FROM \`jobs\` WHERE \`scheduler\` = ? AND \`id\` IN (${marks})${d.lockSkipLocked}`,
      [scheduler, ...ids],
    ))
      locked.add(key(scheduler, String(r.id)));
    // Of the others, which exist (locked elsewhere) rather than are gone (a removed date job)?
    const others = ids.filter((id) => !locked.has(key(scheduler, id)));
    if (others.length > 0)
      for (const r of yield* all(
        `SELECT \`id\` FROM \`jobs\` WHERE \`scheduler\` = ? AND \`id\` IN (${placeholders(others.length)})`,
        [scheduler, ...others],
      ))
        existing.add(key(scheduler, String(r.id)));
    for (const r of yield* all(
      `SELECT \`job_id\`, COUNT(*) AS \`n\` FROM \`runs\` WHERE \`scheduler\` = ? AND \`job_id\` IN (${marks}) AND \`status\` = 'running' GROUP BY \`job_id\``,
      [scheduler, ...ids],
    ))
      running.set(key(scheduler, String(r.job_id)), num(r.n));
  }
  const left = new Map(req.slots);
  const taken: Run[] = [];
  const ended: Run[] = [];
  for (const run of candidates) {
    if (run.expiresAt !== null && run.expiresAt < now) {
      // Its misfire grace ran out while it waited: the oldest runs come first, so the hand-out
      // records them as the sweeper would.
      ended.push(missedRun(run, now));
      continue;
    }
    const k = key(run.scheduler, run.jobId);
    if (existing.has(k)) continue; // its job is being changed or claimed: next pass
    const n = running.get(k) ?? 0;
    const early = (run.dueAt ?? now) > now;
    // Ahead only for a first attempt of a job with none running: a retry waits for its
    // retry_at (the worker starts early runs at their fire time), max_instances cannot change.
    if (early && (n > 0 || run.attempt > 1)) continue;
    const skippedRun = early ? null : skip(run, n);
    if (skippedRun !== null) {
      ended.push(skippedRun);
      continue;
    }
    const free = left.get(run.handler) ?? 0;
    if (free <= 0) continue;
    left.set(run.handler, free - 1);
    running.set(k, n + 1);
    taken.push(run);
  }
  for (const r of ended) yield* writeRun(r);
  if (taken.length === 0) return { taken, ended };
  // Starts count from the due time of a run leased ahead, else from now. expires_at stays, so a
  // run handed back before it was sent (its session ended) keeps its misfire deadline.
  const start = `CASE WHEN \`due_at\` > ? THEN \`due_at\` ELSE ? END`;
  yield* exec(
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
  return {
    ended,
    taken: taken.map((r) => {
      const started = Math.max(now, r.dueAt ?? now);
      return {
        ...r,
        status: "running",
        workerId: req.workerId,
        leaseToken: req.leaseToken,
        leaseExpiresAt: started + req.leaseMs,
        startedAt: started,
        updatedAt: now,
        dueAt: null,
        deadlineAt: r.timeoutMs === null ? null : started + r.timeoutMs,
      };
    }),
  };
}

/**
 * Hands back runs leased ahead that were never sent (their session ended first): pending again,
 * same attempt, due at the time they were to start.
 */
export function* releaseLeases(now: number, leases: readonly Lease[]): Tx<number> {
  if (leases.length === 0) return 0;
  const ids = placeholders(leases.length);
  return yield* exec(
    `UPDATE \`runs\` SET \`status\` = 'pending', \`due_at\` = \`started_at\`, \`started_at\` = NULL, \`worker_id\` = NULL, \`lease_token\` = NULL, \`lease_expires_at\` = NULL, \`deadline_at\` = NULL, \`updated_at\` = ? WHERE \`status\` = 'running' AND \`id\` IN (${ids}) AND CONCAT(\`id\`, '/', \`attempt\`, '/', \`lease_token\`) IN (${ids})`,
    [
      now,
      ...leases.map((l) => l.runId),
      ...leases.map((l) => `${l.runId}/${String(l.attempt)}/${l.token}`),
    ],
  );
}

/** The earliest due time of a pending run of these handlers (the dispatcher sleeps until it). */
export function* nextPendingDue(
  handlers: readonly string[],
  paused: readonly string[],
): Tx<number | null> {
  if (handlers.length === 0) return null;
  const rows = yield* all(
    `SELECT MIN(\`due_at\`) AS \`t\` FROM \`runs\` WHERE \`status\` = 'pending' AND \`handler\` IN (${placeholders(handlers.length)})${notIn("scheduler", paused)}`,
    [...handlers, ...paused],
  );
  return numOrNull(rows[0]?.t);
}

export interface Lease {
  readonly runId: string;
  readonly attempt: number;
  readonly token: string;
}

/**
 * Extends the leases that are still their run's current, unexpired lease to now + leaseMs
 * (moving them to `workerId`); answers the others (lost).
 */
export function* extendLeases(
  now: number,
  leases: readonly Lease[],
  leaseMs: number,
  workerId: string,
): Tx<Lease[]> {
  if (leases.length === 0) return [];
  const lost: Lease[] = [];
  for (const part of chunks(leases, 200)) {
    // The run ids select rows by primary key; attempt and token are then checked per row.
    const ids = placeholders(part.length);
    const match = `\`id\` IN (${ids}) AND CONCAT(\`id\`, '/', \`attempt\`, '/', \`lease_token\`) IN (${ids})`;
    const params = [
      ...part.map((l) => l.runId),
      ...part.map((l) => `${l.runId}/${String(l.attempt)}/${l.token}`),
    ];
    const n = yield* exec(
      `UPDATE \`runs\` SET \`lease_expires_at\` = ?, \`worker_id\` = ?, \`updated_at\` = ? WHERE \`status\` = 'running' AND \`lease_expires_at\` >= ? AND ${match}`,
      [now + leaseMs, workerId, now, now, ...params],
    );
    if (n === part.length) continue;
    const current = yield* all(
      `SELECT \`id\`, \`attempt\`, \`lease_token\` FROM \`runs\` WHERE \`status\` = 'running' AND \`lease_expires_at\` = ? AND ${match}`,
      [now + leaseMs, ...params],
    );
    const ok = new Set(current.map((r) => `${String(r.id)}/${String(r.attempt)}`));
    for (const l of part) if (!ok.has(`${l.runId}/${String(l.attempt)}`)) lost.push(l);
  }
  return lost;
}

/** The handler of each of these runs. */
export function* runHandlers(ids: readonly string[]): Tx<Map<string, string>> {
  const out = new Map<string, string>();
  for (const part of chunks(ids, 500)) {
    for (const r of yield* all(
      `SELECT \`id\`, \`handler\` FROM \`runs\` WHERE \`id\` IN (${placeholders(part.length)})`,
      part,
    ))
      out.set(String(r.id), String(r.handler));
  }
  return out;
}

/** For each lease: is it still its run's current running lease? (false: stop the handler) */
export function* leaseStates(
  leases: readonly Lease[],
): Tx<Map<string, { status: RunStatus; reason: string; current: boolean }>> {
  const out = new Map<string, { status: RunStatus; reason: string; current: boolean }>();
  for (const part of chunks(leases, 200)) {
    const rows = yield* all(
      `SELECT \`id\`, \`attempt\`, \`lease_token\`, \`status\`, \`status_reason\` FROM \`runs\` WHERE \`id\` IN (${placeholders(part.length)})`,
      part.map((l) => l.runId),
    );
    const byId = new Map(rows.map((r) => [String(r.id), r]));
    for (const l of part) {
      const r = byId.get(l.runId);
      const status = (r === undefined ? "failed" : String(r.status)) as RunStatus;
      out.set(l.runId, {
        status,
        reason: r === undefined ? "" : String(r.status_reason),
        current:
          r !== undefined &&
          status === "running" &&
          num(r.attempt) === l.attempt &&
          String(r.lease_token) === l.token,
      });
    }
  }
  return out;
}

// ---- results ----

export type Outcome =
  | { readonly kind: "success"; readonly result: JsonValue | undefined }
  | { readonly kind: "error"; readonly error: RunError };

export type Verdict =
  /** `recorded`: by this call (false: a repeat of a result recorded before). */
  | { readonly accepted: true; readonly run: Run; readonly recorded: boolean }
  | {
      readonly accepted: false;
      readonly reason: "lease_expired" | "cancelled" | "timed_out" | "unknown_lease";
      readonly run: Run | null;
    };

/** What a failed attempt leads to: the next state of the run (pending for a retry, or final). */
export type FailFn = (run: Run, error: RunError) => Run;

/**
 * Records the outcomes of several attempts in one transaction. Each is accepted only for its
 * run's current lease (run id, attempt and token, run still running); a repeat of an accepted
 * result for the same lease is accepted again without a change.
 */
export function* completeRuns(
  d: Dialect,
  now: number,
  items: readonly { lease: Lease; outcome: Outcome }[],
  fail: FailFn,
): Tx<Verdict[]> {
  const ids = [...new Set(items.map((i) => i.lease.runId))];
  const rows = yield* all(
    `SELECT ${RUN_SELECT} FROM \`runs\` WHERE \`id\` IN (${placeholders(ids.length)})${d.lock}`,
    ids,
  );
  const runs = new Map(rows.map((r) => [String(r.id), runFromRow(r)]));
  const verdicts: Verdict[] = [];
  const succeeded: { run: Run; result: string | null }[] = [];
  for (const { lease, outcome } of items) {
    const run = runs.get(lease.runId);
    const same =
      run !== undefined && run.attempt === lease.attempt && run.leaseToken === lease.token;
    if (run === undefined || !same) {
      verdicts.push({
        accepted: false,
        reason:
          run === undefined || run.attempt < lease.attempt ? "unknown_lease" : "lease_expired",
        run: run ?? null,
      });
      continue;
    }
    if (run.status !== "running") {
      if (run.status === "cancelled" || run.status === "timed_out")
        verdicts.push({ accepted: false, reason: run.status, run });
      else if (run.status === "failed" && run.error?.type === "LeaseExpired")
        // The lease expired before this result came: the run failed without it.
        verdicts.push({ accepted: false, reason: "lease_expired", run });
      else if (run.status === "succeeded" || run.status === "failed")
        // A repeat of a result that was already recorded.
        verdicts.push({ accepted: true, run, recorded: false });
      else verdicts.push({ accepted: false, reason: "lease_expired", run });
      continue;
    }
    let next: Run;
    if (outcome.kind === "success") {
      next = {
        ...run,
        status: "succeeded",
        result: outcome.result === undefined ? null : outcome.result,
        leaseExpiresAt: null,
        deadlineAt: null,
        finishedAt: now,
        updatedAt: now,
      };
      succeeded.push({ run: next, result: JSON.stringify(next.result) });
    } else {
      next = fail(run, outcome.error);
      yield* writeRun(next);
    }
    runs.set(run.id, next);
    verdicts.push({ accepted: true, run: next, recorded: true });
  }
  for (const part of chunks(succeeded, 200)) {
    yield* exec(
      "UPDATE `runs` SET `status` = 'succeeded', `lease_expires_at` = NULL, `deadline_at` = NULL, `finished_at` = ?, `updated_at` = ?, `result` = CASE `id` " +
        part.map(() => "WHEN ? THEN ?").join(" ") +
        ` END WHERE \`id\` IN (${placeholders(part.length)})`,
      [now, now, ...part.flatMap((s) => [s.run.id, s.result]), ...part.map((s) => s.run.id)],
    );
  }
  return verdicts;
}

/** Writes every mutable column of a run. */
function* writeRun(r: Run): Tx<void> {
  yield* exec(
    `UPDATE \`runs\` SET ${RUN_MUTABLE_FIELDS.map(([c]) => `\`${c}\` = ?`).join(", ")} WHERE \`id\` = ?`,
    [...RUN_MUTABLE_FIELDS.map(([, cell]) => cell(r)), r.id],
  );
}

// ---- cancellation ----

export type CancelOutcome =
  | { readonly kind: "not_found" }
  | { readonly kind: "final"; readonly run: Run }
  | {
      readonly kind: "cancelled";
      readonly run: Run;
      readonly wasRunning: boolean;
      /** By this call (false: it was cancelled before). */
      readonly changed: boolean;
    };

export function* cancelRun(
  d: Dialect,
  now: number,
  runId: string,
  reason: string,
): Tx<CancelOutcome> {
  const rows = yield* all(`SELECT ${RUN_SELECT} FROM \`runs\` WHERE \`id\` = ?${d.lock}`, [runId]);
  const row = rows[0];
  if (row === undefined) return { kind: "not_found" };
  const run = runFromRow(row);
  if (run.status === "cancelled")
    return { kind: "cancelled", run, wasRunning: false, changed: false };
  if (run.status !== "pending" && run.status !== "running") return { kind: "final", run };
  const next: Run = {
    ...run,
    status: "cancelled",
    statusReason: reason,
    dueAt: null,
    expiresAt: null,
    leaseExpiresAt: null,
    deadlineAt: null,
    finishedAt: now,
    updatedAt: now,
  };
  yield* writeRun(next);
  return { kind: "cancelled", run: next, wasRunning: run.status === "running", changed: true };
}

/**
 * Cancels the pending runs of a removed job (or of every job of a scheduler, `jobId` null):
 * they are never handed out. Running runs continue (as in APScheduler, removing a job does
 * not stop an execution in progress).
 */
export function* cancelPendingRuns(
  d: Dialect,
  now: number,
  scheduler: string,
  jobId: string | null,
): Tx<Run[]> {
  const job = jobId === null ? "" : " AND `job_id` = ?";
  const params = jobId === null ? [scheduler] : [scheduler, jobId];
  // Runs prepared ahead for fire times still to come are withdrawn (the row would keep the
  // (job, fire time) key taken, and a job added again with the same id would lose that fire);
  // the others, already due, are recorded as cancelled.
  yield* exec(`DELETE FROM \`runs\` WHERE \`scheduler\` = ?${job} AND ${PREPARED}`, [
    ...params,
    now,
  ]);
  const pending = (yield* all(
    `SELECT ${RUN_SELECT} FROM \`runs\` WHERE \`scheduler\` = ?${job} AND \`status\` = 'pending'${d.lock}`,
    params,
  )).map(runFromRow);
  const cancelled: Run[] = [];
  for (const part of chunks(pending, 500)) {
    yield* exec(
      `UPDATE \`runs\` SET \`status\` = 'cancelled', \`status_reason\` = 'job removed', \`due_at\` = NULL, \`expires_at\` = NULL, \`finished_at\` = ?, \`updated_at\` = ? WHERE \`status\` = 'pending' AND \`id\` IN (${placeholders(part.length)})`,
      [now, now, ...part.map((r) => r.id)],
    );
    for (const r of part)
      cancelled.push({
        ...r,
        status: "cancelled",
        statusReason: "job removed",
        dueAt: null,
        expiresAt: null,
        finishedAt: now,
        updatedAt: now,
      });
  }
  return cancelled;
}

/**
 * A scheduler paused since `since` is about to be resumed: the runs prepared before the pause
 * for fire times during or after it are withdrawn, and their jobs' next_run_time rewound
 * to the first of them, so that those fire times go through the misfire rules (coalesce, grace)
 * as the pause's other fire times do.
 */
export function* withdrawPreparedSince(d: Dialect, scheduler: string, since: number): Tx<number> {
  const prepared = yield* all(
    "SELECT `job_id`, MIN(`scheduled_time`) AS `t` FROM `runs` WHERE `scheduler` = ? AND `status` = 'pending' AND `manual` = 0 AND `attempt` = 1 AND `scheduled_time` >= ? GROUP BY `job_id`",
    [scheduler, since],
  );
  if (prepared.length === 0) return 0;
  const first = new Map(prepared.map((r) => [String(r.job_id), num(r.t)]));
  for (const part of chunks([...first.keys()], 500)) {
    const jobs = yield* all(
      `SELECT \`id\`, \`next_run_time\` AS \`t\` FROM \`jobs\` WHERE \`scheduler\` = ? AND \`paused\` = 0 AND \`id\` IN (${placeholders(part.length)})${d.lock}`,
      [scheduler, ...part],
    );
    for (const j of jobs) {
      const t = first.get(String(j.id));
      const next = numOrNull(j.t);
      if (t !== undefined && (next === null || t < next))
        yield* exec("UPDATE `jobs` SET `next_run_time` = ? WHERE `scheduler` = ? AND `id` = ?", [
          t,
          scheduler,
          String(j.id),
        ]);
    }
  }
  return yield* exec(
    "DELETE FROM `runs` WHERE `scheduler` = ? AND `status` = 'pending' AND `manual` = 0 AND `attempt` = 1 AND `scheduled_time` >= ?",
    [scheduler, since],
  );
}

// ---- sweeps ----

function missedRun(r: Run, now: number): Run {
  return {
    ...r,
    status: "missed",
    statusReason: `no worker took it within its misfire grace (due ${new Date(r.fireTime).toISOString()})`,
    dueAt: null,
    expiresAt: null,
    finishedAt: now,
    updatedAt: now,
  };
}

export interface SweepResult {
  readonly missed: Run[];
  readonly expired: Run[];
  readonly timedOut: Run[];
}

/**
 * One pass of the sweeper, up to `limit` runs of each kind: pending runs past their misfire
 * grace become missed; running runs whose lease expired are retried or failed (`fail`);
 * running runs past their timeout become timed_out.
 */
export function* sweep(
  d: Dialect,
  now: number,
  limit: number,
  fail: FailFn,
  misfires: boolean,
  leases = true,
): Tx<SweepResult> {
  // Pending runs are scanned for misfires only when asked (every few seconds): the hand-out
  // records the missed runs of handlers with workers as it meets them.
  const missedRows = !misfires
    ? []
    : yield* all(
        `SELECT ${RUN_SELECT} FROM \`runs\` WHERE \`status\` = 'pending' AND \`expires_at\` < ? ORDER BY \`expires_at\` LIMIT ?${d.lockSkipLocked}`,
        [now, limit],
      );
  const missed = missedRows.map(runFromRow).map((r) => missedRun(r, now));
  if (missed.length > 0) {
    yield* exec(
      `UPDATE \`runs\` SET \`status\` = 'missed', \`status_reason\` = CASE \`id\` ${missed.map(() => "WHEN ? THEN ?").join(" ")} END, \`due_at\` = NULL, \`expires_at\` = NULL, \`finished_at\` = ?, \`updated_at\` = ? WHERE \`id\` IN (${placeholders(missed.length)})`,
      [...missed.flatMap((r) => [r.id, r.statusReason]), now, now, ...missed.map((r) => r.id)],
    );
  }
  const timedOutRows = yield* all(
    `SELECT ${RUN_SELECT} FROM \`runs\` WHERE \`status\` = 'running' AND \`deadline_at\` <= ? ORDER BY \`deadline_at\` LIMIT ?${d.lockSkipLocked}`,
    [now, limit],
  );
  const timedOut = timedOutRows.map(runFromRow).map((r) => timedOutRun(r, now));
  for (const r of timedOut) yield* writeRun(r);
  const expiredRows = !leases
    ? []
    : yield* all(
        `SELECT ${RUN_SELECT} FROM \`runs\` WHERE \`status\` = 'running' AND \`lease_expires_at\` < ? ORDER BY \`lease_expires_at\` LIMIT ?${d.lockSkipLocked}`,
        [now, limit],
      );
  const expired = expiredRows
    .map(runFromRow)
    .filter((r) => !timedOut.some((t) => t.id === r.id))
    .map((r) =>
      fail(r, {
        message: `the lease of worker ${r.workerId ?? "?"} expired (no heartbeat)`,
        type: "LeaseExpired",
        stack: "",
        nonRetryable: false,
      }),
    );
  for (const r of expired) yield* writeRun(r);
  return { missed, expired, timedOut };
}

export function timedOutRun(r: Run, now: number): Run {
  return {
    ...r,
    status: "timed_out",
    statusReason: `timeout of ${String((r.timeoutMs ?? 0) / 1000)}s passed`,
    error: {
      message: `the job's timeout (${String((r.timeoutMs ?? 0) / 1000)}s) passed`,
      type: "TimeoutError",
      stack: "",
      nonRetryable: true,
    },
    leaseExpiresAt: null,
    deadlineAt: null,
    finishedAt: now,
    updatedAt: now,
  };
}

/** Ends one running attempt as timed out if it is still running under this lease. */
export function* timeOutRun(d: Dialect, now: number, lease: Lease): Tx<Run | null> {
  const rows = yield* all(`SELECT ${RUN_SELECT} FROM \`runs\` WHERE \`id\` = ?${d.lock}`, [
    lease.runId,
  ]);
  const row = rows[0];
  if (row === undefined) return null;
  const run = runFromRow(row);
  if (run.status !== "running" || run.attempt !== lease.attempt || run.leaseToken !== lease.token)
    return null;
  const next = timedOutRun(run, now);
  yield* writeRun(next);
  return next;
}

/** Deletes up to `limit` runs that ended before `before`; answers how many. */
export function* deleteOldRuns(before: number, limit: number): Tx<number> {
  // By fire time, per scheduler (runs_scheduler_scheduled_time): an index on the end time
  // would cost an update on every run. Only ended runs go.
  const schedulers = yield* all<{ scheduler: string }>("SELECT DISTINCT `scheduler` FROM `runs`");
  let deleted = 0;
  for (const { scheduler } of schedulers) {
    const rows = yield* all(
      "SELECT `id` FROM `runs` WHERE `scheduler` = ? AND `scheduled_time` < ? AND `status` NOT IN ('pending', 'running') ORDER BY `scheduled_time` LIMIT ?",
      [scheduler, before, limit - deleted],
    );
    if (rows.length > 0)
      deleted += yield* exec(
        `DELETE FROM \`runs\` WHERE \`id\` IN (${placeholders(rows.length)})`,
        rows.map((r) => String(r.id)),
      );
    if (deleted >= limit) break;
  }
  return deleted;
}

// ---- reads ----

export function* getRun(runId: string): Tx<Run | null> {
  const rows = yield* all(`SELECT ${RUN_SELECT} FROM \`runs\` WHERE \`id\` = ?`, [runId]);
  return rows[0] === undefined ? null : runFromRow(rows[0]);
}

export interface ListRunsQuery {
  readonly scheduler: string;
  readonly jobId?: string | undefined;
  readonly statuses: readonly RunStatus[];
  readonly limit: number;
  /** Keyset: runs strictly before (scheduled_time, id) in the descending order. */
  readonly after?: { readonly scheduledTime: number; readonly id: string } | undefined;
}

export function* listRuns(q: ListRunsQuery): Tx<Run[]> {
  const where = ["`scheduler` = ?"];
  const params: Param[] = [q.scheduler];
  if (q.jobId !== undefined) {
    where.push("`job_id` = ?");
    params.push(q.jobId);
  }
  if (q.statuses.length > 0) {
    where.push(`\`status\` IN (${placeholders(q.statuses.length)})`);
    params.push(...q.statuses);
  }
  if (q.after !== undefined) {
    where.push("(`scheduled_time` < ? OR (`scheduled_time` = ? AND `id` < ?))");
    params.push(q.after.scheduledTime, q.after.scheduledTime, q.after.id);
  }
  const rows = yield* all(
    `SELECT ${RUN_SELECT} FROM \`runs\` WHERE ${where.join(" AND ")} ORDER BY \`scheduled_time\` DESC, \`id\` DESC LIMIT ?`,
    [...params, q.limit],
  );
  return rows.map(runFromRow);
}
