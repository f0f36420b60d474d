/**
 * Job and scheduler management: the use cases behind the API. Validates input, applies scheduler
 * defaults, computes next run times with the trigger engine, and writes through the store with
 * compare-and-set versions so that concurrent requests on several nodes lose no update.
 */
import type { Clock } from "../clock.js";
import {
  AlreadyExistsError,
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
} from "../domain/errors.js";
import {
  DEFAULT_LIMITS,
  checkHandler,
  checkId,
  checkName,
  checkPayload,
  checkRetry,
  checkSettings,
  checkTimeout,
  type Job,
  type JobSettings,
  type JsonObject,
  type JsonValue,
  type Limits,
  type RetryPolicy,
  type Scheduler,
} from "../domain/jobs.js";
import {
  compileTrigger,
  fireTimes,
  ZoneRules,
  type Trigger,
  type TriggerSpec,
  MAX_INSTANT,
  intervalMs,
} from "../domain/triggers/index.js";
import { jobEvent, runEvents, schedulerEvent } from "../domain/events.js";
import type { ListJobsQuery, ManagementStore, Page } from "../store/port.js";
import { randomUUID } from "node:crypto";
import { isDeepStrictEqual } from "node:util";

export type ConflictPolicy = "error" | "replace" | "keep_existing";

/** A job validated and built, ready to be added (see JobManager.prepareJob). */
export interface PreparedJob {
  readonly scheduler: Scheduler;
  readonly id: string;
  readonly input: JobInput;
  readonly now: number;
  readonly fresh: Job;
}

/** A trigger as the caller gives it: the time zone may be empty (the scheduler's) and an interval may lack its start. */
export type TriggerInput = TriggerSpec;

export interface JobInput {
  readonly scheduler?: string | undefined;
  readonly id?: string | undefined;
  readonly name?: string | undefined;
  readonly handler: string;
  readonly trigger: TriggerInput;
  readonly args?: JsonValue[] | undefined;
  readonly kwargs?: JsonObject | undefined;
  readonly coalesce?: boolean | undefined;
  readonly maxInstances?: number | undefined;
  /** undefined = the scheduler's default; null = no limit. */
  readonly misfireGraceTimeMs?: number | null | undefined;
  readonly timeoutMs?: number | null | undefined;
  readonly retry?: RetryPolicy | null | undefined;
  readonly paused?: boolean | undefined;
}

/** Any subset of a job's input; ModifyJob reads the fields its mask names. */
export type JobPatch = { readonly [K in keyof JobInput]?: JobInput[K] | undefined };

/** Fields a modification may change (the API's field mask names, snake_case). */
export const MODIFIABLE_FIELDS = [
  "name",
  "handler",
  "trigger",
  "args",
  "kwargs",
  "coalesce",
  "max_instances",
  "misfire_grace_time",
  "timeout",
  "retry",
] as const;
export type ModifiableField = (typeof MODIFIABLE_FIELDS)[number];

export interface ServerDefaults {
  readonly timezone: string;
  readonly settings: JobSettings;
}

const DEFAULT_SCHEDULER = "default";
/**
 * How long a node reuses a scheduler's settings (time zone, job defaults) for adding and
 * modifying jobs before reading them again: a change made through another node reaches this one
 * within this time; a change made here applies at once. Saves a query per AddJob.
 */
const SCHEDULER_CACHE_MS = 1000;

export class JobManager {
  private readonly schedulers = new Map<string, { scheduler: Scheduler; at: number }>();

  constructor(
    private readonly store: ManagementStore,
    private readonly clock: Clock,
    private readonly defaults: ServerDefaults,
    private readonly limits: Limits = DEFAULT_LIMITS,
    /** This node's id, recorded in the events of the changes made through it. */
    private readonly nodeId = "local",
  ) {}

  // ---- schedulers ----

  /** The scheduler, created with the server defaults on first use. */
  async scheduler(name: string = DEFAULT_SCHEDULER): Promise<Scheduler> {
    return (await this.ensureScheduler(name)).scheduler;
  }

  /** The scheduler, created with the server defaults if needed (`created`: by this call). */
  private async ensureScheduler(name: string): Promise<{ scheduler: Scheduler; created: boolean }> {
    checkId(name, "scheduler", this.limits);
    const known = await this.settingsOf(name);
    if (known.version > 0) return { scheduler: known, created: false };
    const created = this.defaultScheduler(name, 1);
    if (await this.store.insertScheduler(created))
      return { scheduler: this.remember(created), created: true };
    // Another request created it first: schedulers are never deleted, so it is there now.
    const raced = await this.store.getScheduler(name);
    if (!raced) throw new NotFoundError(`scheduler ${JSON.stringify(name)}`);
    return { scheduler: this.remember(raced), created: false };
  }

  /** A scheduler with the server defaults, as created now (version 0: not stored). */
  private defaultScheduler(name: string, version: number): Scheduler {
    const now = this.clock.now();
    return {
      name,
      timezone: this.defaults.timezone,
      defaults: this.defaults.settings,
      paused: false,
      createdAt: now,
      updatedAt: now,
      version,
    };
  }

  /** A scheduler's settings without creating it (the server defaults when it does not exist). */
  private async settingsOf(name: string): Promise<Scheduler> {
    const cached = this.schedulers.get(name);
    if (cached && performance.now() - cached.at < SCHEDULER_CACHE_MS) return cached.scheduler;
    const found = await this.store.getScheduler(name);
    if (found) return this.remember(found);
    return this.defaultScheduler(name, 0);
  }

  private remember(scheduler: Scheduler): Scheduler {
    if (this.schedulers.size >= 10_000) this.schedulers.clear();
    this.schedulers.set(scheduler.name, { scheduler, at: performance.now() });
    return scheduler;
  }

  async getScheduler(name: string): Promise<Scheduler> {
    checkId(name, "name", this.limits);
    const found = await this.store.getScheduler(name);
    if (!found) throw new NotFoundError(`scheduler ${JSON.stringify(name)}`);
    return found;
  }

  listSchedulers(): Promise<Scheduler[]> {
    return this.store.listSchedulers();
  }

  /** Change a scheduler's time zone, job defaults or paused state (creating it if needed). */
  async configureScheduler(
    name: string,
    patch: {
      timezone?: string | undefined;
      defaults?: Partial<JobSettings> | undefined;
      paused?: boolean | undefined;
    },
  ): Promise<{ scheduler: Scheduler; created: boolean }> {
    const timezone =
      patch.timezone === undefined ? undefined : ZoneRules.of(patch.timezone, "timezone").name;
    return this.updateScheduler(name, (s) => {
      const defaults = checkSettings({ ...s.defaults, ...patch.defaults }, "job_defaults.");
      return { ...s, timezone: timezone ?? s.timezone, defaults, paused: patch.paused ?? s.paused };
    });
  }

  private async updateScheduler(
    name: string,
    change: (s: Scheduler) => Scheduler,
  ): Promise<{ scheduler: Scheduler; created: boolean }> {
    const { created } = await this.ensureScheduler(name);
    const now = this.clock.now();
    const updated = await this.store.updateScheduler(
      name,
      (current) => {
        const next = change(current);
        // Pausing a paused scheduler (or configuring what is already so) changes nothing.
        if (sameJson(next, current)) return current;
        return { ...next, updatedAt: now, version: current.version + 1 };
      },
      (before, after) =>
        before.paused === after.paused
          ? []
          : [
              schedulerEvent(
                after.paused ? "scheduler_paused" : "scheduler_resumed",
                name,
                now,
                this.nodeId,
              ),
            ],
    );
    if (!updated) throw new NotFoundError(`scheduler ${JSON.stringify(name)}`);
    return { scheduler: this.remember(updated), created };
  }

  // ---- jobs ----

  async addJob(
    input: JobInput,
    conflict: ConflictPolicy = "error",
  ): Promise<{ job: Job; outcome: "created" | "replaced" | "kept" }> {
    return this.addPrepared(await this.prepareJob(input), conflict);
  }

  /**
   * Validates a job to add and builds it (its scheduler is created if new): the first half of
   * AddJob, so that AddJobs can validate every job before it adds any.
   */
  async prepareJob(input: JobInput): Promise<PreparedJob> {
    const scheduler = await this.scheduler(input.scheduler ?? DEFAULT_SCHEDULER);
    const id =
      input.id === undefined || input.id === ""
        ? randomUUID().replaceAll("-", "")
        : checkId(input.id, "id", this.limits);
    const now = this.clock.now();
    return { scheduler, id, input, now, fresh: this.buildJob(scheduler, id, input, now) };
  }

  /**
   * AddJobs: validates every job first (an invalid one fails the call, adding nothing), then
   * adds each as AddJob would. With the `error` policy a job whose id exists is reported as
   * `exists` (with the existing job) instead of failing the call.
   */
  async addJobs(
    prepared: readonly PreparedJob[],
    conflict: ConflictPolicy,
  ): Promise<{ job: Job | null; outcome: "created" | "replaced" | "kept" | "exists" }[]> {
    return Promise.all(
      prepared.map(async (p) => {
        try {
          return await this.addPrepared(p, conflict);
        } catch (err) {
          if (!(err instanceof AlreadyExistsError)) throw err;
          return {
            job: await this.store.getJob(p.scheduler.name, p.id),
            outcome: "exists" as const,
          };
        }
      }),
    );
  }

  private async addPrepared(
    p: PreparedJob,
    conflict: ConflictPolicy,
  ): Promise<{ job: Job; outcome: "created" | "replaced" | "kept" }> {
    const { scheduler, id, input, now, fresh } = p;
    for (;;) {
      if (await this.store.insertJob(fresh, [jobEvent("job_added", fresh, now, this.nodeId)]))
        return { job: fresh, outcome: "created" };
      if (conflict === "error") {
        throw new AlreadyExistsError(
          `job ${JSON.stringify(id)} in scheduler ${JSON.stringify(scheduler.name)}`,
        );
      }
      if (conflict === "keep_existing") {
        const existing = await this.store.getJob(scheduler.name, id);
        if (existing) return { job: existing, outcome: "kept" };
        continue; // removed meanwhile: insert again
      }
      const replaced = await this.store.updateJob(
        scheduler.name,
        id,
        (existing) => {
          const candidate = this.buildJob(
            scheduler,
            id,
            {
              ...input,
              trigger: resolveTrigger(input.trigger, scheduler.timezone, now, existing.trigger),
            },
            now,
          );
          // A redeploy re-adding its jobs must not postpone them: keep the paused state, and the
          // schedule unless the trigger changed. An identical replacement writes nothing.
          const sameTrigger = sameJson(existing.trigger, candidate.trigger);
          const kept: Job = {
            ...candidate,
            paused: existing.paused,
            nextRunTime: existing.paused
              ? null
              : sameTrigger
                ? existing.nextRunTime
                : candidate.nextRunTime,
            createdAt: existing.createdAt,
            updatedAt: existing.updatedAt,
            version: existing.version,
          };
          if (sameJson(kept, existing)) return existing;
          return { ...kept, updatedAt: now, version: existing.version + 1 };
        },
        now,
        (job) => [jobEvent("job_modified", job, now, this.nodeId)],
      );
      if (replaced) return { job: replaced, outcome: "replaced" };
      // removed meanwhile: insert again
    }
  }

  async getJob(scheduler: string, id: string): Promise<Job> {
    checkId(scheduler, "scheduler", this.limits);
    checkId(id, "id", this.limits);
    const job = await this.store.getJob(scheduler, id);
    if (!job)
      throw new NotFoundError(
        `job ${JSON.stringify(id)} in scheduler ${JSON.stringify(scheduler)}`,
      );
    return job;
  }

  async listJobs(query: ListJobsQuery): Promise<Page<Job>> {
    if (query.scheduler !== undefined) checkId(query.scheduler, "scheduler", this.limits);
    if (
      !Number.isInteger(query.pageSize) ||
      query.pageSize < 1 ||
      query.pageSize > this.limits.maxPageSize
    ) {
      throw new InvalidArgumentError("page_size", `must be from 1 to ${this.limits.maxPageSize}`);
    }
    return await this.store.listJobs(query);
  }

  /**
   * Change the fields named in `mask`, taking their values from `patch`. With `expectedVersion`
   * the change applies only to that version (FAILED_PRECONDITION otherwise); without, it is
   * retried on concurrent changes so that no update is lost.
   */
  async modifyJob(
    scheduler: string,
    id: string,
    patch: JobPatch,
    mask: readonly string[],
    expectedVersion?: number,
  ): Promise<Job> {
    if (mask.length === 0)
      throw new InvalidArgumentError(
        "update_mask",
        "names no field; give at least one of " + MODIFIABLE_FIELDS.join(", "),
      );
    for (const path of mask) {
      if (!(MODIFIABLE_FIELDS as readonly string[]).includes(path)) {
        throw new InvalidArgumentError(
          "update_mask",
          `cannot modify ${JSON.stringify(path)}; modifiable fields: ${MODIFIABLE_FIELDS.join(", ")}`,
        );
      }
    }
    return this.updateJob(scheduler, id, expectedVersion, (job, sched, now) => {
      const has = (f: ModifiableField) => mask.includes(f);
      const input: JobInput = {
        name: has("name") ? (patch.name ?? "") : job.name,
        handler: has("handler") ? (patch.handler ?? "") : job.handler,
        trigger: has("trigger") ? (patch.trigger ?? job.trigger) : job.trigger,
        args: has("args") ? (patch.args ?? []) : job.args,
        kwargs: has("kwargs") ? (patch.kwargs ?? {}) : job.kwargs,
        coalesce: has("coalesce") ? (patch.coalesce ?? sched.defaults.coalesce) : job.coalesce,
        maxInstances: has("max_instances")
          ? (patch.maxInstances ?? sched.defaults.maxInstances)
          : job.maxInstances,
        misfireGraceTimeMs: has("misfire_grace_time")
          ? patch.misfireGraceTimeMs
          : job.misfireGraceTimeMs,
        timeoutMs: has("timeout") ? (patch.timeoutMs ?? null) : job.timeoutMs,
        retry: has("retry") ? (patch.retry ?? null) : job.retry,
        paused: job.paused,
      };
      const rebuilt = this.buildJob(sched, job.id, input, now, has("trigger"));
      // Keep the schedule unless the trigger changed.
      return has("trigger") ? rebuilt : { ...rebuilt, nextRunTime: job.nextRunTime };
    });
  }

  rescheduleJob(
    scheduler: string,
    id: string,
    trigger: TriggerInput,
    expectedVersion?: number,
  ): Promise<Job> {
    return this.modifyJob(scheduler, id, { trigger }, ["trigger"], expectedVersion);
  }

  pauseJob(scheduler: string, id: string): Promise<Job> {
    return this.updateJob(scheduler, id, undefined, (job) =>
      job.paused ? job : { ...job, paused: true, nextRunTime: null },
    );
  }

  /**
   * Resume: the next fire time is computed from now (no catch-up of the paused period). A job
   * whose trigger has no fire time left is removed instead (`removed: true`).
   */
  async resumeJob(scheduler: string, id: string): Promise<{ job: Job; removed: boolean }> {
    const job = await this.updateJob(scheduler, id, undefined, (job, _s, now) => {
      if (!job.paused) return job;
      return { ...job, paused: false, nextRunTime: compileTrigger(job.trigger).nextAtOrAfter(now) };
    });
    if (job.paused || job.nextRunTime !== null) return { job, removed: false };
    // Only the version this call wrote: a change made meanwhile (a reschedule) wins.
    const removed = await this.store.deleteJob(scheduler, id, {
      expectedVersion: job.version,
      events: (j) => [
        jobEvent("job_removed", j, this.clock.now(), this.nodeId, "no fire time left"),
      ],
    });
    return { job, removed };
  }

  async removeJob(scheduler: string, id: string): Promise<void> {
    checkId(scheduler, "scheduler", this.limits);
    checkId(id, "id", this.limits);
    const now = this.clock.now();
    if (
      // Its pending runs are cancelled in the same operation.
      !(await this.store.deleteJob(scheduler, id, {
        cancelPendingRunsAt: now,
        events: (j, cancelled) => [
          jobEvent("job_removed", j, now, this.nodeId, "removed"),
          ...runEvents(cancelled, now, this.nodeId),
        ],
      }))
    )
      throw new NotFoundError(
        `job ${JSON.stringify(id)} in scheduler ${JSON.stringify(scheduler)}`,
      );
  }

  removeAllJobs(scheduler: string): Promise<number> {
    checkId(scheduler, "scheduler", this.limits);
    const now = this.clock.now();
    // The scheduler's pending runs are cancelled in the same operation.
    return this.store.deleteAllJobs(scheduler, {
      cancelPendingRunsAt: now,
      events: (_deleted, cancelled) => [
        schedulerEvent("all_jobs_removed", scheduler, now, this.nodeId),
        ...runEvents(cancelled, now, this.nodeId),
      ],
    });
  }

  /** The next `count` fire times of a trigger after `after`; nothing is stored. */
  previewTrigger(
    input: TriggerInput,
    after: number,
    count: number,
    timezone: string = this.defaults.timezone,
  ): number[] {
    if (!Number.isInteger(count) || count < 1 || count > 100)
      throw new InvalidArgumentError("count", "must be from 1 to 100");
    return fireTimes(compileTrigger(resolveTrigger(input, timezone, after)), after, count);
  }

  /**
   * A locked read-modify-write of one job: concurrent changes queue on the row instead of
   * failing, so none is lost. With `expectedVersion`, a job at another version is left alone
   * (FAILED_PRECONDITION).
   */
  private async updateJob(
    scheduler: string,
    id: string,
    expectedVersion: number | undefined,
    change: (job: Job, s: Scheduler, now: number) => Job,
  ): Promise<Job> {
    checkId(scheduler, "scheduler", this.limits);
    checkId(id, "id", this.limits);
    // Read-only: a call on a job of an unknown scheduler must not create the scheduler.
    const sched = await this.settingsOf(scheduler);
    const now = this.clock.now();
    const updated = await this.store.updateJob(
      scheduler,
      id,
      (current) => {
        if (expectedVersion !== undefined && current.version !== expectedVersion) {
          throw new FailedPreconditionError(
            `job ${id} is at version ${current.version}, not ${expectedVersion}`,
          );
        }
        const changed = change(current, sched, now);
        if (changed === current) return current;
        // A change never moves createdAt (a rebuilt job is stamped with now).
        return {
          ...changed,
          createdAt: current.createdAt,
          updatedAt: now,
          version: current.version + 1,
        };
      },
      now,
      (job) => [jobEvent("job_modified", job, now, this.nodeId)],
    );
    if (!updated) {
      throw new NotFoundError(
        `job ${JSON.stringify(id)} in scheduler ${JSON.stringify(scheduler)}`,
      );
    }
    return updated;
  }

  private buildJob(
    s: Scheduler,
    id: string,
    input: JobInput,
    now: number,
    checkSchedule = true,
  ): Job {
    const handler = checkHandler(input.handler, "handler", this.limits);
    const name = checkName(input.name || handler, "name");
    const args = input.args ?? [];
    const kwargs = input.kwargs ?? {};
    checkPayload(args, kwargs, this.limits);
    const settings = checkSettings({
      coalesce: input.coalesce ?? s.defaults.coalesce,
      maxInstances: input.maxInstances ?? s.defaults.maxInstances,
      misfireGraceTimeMs:
        input.misfireGraceTimeMs === undefined
          ? s.defaults.misfireGraceTimeMs
          : input.misfireGraceTimeMs,
    });
    const spec = resolveTrigger(input.trigger, s.timezone, now);
    let trigger: Trigger;
    try {
      trigger = compileTrigger(spec);
    } catch (err) {
      throw err instanceof InvalidArgumentError ? err.within("trigger") : err;
    }
    const paused = input.paused ?? false;
    const nextRunTime = trigger.firstFireTime(now);
    if (checkSchedule && (nextRunTime === null || nextRunTime > MAX_INSTANT)) {
      throw new InvalidArgumentError("trigger", "has no fire time after now");
    }
    return {
      scheduler: s.name,
      id,
      name,
      handler,
      trigger: spec,
      args,
      kwargs,
      ...settings,
      timeoutMs: checkTimeout(input.timeoutMs ?? null),
      retry: checkRetry(input.retry ?? null),
      paused,
      nextRunTime: paused ? null : nextRunTime,
      createdAt: now,
      updatedAt: now,
      version: 1,
    };
  }
}

/**
 * Fill what a caller may leave out: an empty time zone becomes the scheduler's, and an interval
 * without a start starts one interval from now (APScheduler's default), so its grid is fixed
 * when stored.
 */
/** Equal as JSON documents (key order and undefined members do not matter). */
function sameJson(a: unknown, b: unknown): boolean {
  return isDeepStrictEqual(JSON.parse(JSON.stringify(a)), JSON.parse(JSON.stringify(b)));
}

export function resolveTrigger(
  spec: TriggerInput,
  timezone: string,
  now: number,
  previous?: TriggerSpec,
): TriggerSpec {
  switch (spec.type) {
    case "and":
    case "or":
      return {
        ...spec,
        triggers: spec.triggers.map((t, i) =>
          resolveTrigger(
            t,
            timezone,
            now,
            previous?.type === spec.type ? previous.triggers[i] : undefined,
          ),
        ),
      };
    case "interval": {
      const tz = spec.timezone || timezone;
      if (Number.isFinite(spec.startDate)) return { ...spec, timezone: tz };
      // Re-adding the same interval (REPLACE on every deploy) keeps its grid instead of
      // starting a new one.
      if (previous?.type === "interval") {
        const kept = { ...spec, timezone: tz, startDate: previous.startDate };
        if (sameJson(kept, previous)) return previous;
      }
      return { ...spec, timezone: tz, startDate: now + intervalMs(spec) };
    }
    default:
      return { ...spec, timezone: spec.timezone || timezone };
  }
}
