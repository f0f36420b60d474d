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
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { MetronomeClient } from "./client.js";
import { AlreadyExistsError, NotFoundError, toMetronomeError } from "../rpc-errors.js";
import {
  EVENT_ALL,
  eventCode,
  typesOfMask,
  type EventStream,
  type MetronomeEvent,
  type RunStatusName,
} from "./events.js";
import type { Job as PbJob, JobSchema } from "../gen/metronome/v1/job_pb.js";
import { ConflictPolicy, JobOrder } from "../gen/metronome/v1/job_service_pb.js";
import type { Args, HandlerDef, Kwargs } from "../handlers.js";
import {
  argsToProto,
  jobFromProto,
  kwargsToProto,
  settingsToProto,
  type Job,
  type JobOptions,
  type JobSettings,
} from "./jobs.js";
import { childLogger, type WorkerLogger } from "../logger.js";
import { RUN_STATUS, runFromProto, type Run } from "./runs.js";
import { Trigger, triggerOf, type TriggerFields, type TriggerKind } from "./triggers.js";

/** A listener: called with each matching event, in order; a returned promise is awaited. */
export type Listener = (event: MetronomeEvent) => void | Promise<void>;

/** A handler to run: its typed definition, or its name (arguments then untyped). */
export type HandlerRef<A extends Args, K extends Kwargs> = HandlerDef<A, K> | string;

/** `addJob`'s string mode: the trigger kind's fields and the job's options in one object. */
export type StringModeOptions<
  T extends TriggerKind,
  A extends Args,
  K extends Kwargs,
> = TriggerFields[T] & JobOptions<A, K>;

/** `addJob`'s keyword form: `addJob({ func, trigger, id, … })`. */
export type AddJobSpec<A extends Args, K extends Kwargs> = JobOptions<A, K> & {
  readonly func: HandlerRef<A, K>;
  readonly trigger: Trigger;
};

/** Options after a trigger object: required when the handler has required arguments. */
export type OptionsArg<A extends Args, K extends Kwargs> =
  Partial<JobOptions<A, K>> extends JobOptions<A, K>
    ? [options?: JobOptions<A, K>]
    : [options: JobOptions<A, K>];

/** What `modifyJob` may change (the guide's modify_job); the rest stays. */
export interface JobChanges<A extends Args = Args, K extends Kwargs = Kwargs> extends JobSettings {
  readonly name?: string | undefined;
  readonly func?: HandlerRef<A, K> | undefined;
  readonly trigger?: Trigger | undefined;
  readonly args?: A | undefined;
  readonly kwargs?: K | undefined;
}

/** The guide's `get_instance` options: the scheduler's time zone and job defaults. */
export interface SchedulerSettings {
  readonly timezone?: string | undefined;
  readonly jobDefaults?:
    Pick<JobSettings, "coalesce" | "maxInstances" | "misfireGraceTime"> | undefined;
}

const OPTION_KEYS = new Set([
  "id",
  "name",
  "args",
  "kwargs",
  "replaceExisting",
  "paused",
  "coalesce",
  "maxInstances",
  "misfireGraceTime",
  "timeout",
  "retry",
]);

/** Splits string mode's one object into the trigger's fields and the job's options. */
function splitStringMode(all: object): [fields: object, options: JobOptions] {
  const fields: Record<string, unknown> = {};
  const options: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(all)) (OPTION_KEYS.has(k) ? options : fields)[k] = v;
  return [fields, options];
}

/** Awaits a call, turning its error into the typed one (client-errors.ts). */
async function call<T>(p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (err) {
    throw toMetronomeError(err);
  }
}

function jobOf(res: { job?: PbJob | undefined; warnings?: readonly string[] }): Job {
  if (res.job === undefined) throw new Error("the server answered without the job");
  return jobFromProto(res.job, res.warnings ?? []);
}

export class Scheduler {
  private readonly listeners = new Map<Listener, number>();
  private stream: EventStream | undefined;
  private pump: Promise<void> | undefined;
  private streamMask = 0;
  /** The cursor of the last event whose dispatch began (a new stream resumes after it). */
  private dispatched: bigint | undefined;
  private readonly log: WorkerLogger;
  /** Jobs declared with `scheduledJob` before `start()`. */
  private readonly declared: (() => Promise<unknown>)[] = [];
  private started = false;
  /** The settings given to the constructor, applied on the server (first call waits). */
  private readonly ready: Promise<void>;

  constructor(
    readonly client: MetronomeClient,
    readonly name: string,
    settings?: SchedulerSettings,
  ) {
    this.log = childLogger(client.logger, { scheduler: name });
    this.ready = settings === undefined ? Promise.resolve() : this.configure(settings);
    // A failed configuration is reported by every call that waits for it.
    this.ready.catch(() => undefined);
  }

  private get opts() {
    return { headers: this.client.headers };
  }

  /** Applies a time zone and job defaults to the scheduler on the server (creating it). */
  async configure(settings: SchedulerSettings): Promise<void> {
    const d = settings.jobDefaults ?? {};
    const defaults = settingsToProto(d);
    const paths = [
      ...(settings.timezone === undefined ? [] : ["timezone"]),
      ...(d.coalesce === undefined ? [] : ["job_defaults.coalesce"]),
      ...(d.maxInstances === undefined ? [] : ["job_defaults.max_instances"]),
      ...(d.misfireGraceTime === undefined ? [] : ["job_defaults.misfire_grace_time"]),
    ];
    await call(
      this.client.schedulers.configureScheduler(
        {
          name: this.name,
          timezone: settings.timezone ?? "",
          jobDefaults: {
            ...(defaults.coalesce === undefined ? {} : { coalesce: defaults.coalesce }),
            ...(defaults.maxInstances === undefined ? {} : { maxInstances: defaults.maxInstances }),
            misfireGraceTime: defaults.misfireGraceTime,
          },
          updateMask: { paths },
        },
        this.opts,
      ),
    );
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
    let func: HandlerRef<Args, Kwargs>;
    let t: Trigger;
    let o: JobOptions;
    if (typeof first === "object" && "func" in first) {
      const { func: f, trigger: tr, ...rest } = first;
      func = f;
      t = tr;
      o = rest;
    } else if (typeof trigger === "string") {
      func = first;
      const [fields, rest] = splitStringMode(options ?? {});
      t = triggerOf(trigger, fields as never);
      o = rest;
    } else if (trigger instanceof Trigger) {
      func = first;
      t = trigger;
      o = options ?? {};
    } else {
      throw new TypeError(
        'addJob: give a trigger: an object, or "cron", "crontab", "interval", "date"',
      );
    }
    await this.ready;
    try {
      const res = await call(
        this.client.jobs.addJob(
          {
            job: this.jobMessage(func, t, o),
            conflictPolicy:
              o.replaceExisting === true ? ConflictPolicy.REPLACE : ConflictPolicy.ERROR,
          },
          this.opts,
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

  private jobMessage(
    func: HandlerRef<Args, Kwargs>,
    trigger: Trigger,
    o: JobOptions,
  ): MessageInitShape<typeof JobSchema> {
    return {
      scheduler: this.name,
      id: o.id ?? "",
      name: o.name ?? "",
      handler: typeof func === "string" ? func : func.name,
      trigger: trigger.toProto(),
      args: argsToProto(o.args),
      kwargs: kwargsToProto(o.kwargs),
      paused: o.paused ?? false,
      ...settingsToProto(o),
    };
  }

  /**
   * The guide's decorator (`@scheduler.scheduled_job(trigger)`): returns the handler unchanged
   * (register it with a worker) and adds its job — replacing one with the same id, so that every
   * deploy may declare it again — at `start()`, or at once once started. The id defaults to the
   * handler name.
   */
  scheduledJob(
    trigger: Trigger,
    options: JobOptions = {},
  ): <A extends Args, K extends Kwargs>(handler: HandlerDef<A, K>) => HandlerDef<A, K> {
    return <A extends Args, K extends Kwargs>(handler: HandlerDef<A, K>) => {
      const o = { id: handler.name, ...options, replaceExisting: true } as JobOptions<A, K>;
      const add = () => this.addJob(handler, trigger, ...([o] as OptionsArg<A, K>));
      if (this.started)
        add().catch((err: unknown) => {
          this.log.error({ err, job: o.id }, "adding a scheduledJob failed");
        });
      else this.declared.push(add);
      return handler;
    };
  }

  /**
   * Adds the jobs declared with `scheduledJob` (later declarations are added at once). The jobs
   * fire on the server whether or not this process runs: this only declares them.
   */
  async start(): Promise<void> {
    await this.ready;
    this.started = true;
    await Promise.all(this.declared.splice(0).map((add) => add()));
  }

  /** Every job of the scheduler (all pages), by id or by next run time. */
  async getJobs(
    filter: {
      readonly handler?: string;
      readonly paused?: boolean;
      readonly idPrefix?: string;
      readonly namePrefix?: string;
      readonly orderBy?: "id" | "next_run_time";
    } = {},
  ): Promise<Job[]> {
    await this.ready;
    const jobs: Job[] = [];
    let pageToken = "";
    do {
      const page = await call(
        this.client.jobs.listJobs(
          {
            scheduler: this.name,
            handler: filter.handler ?? "",
            ...(filter.paused === undefined ? {} : { paused: filter.paused }),
            idPrefix: filter.idPrefix ?? "",
            namePrefix: filter.namePrefix ?? "",
            orderBy: filter.orderBy === "next_run_time" ? JobOrder.NEXT_RUN_TIME : JobOrder.ID,
            pageSize: 1000,
            pageToken,
          },
          this.opts,
        ),
      );
      for (const j of page.jobs) jobs.push(jobFromProto(j));
      pageToken = page.nextPageToken;
    } while (pageToken !== "");
    return jobs;
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
  async pauseJob(id: string): Promise<Job> {
    await this.ready;
    return jobOf(
      await call(this.client.jobs.pauseJob({ scheduler: this.name, jobId: id }, this.opts)),
    );
  }

  /**
   * Resumes a job: its next fire time counts from now. A job whose trigger has no fire time left
   * is removed instead (`removed: true`).
   */
  async resumeJob(id: string): Promise<Job & { readonly removed: boolean }> {
    await this.ready;
    const res = await call(
      this.client.jobs.resumeJob({ scheduler: this.name, jobId: id }, this.opts),
    );
    return { ...jobOf(res), removed: res.removed };
  }

  /** Removes a job (NotFoundError if there is none); runs in progress finish. */
  async removeJob(id: string): Promise<void> {
    await this.ready;
    await call(this.client.jobs.removeJob({ scheduler: this.name, jobId: id }, this.opts));
  }

  /** Removes every job of the scheduler; answers how many. */
  async removeAllJobs(): Promise<number> {
    await this.ready;
    const res = await call(this.client.jobs.removeAllJobs({ scheduler: this.name }, this.opts));
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
    const paths: string[] = [];
    const set = (key: keyof JobChanges, path: string) => {
      if (key in changes) paths.push(path);
    };
    set("name", "name");
    set("func", "handler");
    set("trigger", "trigger");
    set("args", "args");
    set("kwargs", "kwargs");
    set("coalesce", "coalesce");
    set("maxInstances", "max_instances");
    set("misfireGraceTime", "misfire_grace_time");
    set("timeout", "timeout");
    set("retry", "retry_policy");
    const func = changes.func;
    const res = await call(
      this.client.jobs.modifyJob(
        {
          job: {
            scheduler: this.name,
            id,
            name: changes.name ?? "",
            handler: func === undefined ? "" : typeof func === "string" ? func : func.name,
            trigger: changes.trigger?.toProto(),
            args: argsToProto(changes.args),
            kwargs: kwargsToProto(changes.kwargs),
            ...settingsToProto(changes),
          },
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
  async runJob(id: string): Promise<Run> {
    await this.ready;
    const res = await call(
      this.client.jobs.runJobNow({ scheduler: this.name, jobId: id }, this.opts),
    );
    if (res.run === undefined) throw new Error("the server answered RunJobNow without the run");
    return runFromProto(res.run);
  }

  /** The scheduler's (or one job's) most recent runs, newest first (at most `limit`, 100). */
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
          pageSize: options.limit ?? 100,
        },
        this.opts,
      ),
    );
    return res.runs.map(runFromProto);
  }

  /** Cancels a run: a pending one never starts, a running one's handler is told to stop. */
  async cancelRun(runId: string, reason = ""): Promise<Run> {
    const res = await call(this.client.runs.cancelRun({ runId, reason }, this.opts));
    if (res.run === undefined) throw new Error("the server answered CancelRun without the run");
    return runFromProto(res.run);
  }

  /** Pauses the whole scheduler: none of its jobs fires until resumed. */
  async pause(): Promise<void> {
    await this.ready;
    await call(this.client.schedulers.pauseScheduler({ name: this.name }, this.opts));
  }

  /** Resumes the scheduler (fire times during the pause follow the misfire rules). */
  async resume(): Promise<void> {
    await this.ready;
    await call(this.client.schedulers.resumeScheduler({ name: this.name }, this.opts));
  }

  // ---- listeners ----

  /**
   * Calls `listener` with every later event of this scheduler (and the node and worker events,
   * which belong to no scheduler) whose type is in `mask` (EVENT_* constants combined with |).
   * Events are delivered once each and in order, across reconnections; a listener that throws
   * is logged and does not stop the others.
   */
  addListener(listener: Listener, mask: number = EVENT_ALL): void {
    typesOfMask(mask); // throws on a mask that is not one
    this.listeners.set(listener, mask);
    this.follow();
  }

  removeListener(listener: Listener): void {
    this.listeners.delete(listener);
    if (this.listeners.size === 0) this.stop();
  }

  /**
   * Resolves once the listeners receive live events (events committed from then on reach
   * them); at once when there is no listener.
   */
  listening(): Promise<void> {
    return this.stream?.whenLive() ?? Promise.resolve();
  }

  /** Stops the listeners' stream (the jobs are not affected). */
  close(): void {
    this.listeners.clear();
    this.stop();
  }

  /** The guide's shutdown: stops listening. Jobs keep firing on the server. */
  shutdown(): Promise<void> {
    this.close();
    return this.pump ?? Promise.resolve();
  }

  private stop(): void {
    this.stream?.close();
    this.stream = undefined;
    this.streamMask = 0;
  }

  /** (Re)subscribes when the listeners want types the current stream does not carry. */
  private follow(): void {
    let mask = 0;
    for (const m of this.listeners.values()) mask |= m;
    if (this.stream !== undefined && (mask & ~this.streamMask) === 0) return;
    // Resume after the last event the listeners were given, so that none is given twice or
    // falls between the two streams (the old one stops before its next event).
    const previous = this.stream;
    const after = this.dispatched ?? previous?.cursor;
    previous?.close();
    this.streamMask = mask;
    const stream = this.client.subscribe({
      filter: { types: typesOfMask(mask) },
      afterCursor: after,
    });
    this.stream = stream;
    const prior = this.pump ?? Promise.resolve();
    this.pump = prior.then(() => this.deliver(stream));
  }

  private async deliver(stream: EventStream): Promise<void> {
    try {
      for await (const event of stream) {
        this.dispatched = event.cursor;
        await this.dispatch(event);
      }
    } catch (err) {
      this.log.error({ err }, "the event stream of the listeners ended with an error");
    }
  }

  private async dispatch(event: MetronomeEvent): Promise<void> {
    if ("scheduler" in event && event.scheduler !== this.name) return;
    const bit = eventCode(event.type);
    for (const [listener, mask] of [...this.listeners]) {
      if ((mask & bit) === 0) continue;
      try {
        await listener(event);
      } catch (err) {
        this.log.error({ err, type: event.type, cursor: String(event.cursor) }, "listener failed");
      }
    }
  }
}
