/**
 * Job use cases: add (one or many), get, list, modify, reschedule, pause, resume, remove. Each
 * validates its input, builds the job with its scheduler's defaults (build-job.ts) and writes
 * through the store with compare-and-set versions, so that concurrent requests on several nodes
 * lose no update.
 */
import { randomUUID } from "node:crypto";
import type { Clock } from "../clock.js";
import {
  AlreadyExistsError,
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
} from "../domain/errors.js";
import { jobEvent, schedulerEvent } from "../domain/events.js";
import { DEFAULT_LIMITS, checkId, type Job, type Limits, type Scheduler } from "../domain/jobs.js";
import { compileTrigger } from "../domain/triggers/index.js";
import { sameJson } from "../lib/same-json.js";
import type { ListJobsQuery, Page, Store } from "../store/store.js";
import { buildJob, resolveTrigger } from "./build-job.js";
import {
  MODIFIABLE_FIELDS,
  type ConflictPolicy,
  type JobInput,
  type JobPatch,
  type ModifiableField,
  type TriggerInput,
} from "./job-input.js";
import { DEFAULT_SCHEDULER, type SchedulerManager } from "./schedulers.js";

/** A job validated and built, ready to be added (see JobManager.prepareJob). */
export interface PreparedJob {
  readonly scheduler: Scheduler;
  readonly id: string;
  readonly input: JobInput;
  readonly now: number;
  readonly fresh: Job;
}

export class JobManager {
  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly schedulers: SchedulerManager,
    private readonly limits: Limits = DEFAULT_LIMITS,
    /** This node's id, recorded in the events of the changes made through it. */
    private readonly nodeId = "local",
  ) {}

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
    const scheduler = await this.schedulers.scheduler(input.scheduler ?? DEFAULT_SCHEDULER);
    const id =
      input.id === undefined || input.id === ""
        ? randomUUID().replaceAll("-", "")
        : checkId(input.id, "id", this.limits);
    const now = this.clock.now();
    return { scheduler, id, input, now, fresh: this.build(scheduler, id, input, now) };
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
          const candidate = this.build(
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
      const rebuilt = this.build(sched, job.id, input, now, has("trigger"));
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
    const removed = await this.store.deleteJob(scheduler, id, job.version, (j) => [
      jobEvent("job_removed", j, this.clock.now(), this.nodeId, "no fire time left"),
    ]);
    return { job, removed };
  }

  async removeJob(scheduler: string, id: string): Promise<void> {
    checkId(scheduler, "scheduler", this.limits);
    checkId(id, "id", this.limits);
    const now = this.clock.now();
    if (
      !(await this.store.deleteJob(scheduler, id, undefined, (j) => [
        jobEvent("job_removed", j, now, this.nodeId, "removed"),
      ]))
    )
      throw new NotFoundError(
        `job ${JSON.stringify(id)} in scheduler ${JSON.stringify(scheduler)}`,
      );
  }

  removeAllJobs(scheduler: string): Promise<number> {
    checkId(scheduler, "scheduler", this.limits);
    return this.store.deleteAllJobs(scheduler, [
      schedulerEvent("all_jobs_removed", scheduler, this.clock.now(), this.nodeId),
    ]);
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
    const sched = await this.schedulers.settingsOf(scheduler);
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

  private build(s: Scheduler, id: string, input: JobInput, now: number, checkSchedule = true): Job {
    return buildJob(s, id, input, now, this.limits, checkSchedule);
  }
}
