/**
 * The storage interface, shaped by what the scheduler does rather than by tables. Two
 * implementations: MySQL (production, several nodes) and embedded SQLite (one node). No
 * connection, transaction or row type leaks out; every method is one atomic operation.
 */
import { DomainError } from "../domain/errors.js";
import type { EventDraft } from "../domain/events.js";
import type { Job, Scheduler } from "../domain/jobs.js";
import type { EngineDb } from "./engine/ops.js";

/** The database cannot be reached; the operation may be retried. */
export class StoreUnavailableError extends DomainError {
  readonly kind = "unavailable";
  constructor(override readonly cause: unknown) {
    super("the job store is unavailable");
    this.name = "StoreUnavailableError";
  }
}

export type JobOrder = "next_run_time" | "id";

export interface ListJobsQuery {
  readonly scheduler?: string | undefined;
  readonly handler?: string | undefined;
  readonly paused?: boolean | undefined;
  readonly idPrefix?: string | undefined;
  readonly namePrefix?: string | undefined;
  readonly orderBy: JobOrder;
  readonly pageSize: number;
  /** Keyset position from a previous page (`nextPageToken`). */
  readonly pageToken?: string | undefined;
}

export interface Page<T> {
  readonly items: T[];
  /** Empty when there are no more items. */
  readonly nextPageToken: string;
}

export interface Store {
  /** Apply pending schema migrations (under a lock on MySQL). */
  migrate(): Promise<void>;
  /** Where the firing engine runs its transactions (see store/engine). */
  engineDb(): EngineDb;
  /**
   * Where the event log sequences and reads events: on MySQL a pool of its own, so that the
   * engine's load does not delay events; on SQLite the engine's connection. Commits of events
   * are announced by `engineDb()`.
   */
  eventsDb(): EngineDb;
  /** Round-trip to the database. */
  ping(): Promise<void>;
  close(): Promise<void>;

  getScheduler(name: string): Promise<Scheduler | null>;
  listSchedulers(): Promise<Scheduler[]>;
  /** Insert a scheduler; false when one of that name exists already. */
  insertScheduler(scheduler: Scheduler): Promise<boolean>;
  /**
   * Read a scheduler under a row lock, apply `change` and write its result (unless it returns
   * the same object) with the events `events` makes of the change, in one transaction.
   * Concurrent changes queue instead of failing, so none is lost. `change` may throw to abort.
   * Null when the scheduler does not exist.
   */
  updateScheduler(
    name: string,
    change: (current: Scheduler) => Scheduler,
    events?: (before: Scheduler, after: Scheduler) => readonly EventDraft[],
  ): Promise<Scheduler | null>;

  /** Insert a job with its events; false (nothing written) when (scheduler, id) exists. */
  insertJob(job: Job, events?: readonly EventDraft[]): Promise<boolean>;
  getJob(scheduler: string, id: string): Promise<Job | null>;
  listJobs(query: ListJobsQuery): Promise<Page<Job>>;
  /**
   * The locked read-modify-write of a job, written with the events `events` makes of the new
   * job when it changed. With `now`, runs the engine prepared ahead for the job (fire times
   * after `now`) are withdrawn if the job changes, and its next_run_time rewound to the first of
   * them before `change` sees it.
   */
  updateJob(
    scheduler: string,
    id: string,
    change: (current: Job) => Job,
    now?: number,
    events?: (after: Job) => readonly EventDraft[],
  ): Promise<Job | null>;
  /**
   * Delete a job (only at `expectedVersion` when given) with the events `events` makes of it;
   * false when nothing was deleted.
   */
  deleteJob(
    scheduler: string,
    id: string,
    expectedVersion?: number,
    events?: (deleted: Job) => readonly EventDraft[],
  ): Promise<boolean>;
  /** Delete every job of a scheduler, writing `events`; returns how many. */
  deleteAllJobs(scheduler: string, events?: readonly EventDraft[]): Promise<number>;
}

/** Keyset tokens: opaque to clients, base64url of the last row's sort key. */
export function encodePageToken(key: readonly (string | number)[]): string {
  return Buffer.from(JSON.stringify(key)).toString("base64url");
}

export function decodePageToken(token: string): (string | number)[] | null {
  try {
    const key: unknown = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
    if (Array.isArray(key) && key.every((k) => typeof k === "string" || typeof k === "number"))
      return key;
  } catch {
    // fall through
  }
  return null;
}

/** Sort key for next-run-time order: jobs without a next run time sort last. */
export const NO_NEXT_RUN = Number.MAX_SAFE_INTEGER;
