/**
 * What every concern of the store contract shares: how a suite gets a fresh store of the
 * implementation under test, and builders for schedulers, jobs and runs. Times are fixed
 * instants (the port takes `now` as a parameter), so nothing waits on a clock.
 */
import { afterAll, beforeAll } from "vitest";
import type { EventDraft, LoggedEvent } from "../../../server/src/domain/events.js";
import type { Job, Scheduler } from "../../../server/src/domain/jobs.js";
import type { Lease, Run } from "../../../server/src/domain/runs.js";
import type { Store } from "../../../server/src/store/port.js";

/** An implementation of the port, as the contract suite creates it. */
export interface StoreFactory {
  readonly name: string;
  /** The store honours ClaimRequest.after and answers `through` (the SQL stores). */
  readonly drains?: boolean;
  /**
   * A fresh, empty database: `open` opens a store on it (again for a second node's store on the
   * same database), `drop` removes it once every store opened on it is closed.
   */
  create(): Promise<{ open(): Store; drop(): Promise<void> }>;
}

/** Stores for one `describe`: the first opened and migrated before its tests, all closed after. */
export interface Stores {
  /** The store the tests use. */
  readonly store: Store;
  /** Another store on the same database (another node). */
  another(): Store;
}

export function useStores(factory: StoreFactory): Stores {
  let db: Awaited<ReturnType<StoreFactory["create"]>>;
  const opened: Store[] = [];
  let first: Store | undefined;
  beforeAll(async () => {
    db = await factory.create();
    first = db.open();
    opened.push(first);
    await first.migrate();
  });
  afterAll(async () => {
    for (const s of opened) await s.close();
    await db.drop();
  });
  return {
    get store(): Store {
      if (first === undefined) throw new Error("the store is opened in beforeAll");
      return first;
    },
    another(): Store {
      const s = db.open();
      opened.push(s);
      return s;
    },
  };
}

export const T0 = Date.parse("2030-01-01T00:00:00Z");
export const S = 1000;

export function scheduler(name: string, overrides: Partial<Scheduler> = {}): Scheduler {
  return {
    name,
    timezone: "UTC",
    defaults: { coalesce: true, maxInstances: 1, misfireGraceTimeMs: 60_000 },
    paused: false,
    createdAt: 1_000,
    updatedAt: 1_000,
    version: 1,
    ...overrides,
  };
}

export function job(id: string, overrides: Partial<Job> = {}): Job {
  return {
    scheduler: "default",
    id,
    name: `job ${id}`,
    handler: "reports.daily",
    trigger: { type: "crontab", expression: "0 2 * * *", timezone: "UTC" },
    args: ["user123", 1, true, null, { nested: [1.5] }],
    kwargs: { action: "sync", "unicode ✓": "数据同步" },
    coalesce: true,
    maxInstances: 1,
    misfireGraceTimeMs: 60_000,
    timeoutMs: null,
    retry: null,
    paused: false,
    nextRunTime: 5_000,
    createdAt: 1_000,
    updatedAt: 1_000,
    version: 1,
    ...overrides,
  };
}

let runSeq = 0;

/** A new pending run of `job`, due at `at` (its fire time), with `overrides`. */
export function pendingRun(j: Job, at: number, overrides: Partial<Run> = {}): Run {
  runSeq++;
  return {
    id: `run-${String(runSeq).padStart(6, "0")}-${j.scheduler}-${j.id}`.slice(0, 36),
    scheduler: j.scheduler,
    jobId: j.id,
    jobName: j.name,
    handler: j.handler,
    scheduledTime: at,
    fireTime: at,
    manual: false,
    args: j.args,
    kwargs: j.kwargs,
    timeoutMs: j.timeoutMs,
    retry: j.retry,
    maxInstances: j.maxInstances,
    attempt: 1,
    status: "pending",
    statusReason: "",
    dueAt: at,
    expiresAt: j.misfireGraceTimeMs === null ? null : at + j.misfireGraceTimeMs,
    workerId: null,
    leaseToken: null,
    leaseExpiresAt: null,
    deadlineAt: null,
    startedAt: null,
    finishedAt: null,
    result: undefined,
    error: null,
    createdAt: at - 10 * S,
    updatedAt: at - 10 * S,
    ...overrides,
  };
}

/**
 * Stores a job and one pending run of it (through createManualRun, which inserts the run its
 * function makes); answers the run as stored.
 */
export async function addRun(
  store: Store,
  j: Job,
  at: number,
  overrides: Partial<Run> = {},
): Promise<Run> {
  if ((await store.getJob(j.scheduler, j.id)) === null) await store.insertJob(j);
  // A run of the same job and time exists: the next millisecond (createManualRun's shift).
  const run = await store.createManualRun(j.scheduler, j.id, (_job, shift) =>
    pendingRun(j, at + shift, overrides),
  );
  if (run === null) throw new Error(`no job ${j.id}`);
  const stored = await store.getRun(run.id);
  if (stored === null) throw new Error(`run ${run.id} was not stored`);
  return stored;
}

/** Leases every due run of `handler` to one worker; answers the runs taken. */
export async function lease(
  store: Store,
  handler: string,
  now: number,
  options: { workerId?: string; token?: string; leaseMs?: number; slots?: number } = {},
): Promise<Run[]> {
  const slots = options.slots ?? 10;
  const { taken } = await store.leaseRuns({
    now,
    slots: new Map([[handler, slots]]),
    total: slots,
    workerId: options.workerId ?? "w1",
    leaseToken: options.token ?? "token-1",
    leaseMs: options.leaseMs ?? 30 * S,
    paused: [],
  });
  return taken;
}

export function leaseOf(r: Run): Lease {
  return { runId: r.id, attempt: r.attempt, token: r.leaseToken ?? "" };
}

/** Every event of the log with a cursor (after sequencing them all), read page by page. */
export async function allEvents(store: Store): Promise<EventDraft[]> {
  while ((await store.sequenceEvents(500)) > 0);
  const state = await store.logState();
  const out: LoggedEvent[] = [];
  for (let after = 0; ;) {
    const page = (await store.readEvents(after, state.last, 1_000_000)).events;
    const last = page[page.length - 1];
    if (last === undefined) return out;
    out.push(...page);
    after = last.cursor;
  }
}

/** `value`, which the test knows is there (fails the test otherwise). */
export function must<T>(value: T | undefined | null, what = "value"): T {
  if (value === undefined || value === null) throw new Error(`expected a ${what}`);
  return value;
}
