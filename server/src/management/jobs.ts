/**
 * Job use cases: add (one or many), get, list, modify, reschedule, pause, resume, remove. Each
 * validates its input, builds the job with its scheduler's defaults (build-job.ts) and writes
 * through the store with compare-and-set versions, so that concurrent requests on several nodes
 * lose no update. The jobs they answer are as reads show them (shown-jobs.ts).
 */
import { randomUUID } from "node:crypto";
import type { Clock } from "../clock.js";
import {
  AlreadyExistsError,
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
} from "../domain/errors.js";
import { byActor, jobEvent, runEvents, schedulerEvent, type EventDraft } from "../domain/events.js";
import { at, itemPath, joinPath } from "../domain/fields.js";
import { DEFAULT_LIMITS, checkId, type Job, type Limits, type Scheduler } from "../domain/jobs.js";
import { compileTrigger, triggerWarnings, type TriggerWarning } from "../domain/triggers/index.js";
import { currentActor } from "../lib/actor.js";
import { sameJson } from "../lib/same-json.js";
import type { Run } from "../domain/runs.js";
import { runIdAfter } from "../engine/ids.js";
import type { ListJobsQuery, ManagementStore, Page } from "../store/port.js";
import { boundJobPageToken, jobPageTokenAfter, storeJobPageToken } from "../store/paging.js";
import { buildJob, resolveTrigger } from "./build-job.js";
import { JobQuota } from "./job-quota.js";
import {
  checkMask,
  patched,
  type ConflictPolicy,
  type JobInput,
  type JobPatch,
  type ModifiableField,
  type TriggerInput,
} from "./job-input.js";
import { DEFAULT_SCHEDULER, type SchedulerManager } from "./schedulers.js";
import { ShownJobs } from "./shown-jobs.js";

/** A job validated and built, ready to be added. */
interface PreparedJob {
  readonly scheduler: Scheduler;
  readonly id: string;
  readonly input: JobInput;
  readonly now: number;
  readonly fresh: Job;
  /** Where the job sits in the request (`job`, `jobs[2]`). */
  readonly path: string;
}

export type AddOutcome = "created" | "replaced" | "kept";

/** A job as a call left it, and the warnings of the trigger it was given (paths of the request). */
export interface Added {
  readonly job: Job;
  readonly outcome: AddOutcome;
  readonly warnings: readonly TriggerWarning[];
  /**
   * The worker sessions of the other nodes serving the job's handler, when the store read them
   * with the insert (ManagementStore.insertJobServed); otherwise the caller reads them apart.
   */
  readonly remoteWorkers?: number | undefined;
}

/** Pending runs a RemoveAllJobs cancels per transaction (see removeAllJobs). */
export const CANCEL_BATCH = 2000;

/** The most jobs one AddJobs call takes. */
export const MAX_ADD_JOBS = 1000;

export class JobManager {
  /** What reads show of the jobs: every answer with a job goes through it (shown-jobs.ts). */
  private readonly shown: ShownJobs;

  constructor(
    private readonly store: ManagementStore,
    private readonly clock: Clock,
    private readonly schedulers: SchedulerManager,
    private readonly limits: Limits = DEFAULT_LIMITS,
    /** This node's id, recorded in the events of the changes made through it. */
    private readonly nodeId = "local",
    /** The limit on jobs per scheduler (none by default). */
    private readonly quota = new JobQuota(store, null),
    /** Pending runs a RemoveAllJobs cancels per transaction. */
    private readonly cancelBatch = CANCEL_BATCH,
  ) {
    this.shown = new ShownJobs(clock);
  }

  /** AddJob: errors name the fields of the request (`job.trigger.cron.hour`). */
  async addJob(job: JobInput, conflict: ConflictPolicy = "error"): Promise<Added> {
    const p = await this.prepare(job, "job");
    return this.quota.within(new Map([[p.scheduler.name, [p.id]]]), () =>
      at(p.path, () => this.add(p, conflict)),
    );
  }

  /**
   * AddJobs: validates every job first (an invalid one fails the call, adding nothing), then
   * adds each as AddJob would. With the `error` policy a job whose id exists is reported as
   * `exists` (with the existing job) instead of failing the call. Errors name the fields of the
   * request (`jobs[2].handler`).
   */
  async addJobs(
    jobs: readonly JobInput[],
    conflict: ConflictPolicy,
  ): Promise<
    {
      job: Job | null;
      outcome: AddOutcome | "exists";
      warnings: readonly TriggerWarning[];
      remoteWorkers?: number | undefined;
    }[]
  > {
    if (jobs.length === 0 || jobs.length > MAX_ADD_JOBS)
      throw new InvalidArgumentError("jobs", `must hold 1 to ${String(MAX_ADD_JOBS)} jobs`);
    const prepared: PreparedJob[] = [];
    const seen = new Map<string, number>();
    for (const [i, input] of jobs.entries()) {
      const p = await this.prepare(input, itemPath("jobs", i));
      const key = `${p.scheduler.name}\u0000${p.id}`;
      const first = seen.get(key);
      if (first !== undefined)
        throw new InvalidArgumentError(
          joinPath(p.path, "id"),
          `repeats ${itemPath("jobs", first)}.id`,
        );
      seen.set(key, i);
      prepared.push(p);
    }
    const ids = new Map<string, string[]>();
    for (const p of prepared) {
      const of = ids.get(p.scheduler.name);
      if (of === undefined) ids.set(p.scheduler.name, [p.id]);
      else of.push(p.id);
    }
    return this.quota.within(ids, () => this.addEach(prepared, conflict));
  }

  private addEach(
    prepared: readonly PreparedJob[],
    conflict: ConflictPolicy,
  ): Promise<
    {
      job: Job | null;
      outcome: AddOutcome | "exists";
      warnings: readonly TriggerWarning[];
      remoteWorkers?: number | undefined;
    }[]
  > {
    return Promise.all(
      prepared.map(async (p) => {
        try {
          return await at(p.path, () => this.add(p, conflict));
        } catch (err) {
          if (!(err instanceof AlreadyExistsError)) throw err;
          return {
            job: this.shown.orNull(await this.store.getJob(p.scheduler.name, p.id)),
            outcome: "exists" as const,
            warnings: this.warnings(p.input.trigger, p.path),
          };
        }
      }),
    );
  }

  async getJob(scheduler: string, jobId: string): Promise<Job> {
    this.checkRef(scheduler, jobId);
    const job = await this.store.getJob(scheduler, jobId);
    if (!job) throw notFound(scheduler, jobId);
    return this.shown.job(job);
  }

  /**
   * GetJob with, when the store reads it in the same statement (ManagementStore.getJobServed),
   * how many worker sessions of the other nodes serve the job's handler now; undefined when it
   * does not (the caller reads the count apart).
   */
  async getJobServed(
    scheduler: string,
    jobId: string,
  ): Promise<{ job: Job; remoteWorkers: number | undefined }> {
    if (this.store.getJobServed === undefined)
      return { job: await this.getJob(scheduler, jobId), remoteWorkers: undefined };
    this.checkRef(scheduler, jobId);
    const found = await this.store.getJobServed(scheduler, jobId, this.clock.now(), this.nodeId);
    if (!found) throw notFound(scheduler, jobId);
    return { ...found, job: this.shown.job(found.job) };
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
    // A token is bound to its listing (scheduler, filters, order); the store pages by position.
    const page = await this.store.listJobs({ ...query, pageToken: storeJobPageToken(query) });
    return {
      items: this.shown.listing(page.items),
      nextPageToken: boundJobPageToken(query, page.nextPageToken),
    };
  }

  /**
   * The page token of listing `query` that continues after `job`, one of its jobs: for a page
   * answered shorter than the store read it (a page may hold fewer jobs, see api/services/jobs.ts).
   */
  pageTokenAfter(query: ListJobsQuery, job: Job): string {
    // The store pages by the stored position, not the one shown.
    return jobPageTokenAfter(query, this.shown.stored(job));
  }

  /**
   * ModifyJob: change the fields of the job `job` names (scheduler, id) that `mask` names (the
   * Job message's paths), taking their values from `job`. With `expectedVersion` the change
   * applies only to that version (FAILED_PRECONDITION otherwise); without, it is retried on
   * concurrent changes so that no update is lost. Errors name the fields of the request
   * (`update_mask`, `job.trigger.cron.hour`).
   */
  async modifyJob(
    job: JobPatch,
    mask: readonly string[],
    expectedVersion?: number,
  ): Promise<{ job: Job; warnings: readonly TriggerWarning[] }> {
    const fields = checkMask(mask);
    const has = (f: ModifiableField) => fields.has(f);
    if (has("trigger") && job.trigger === undefined)
      throw new InvalidArgumentError("job.trigger", "cannot be unset");
    if (has("handler") && !job.handler)
      throw new InvalidArgumentError("job.handler", "cannot be unset");
    const scheduler = job.scheduler || DEFAULT_SCHEDULER;
    const id = job.id ?? "";
    at("job", () => {
      checkId(scheduler, "scheduler", this.limits);
      checkId(id, "id", this.limits);
    });
    const modified = await this.updateJob(scheduler, id, expectedVersion, (current, sched, now) =>
      at("job", () => {
        const input = patched(current, job, has, sched);
        const rebuilt = this.build(sched, current.id, input, now, has("trigger"));
        // Keep the schedule unless the trigger changed.
        return has("trigger") ? rebuilt : { ...rebuilt, nextRunTime: current.nextRunTime };
      }),
    );
    const warnings =
      has("trigger") && job.trigger !== undefined ? this.warnings(job.trigger, "job") : [];
    return { job: this.shown.job(modified), warnings };
  }

  /** RescheduleJob: errors name the fields of the request (`job_id`, `trigger.cron.hour`). */
  async rescheduleJob(
    scheduler: string,
    jobId: string,
    trigger: TriggerInput,
    expectedVersion?: number,
  ): Promise<{ job: Job; warnings: readonly TriggerWarning[] }> {
    this.checkRef(scheduler, jobId);
    const job = await this.updateJob(scheduler, jobId, expectedVersion, (current, sched, now) =>
      this.build(sched, current.id, { ...current, trigger }, now),
    );
    return { job: this.shown.job(job), warnings: this.warnings(trigger, "") };
  }

  async pauseJob(scheduler: string, jobId: string): Promise<Job> {
    this.checkRef(scheduler, jobId);
    return this.shown.job(
      await this.updateJob(scheduler, jobId, undefined, (job) =>
        job.paused ? job : { ...job, paused: true, nextRunTime: null },
      ),
    );
  }

  /**
   * Resume: the next fire time is computed from now (no catch-up of the paused period). A job
   * whose trigger has no fire time left is removed instead (`removed: true`).
   */
  async resumeJob(scheduler: string, jobId: string): Promise<{ job: Job; removed: boolean }> {
    this.checkRef(scheduler, jobId);
    const job = await this.updateJob(scheduler, jobId, undefined, (job, _s, now) => {
      if (!job.paused) return job;
      return { ...job, paused: false, nextRunTime: compileTrigger(job.trigger).nextAtOrAfter(now) };
    });
    if (job.paused || job.nextRunTime !== null) return { job: this.shown.job(job), removed: false };
    // Only the version this call wrote: a change made meanwhile (a reschedule) wins.
    const removed = await this.store.deleteJob(scheduler, jobId, {
      expectedVersion: job.version,
      events: (j) =>
        byActor(
          [jobEvent("job_removed", j, this.clock.now(), this.nodeId, "no fire time left")],
          currentActor(),
        ),
    });
    return { job, removed };
  }

  /** RemoveJob: the job, and its runs that have not started. */
  async removeJob(scheduler: string, jobId: string): Promise<void> {
    this.checkRef(scheduler, jobId);
    const now = this.clock.now();
    // Its pending runs are cancelled in the same transaction.
    if (
      !(await this.store.deleteJob(scheduler, jobId, {
        cancelPendingRunsAt: now,
        events: (j, cancelled) =>
          byActor(
            [
              jobEvent("job_removed", j, now, this.nodeId, "removed"),
              ...runEvents(cancelled, now, this.nodeId),
            ],
            currentActor(),
          ),
      }))
    )
      throw notFound(scheduler, jobId);
  }

  /**
   * RemoveAllJobs: every job of a scheduler, and their runs that have not started. The jobs go in
   * one transaction with the first `cancelBatch` of the pending runs (those due first); a backlog
   * larger than that is cancelled in further transactions of as many runs each, before the call
   * answers (one transaction for all of them could outlast the store's deadline).
   */
  async removeAllJobs(scheduler: string): Promise<number> {
    checkId(scheduler, "scheduler", this.limits);
    const now = this.clock.now();
    // Runs made from now on (by jobs added meanwhile) are not this call's to cancel.
    const idBefore = runIdAfter(Date.now());
    const actor = currentActor();
    const events = (cancelled: readonly Run[]) =>
      byActor(runEvents(cancelled, now, this.nodeId), actor);
    const removed = await this.store.deleteAllJobs(scheduler, {
      cancelPendingRunsAt: now,
      cancelLimit: this.cancelBatch,
      events: (_deleted, cancelled) =>
        byActor(
          [
            schedulerEvent("all_jobs_removed", scheduler, now, this.nodeId),
            ...runEvents(cancelled, now, this.nodeId),
          ],
          actor,
        ),
    });
    // Until a transaction finds fewer than it may take (usually the first, finding none).
    const more = { now, idBefore, limit: this.cancelBatch, events };
    let took: number;
    do took = await this.store.cancelPendingRuns(scheduler, more);
    while (took >= this.cancelBatch);
    return removed;
  }

  /**
   * Validates a job to add (at `path` in the request) and builds it, with its scheduler's
   * settings (the server defaults for a new one, which is created only when the job is added:
   * a refused call creates nothing). The first half of adding, so that AddJobs can validate
   * every job before it adds any.
   */
  private prepare(input: JobInput, path: string): Promise<PreparedJob> {
    return at(path, async () => {
      const scheduler = await this.schedulers.named(input.scheduler ?? DEFAULT_SCHEDULER);
      const id =
        input.id === undefined || input.id === ""
          ? randomUUID().replaceAll("-", "")
          : checkId(input.id, "id", this.limits);
      const now = this.clock.now();
      const fresh = { ...this.build(scheduler, id, input, now), ...modifier() };
      return { scheduler, id, input, now, fresh, path };
    });
  }

  /** Adds a prepared job under the conflict policy; errors name the Job message's fields. */
  private async add(p: PreparedJob, conflict: ConflictPolicy): Promise<Added> {
    const { scheduler, id, input, now, fresh } = p;
    // Every check has passed: the scheduler is created now if it is new.
    await this.schedulers.scheduler(scheduler.name);
    const warnings = this.warnings(input.trigger, p.path);
    for (;;) {
      const added = byActor([jobEvent("job_added", fresh, now, this.nodeId)], currentActor());
      const { inserted, remoteWorkers } = await this.insert(fresh, added);
      if (inserted) return { job: fresh, outcome: "created", warnings, remoteWorkers };
      if (conflict === "error") {
        throw new AlreadyExistsError(
          `job ${JSON.stringify(id)} in scheduler ${JSON.stringify(scheduler.name)}`,
        );
      }
      if (conflict === "keep_existing") {
        const existing = await this.store.getJob(scheduler.name, id);
        if (existing) return { job: this.shown.job(existing), outcome: "kept", warnings };
        continue; // removed meanwhile: insert again
      }
      const replaced = await this.store.updateJob(
        scheduler.name,
        id,
        (existing) => {
          const trigger = at("trigger", () =>
            resolveTrigger(input.trigger, scheduler.timezone, now, existing.trigger),
          );
          const candidate = this.build(scheduler, id, { ...input, trigger }, now);
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
            modifiedBy: existing.modifiedBy,
          };
          if (sameJson(kept, existing)) return existing;
          return { ...kept, updatedAt: now, version: existing.version + 1, ...modifier() };
        },
        now,
        (job) => byActor([jobEvent("job_modified", job, now, this.nodeId)], currentActor()),
      );
      if (replaced) return { job: this.shown.job(replaced), outcome: "replaced", warnings };
      // removed meanwhile: insert again
    }
  }

  /** Inserts a job, with the other nodes' sessions serving its handler when the store reads them. */
  private async insert(
    job: Job,
    events: readonly EventDraft[],
  ): Promise<{ inserted: boolean; remoteWorkers: number | undefined }> {
    if (this.store.insertJobServed === undefined)
      return { inserted: await this.store.insertJob(job, events), remoteWorkers: undefined };
    return this.store.insertJobServed(job, events, this.clock.now(), this.nodeId);
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
          ...modifier(),
        };
      },
      now,
      (job) => byActor([jobEvent("job_modified", job, now, this.nodeId)], currentActor()),
    );
    if (!updated) throw notFound(scheduler, id);
    return updated;
  }

  /** A job named by `scheduler` and `job_id` (the fields of requests naming one). */
  private checkRef(scheduler: string, jobId: string): void {
    checkId(scheduler, "scheduler", this.limits);
    checkId(jobId, "job_id", this.limits);
  }

  private build(s: Scheduler, id: string, input: JobInput, now: number, checkSchedule = true): Job {
    return buildJob(s, id, input, now, this.limits, checkSchedule);
  }

  /** The warnings of a trigger given at `path` in the request (`job`, `jobs[2]`, or the request). */
  private warnings(trigger: TriggerInput, path: string): TriggerWarning[] {
    return triggerWarnings(trigger).map((w) => ({
      ...w,
      field: joinPath(path, joinPath("trigger", w.field)),
    }));
  }
}

/** The record of who changed a job: the call's actor, when the change comes from a call. */
function modifier(): { modifiedBy?: string } {
  const actor = currentActor();
  return actor === undefined ? {} : { modifiedBy: actor };
}

function notFound(scheduler: string, jobId: string): NotFoundError {
  return new NotFoundError(
    `job ${JSON.stringify(jobId)} in scheduler ${JSON.stringify(scheduler)}`,
  );
}
