/**
 * A scheduler as a service sees it: its jobs (the guide's add_job, get_jobs, pause_job, …), its
 * runs, and APScheduler-style listeners over the event stream.
 *
 * ```ts
 * const scheduler = SchedulerManager.getInstance();
 * await scheduler.addJob(dailyReport, "cron", { hour: 2, minute: 30, id: "daily_report" });
 * scheduler.addListener((event) => {
 *   if (event.type === "job_error") alert(event.jobId, event.error?.message);
 * }, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR);
 * ```
 */
import type { Job as PbJob } from "../gen/metronome/v1/job_pb.js";
import { ConflictPolicy } from "../gen/metronome/v1/job_service_pb.js";
import type { Args, HandlerDef, Kwargs } from "../handlers.js";
import { childLogger, type WorkerLogger } from "../logger.js";
import { AlreadyExistsError, NotFoundError, call } from "../rpc-errors.js";
import { EVENT_ALL } from "./events.js";
import {
  Declarations,
  type FitsHandler,
  type NoExtraOptions,
  type ScheduledJobOptions,
} from "./declarations.js";
import { checkInt32, jobFromProto, type ChangeOptions, type Job, type JobOptions } from "./jobs.js";
import { JobLister, type JobFilter } from "./job-lister.js";
import { Listeners, type Listener } from "./listeners.js";
import {
  configureRequest,
  jobChanges,
  jobMessage,
  newJob,
  type AddJobSpec,
  type HandlerRef,
  type JobChanges,
  type OptionsArg,
  type SchedulerSettings,
  type StringModeOptions,
} from "./requests.js";
import { RUN_STATUS, type RunStatusName } from "./run-status.js";
import { runFromProto, type Run } from "./runs.js";
import type { ClientServices } from "./services.js";
import { triggerOf, type Trigger, type TriggerFields, type TriggerKind } from "./triggers.js";

export type {
  AddJobSpec,
  HandlerRef,
  JobChanges,
  OptionsArg,
  SchedulerSettings,
  StringModeOptions,
} from "./requests.js";
export type { Listener } from "./listeners.js";
export type { ScheduledJobOptions } from "./declarations.js";
export type { JobFilter } from "./job-lister.js";

function jobOf(res: { job?: PbJob | undefined; warnings?: readonly string[] }): Job {
  if (res.job === undefined) throw new Error("the server answered without the job");
  return jobFromProto(res.job, res.warnings ?? []);
}

export class Scheduler {
  private readonly listeners: Listeners;
  private readonly log: WorkerLogger;
  /** Jobs declared with `scheduledJob`. */
  private readonly declarations: Declarations;
  private readonly lister: JobLister;
  /** The last settings given (constructor, configure), applied on the server: calls wait. */
  private ready: Promise<void> = Promise.resolve();

  constructor(
    /** The client that made it (a `MetronomeClient`). */
    readonly client: ClientServices,
    readonly name: string,
    settings?: SchedulerSettings,
  ) {
    this.log = childLogger(client.logger, { scheduler: name });
    this.listeners = new Listeners(client, name, this.log);
    this.declarations = new Declarations(this.log);
    this.lister = new JobLister(client, name);
    // A failed configuration is reported by every call that waits for it.
    if (settings !== undefined) this.configure(settings).catch(() => undefined);
  }

  private get opts() {
    return { headers: this.client.headers };
  }

  /** A changing call's options: with its idempotency key, if it has one. */
  private changeOpts(options: ChangeOptions | undefined) {
    const key = options?.idempotencyKey;
    return key === undefined
      ? this.opts
      : { headers: { ...this.client.headers, "idempotency-key": key } };
  }

  /**
   * Applies a time zone and job defaults to the scheduler on the server (creating it). The
   * scheduler's later calls wait for it; if it fails, they fail with its error until settings
   * are applied again.
   */
  configure(settings: SchedulerSettings): Promise<void> {
    // Settings refused here (a maxInstances that is no whole number) fail like those the
    // server refuses: the calls that wait for them fail with the error.
    let request: ReturnType<typeof configureRequest> | { invalid: unknown };
    try {
      request = configureRequest(this.name, settings);
    } catch (err) {
      request = { invalid: err };
    }
    const applied = this.ready
      .catch(() => undefined) // earlier settings that failed do not stop these
      .then(() => {
        if ("invalid" in request) throw request.invalid;
        return call(this.client.schedulers.configureScheduler(request, this.opts));
      })
      .then(() => undefined);
    this.ready = applied;
    applied.catch(() => undefined); // reported by the calls that wait for it
    return applied;
  }

  // ---- jobs ----

  /**
   * Adds a job, in any of the guide's forms:
   *
   * - string mode: `addJob(dailyReport, "cron", { hour: 2, minute: 30, id: "daily_report" })`
   * - a trigger object: `addJob(heartbeat, new IntervalTrigger({ seconds: 30 }), { id: "heartbeat" })`
   * - keywords: `addJob({ func: backup, trigger: new CronTrigger({ hour: 1 }), id: "db_backup" })`
   *
   * With a typed handler (`defineHandler`), `args` and `kwargs` are checked against its
   * parameters. A job with the same id fails with AlreadyExistsError unless `replaceExisting`.
   */
  addJob<A extends Args, K extends Kwargs, T extends TriggerKind>(
    func: HandlerRef<A, K>,
    trigger: T,
    options: StringModeOptions<T, A, K>,
  ): Promise<Job<A, K>>;
  addJob<A extends Args, K extends Kwargs>(
    func: HandlerRef<A, K>,
    trigger: Trigger,
    ...options: OptionsArg<A, K>
  ): Promise<Job<A, K>>;
  addJob<A extends Args, K extends Kwargs>(spec: AddJobSpec<A, K>): Promise<Job<A, K>>;
  async addJob(
    first: HandlerRef<Args, Kwargs> | AddJobSpec<Args, Kwargs>,
    trigger?: TriggerKind | Trigger,
    options?: object,
  ): Promise<Job> {
    const job = newJob(first, trigger, options);
    await this.ready;
    try {
      const res = await call(
        this.client.jobs.addJob(
          {
            job: jobMessage(this.name, job),
            conflictPolicy:
              job.options.replaceExisting === true ? ConflictPolicy.REPLACE : ConflictPolicy.ERROR,
          },
          this.changeOpts(job.options),
        ),
      );
      return this.warned(jobOf(res));
    } catch (err) {
      if (!(err instanceof AlreadyExistsError)) throw err;
      throw new AlreadyExistsError(
        `${err.message}; add it with replaceExisting: true to replace it`,
        err.code,
        { cause: err.cause },
      );
    }
  }

  /** Logs the server's warnings about a job, each text once per client; returns the job. */
  private warned<J extends Job>(job: J): J {
    for (const warning of job.warnings)
      if (this.client.firstTime(warning))
        this.log.warn({ jobId: job.id, warning }, "the server warned about a job");
    return job;
  }

  /**
   * The guide's decorator (`@scheduler.scheduled_job(trigger)`): returns the handler unchanged
   * (register it with a worker) and adds its job — replacing one with the same id, so that every
   * deploy may declare it again — at `start()`, or at once once started. The id defaults to the
   * handler name. `args` and `kwargs` are checked against the handler's parameters.
   */
  scheduledJob<const O extends ScheduledJobOptions = ScheduledJobOptions>(
    trigger: Trigger,
    options?: O & NoExtraOptions<O>,
  ): <H extends HandlerDef<never, never>>(handler: H & FitsHandler<H, O>) => H {
    return <H extends HandlerDef<never, never>>(handler: H & FitsHandler<H, O>): H => {
      // (Checked against the handler above: the options fit its arguments.)
      // `id: undefined` (an unset variable) is the default, not a job without an id: each
      // deploy would add one more.
      const id = options?.id ?? handler.name;
      const o = { ...options, id, replaceExisting: true } as JobOptions;
      this.declarations.declare(id, () => this.addJob(handler as HandlerDef, trigger, o));
      return handler;
    };
  }

  /**
   * Adds the jobs declared with `scheduledJob` (later declarations are added at once). The jobs
   * fire on the server whether or not this process runs: this only declares them. Rejects with
   * the first failure once every declaration was tried; those that failed are added by the next
   * call.
   */
  async start(): Promise<void> {
    await this.ready;
    await this.declarations.start();
  }

  /** Every job of the scheduler (all pages), by id or by next run time. */
  async getJobs(filter: JobFilter = {}): Promise<Job[]> {
    await this.ready;
    return this.lister.all(filter);
  }

  /** The job, or null when there is none with that id (the guide's get_job). */
  async getJob(id: string): Promise<Job | null> {
    await this.ready;
    try {
      return jobOf(
        await call(this.client.jobs.getJob({ scheduler: this.name, jobId: id }, this.opts)),
      );
    } catch (err) {
      if (err instanceof NotFoundError) return null;
      throw err;
    }
  }

  /** Pauses a job: no runs until resumed (NotFoundError if there is none). */
  async pauseJob(id: string, options?: ChangeOptions): Promise<Job> {
    await this.ready;
    return jobOf(
      await call(
        this.client.jobs.pauseJob({ scheduler: this.name, jobId: id }, this.changeOpts(options)),
      ),
    );
  }

  /**
   * Resumes a job: its next fire time counts from now. A job whose trigger has no fire time left
   * is removed instead (`removed: true`).
   */
  async resumeJob(
    id: string,
    options?: ChangeOptions,
  ): Promise<Job & { readonly removed: boolean }> {
    await this.ready;
    const res = await call(
      this.client.jobs.resumeJob({ scheduler: this.name, jobId: id }, this.changeOpts(options)),
    );
    return { ...jobOf(res), removed: res.removed };
  }

  /** Removes a job (NotFoundError if there is none); runs in progress finish. */
  async removeJob(id: string, options?: ChangeOptions): Promise<void> {
    await this.ready;
    await call(
      this.client.jobs.removeJob({ scheduler: this.name, jobId: id }, this.changeOpts(options)),
    );
  }

  /** Removes every job of the scheduler; answers how many. */
  async removeAllJobs(options?: ChangeOptions): Promise<number> {
    await this.ready;
    const res = await call(
      this.client.jobs.removeAllJobs({ scheduler: this.name }, this.changeOpts(options)),
    );
    return Number(res.removedCount);
  }

  /** A new trigger: `rescheduleJob("daily_report", new CronTrigger({ hour: 3, minute: 0 }))`. */
  rescheduleJob(id: string, trigger: Trigger): Promise<Job>;
  /** String mode: `rescheduleJob("daily_report", "cron", { hour: 3, minute: 0 })`. */
  rescheduleJob<T extends TriggerKind>(
    id: string,
    trigger: T,
    fields: TriggerFields[T],
  ): Promise<Job>;
  async rescheduleJob(id: string, trigger: Trigger | TriggerKind, fields?: object): Promise<Job> {
    await this.ready;
    const t = typeof trigger === "string" ? triggerOf(trigger, fields as never) : trigger;
    return this.warned(
      jobOf(
        await call(
          this.client.jobs.rescheduleJob(
            { scheduler: this.name, jobId: id, trigger: t.toProto() },
            this.opts,
          ),
        ),
      ),
    );
  }

  /**
   * Changes some of a job's fields; the others stay. With `expectedVersion`, only if the job is
   * still at that version (FailedPreconditionError otherwise).
   */
  async modifyJob<A extends Args = Args, K extends Kwargs = Kwargs>(
    id: string,
    changes: JobChanges<A, K>,
    expectedVersion?: number,
  ): Promise<Job<A, K>> {
    await this.ready;
    const { job, paths } = jobChanges(this.name, id, changes);
    const res = await call(
      this.client.jobs.modifyJob(
        {
          job,
          updateMask: { paths },
          ...(expectedVersion === undefined ? {} : { expectedVersion: BigInt(expectedVersion) }),
        },
        this.opts,
      ),
    );
    return this.warned(jobOf(res) as Job<A, K>);
  }

  // ---- runs ----

  /** Runs a job now, outside its schedule (also when paused). */
  async runJob(id: string, options?: ChangeOptions): Promise<Run> {
    await this.ready;
    const res = await call(
      this.client.jobs.runJobNow({ scheduler: this.name, jobId: id }, this.changeOpts(options)),
    );
    if (res.run === undefined) throw new Error("the server answered RunJobNow without the run");
    return runFromProto(res.run);
  }

  /**
   * The scheduler's (or one job's) most recent runs, newest first: at most `limit` (100 by
   * default) and at most the server's page size (METRONOME_MAX_PAGE_SIZE, 1,000 by default).
   */
  async getRuns(
    options: {
      readonly jobId?: string;
      readonly statuses?: readonly RunStatusName[];
      readonly limit?: number;
    } = {},
  ): Promise<Run[]> {
    await this.ready;
    const res = await call(
      this.client.runs.listRuns(
        {
          scheduler: this.name,
          jobId: options.jobId ?? "",
          statuses: (options.statuses ?? []).map((s) => RUN_STATUS[s]),
          pageSize: checkInt32("page_size", options.limit ?? 100),
        },
        this.opts,
      ),
    );
    return res.runs.map(runFromProto);
  }

  /** Cancels a run: a pending one never starts, a running one's handler is told to stop. */
  async cancelRun(runId: string, reason = "", options?: ChangeOptions): Promise<Run> {
    const res = await call(this.client.runs.cancelRun({ runId, reason }, this.changeOpts(options)));
    if (res.run === undefined) throw new Error("the server answered CancelRun without the run");
    return runFromProto(res.run);
  }

  /** Pauses the whole scheduler: none of its jobs fires until resumed. */
  async pause(options?: ChangeOptions): Promise<void> {
    await this.ready;
    await call(
      this.client.schedulers.pauseScheduler({ name: this.name }, this.changeOpts(options)),
    );
  }

  /** Resumes the scheduler (fire times during the pause follow the misfire rules). */
  async resume(options?: ChangeOptions): Promise<void> {
    await this.ready;
    await call(
      this.client.schedulers.resumeScheduler({ name: this.name }, this.changeOpts(options)),
    );
  }

  // ---- listeners ----

  /**
   * Calls `listener` with every later event of this scheduler (and the node and worker events,
   * which belong to no scheduler) whose type is in `mask` (EVENT_* constants combined with |).
   * Events are delivered once each and in order, across reconnections; a listener that throws
   * is logged and does not stop the others. API key events are not delivered. A key with only
   * `events:<scheduler>` gets the scheduler's events (node and worker events need `events:*`;
   * without it they are left out, with a warning in the logger).
   */
  addListener(listener: Listener, mask: number = EVENT_ALL): void {
    this.listeners.add(listener, mask);
  }

  removeListener(listener: Listener): void {
    this.listeners.remove(listener);
  }

  /**
   * Resolves once the listeners receive live events (events committed from then on reach
   * them); at once when there is no listener. Rejects with the error the listeners' stream
   * ended with (e.g. `PermissionDeniedError`: the key may not subscribe to this scheduler's
   * events), until `addListener` opens another stream.
   */
  listening(): Promise<void> {
    return this.listeners.listening();
  }

  /** Stops the listeners' stream (the jobs are not affected). */
  close(): void {
    this.listeners.close();
  }

  /** The guide's shutdown: stops listening. Jobs keep firing on the server. */
  shutdown(): Promise<void> {
    return this.listeners.shutdown();
  }
}
