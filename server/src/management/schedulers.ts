/**
 * Scheduler use cases: configure (time zone, job defaults), pause and resume, get and list; and
 * the scheduler settings the job use cases apply (created with the server defaults on first
 * use). Writes go through the store with compare-and-set versions, so that concurrent requests
 * on several nodes lose no update. Errors name the fields of the requests (`name`,
 * `job_defaults.max_instances`).
 */
import type { Clock } from "../clock.js";
import { InvalidArgumentError, NotFoundError } from "../domain/errors.js";
import { at } from "../domain/fields.js";
import { byActor, schedulerEvent } from "../domain/events.js";
import {
  DEFAULT_LIMITS,
  checkId,
  checkSettings,
  type JobSettings,
  type Limits,
  type Scheduler,
} from "../domain/jobs.js";
import { ZoneRules } from "../domain/triggers/index.js";
import { currentActor } from "../lib/actor.js";
import { sameJson } from "../lib/same-json.js";
import { decodePageToken, encodePageToken } from "../store/paging.js";
import type { ManagementStore, Page } from "../store/port.js";
import type { ServerDefaults } from "./job-input.js";
import type { RunControl } from "./run-control.js";

export const DEFAULT_SCHEDULER = "default";

/** The paths a ConfigureScheduler field mask may name. */
const MASK_PATHS = [
  "timezone",
  "job_defaults",
  "job_defaults.coalesce",
  "job_defaults.max_instances",
  "job_defaults.misfire_grace_time",
];

export interface ConfigureSchedulerRequest {
  readonly name: string;
  /** undefined: unchanged (unless the mask names it). */
  readonly timezone?: string | undefined;
  /** The defaults given (each undefined: not given). */
  readonly jobDefaults?: Partial<JobSettings> | undefined;
  /** The paths of the field mask; empty: the fields given change. */
  readonly updateMask?: readonly string[] | undefined;
}

/**
 * How long a node reuses a scheduler's settings (time zone, job defaults) for adding and
 * modifying jobs before reading them again: a change made through another node reaches this one
 * within this time; a change made here applies at once. Saves a query per AddJob.
 */
const SCHEDULER_CACHE_MS = 1000;

export class SchedulerManager {
  private readonly cache = new Map<string, { scheduler: Scheduler; at: number }>();
  /**
   * The store reads and creations under way, per scheduler: the concurrent requests that miss
   * the cache (an AddJobs call adds its 1,000 jobs at once) share one instead of each sending
   * its own, which queued thousands of statements on the store's connections.
   */
  private readonly reads = new Map<string, Promise<Scheduler | null>>();
  private readonly creations = new Map<
    string,
    Promise<{ scheduler: Scheduler; created: boolean }>
  >();

  constructor(
    private readonly store: ManagementStore,
    private readonly clock: Clock,
    private readonly runs: Pick<RunControl, "withdrawPreparedRuns">,
    readonly defaults: ServerDefaults,
    private readonly limits: Limits = DEFAULT_LIMITS,
    /** This node's id, recorded in the events of the changes made through it. */
    private readonly nodeId = "local",
  ) {}

  /** The scheduler, created with the server defaults on first use. */
  async scheduler(name: string = DEFAULT_SCHEDULER): Promise<Scheduler> {
    return (await this.ensureScheduler(name)).scheduler;
  }

  /**
   * A scheduler named by a request, without creating it: its settings, or the server defaults
   * it would be created with (version 0). Its name is checked (`scheduler`).
   */
  named(name: string = DEFAULT_SCHEDULER): Promise<Scheduler> {
    checkId(name, "scheduler", this.limits);
    return this.settingsOf(name);
  }

  /**
   * A scheduler's settings without creating it (the server defaults, version 0, when it does not
   * exist). An absent scheduler is remembered too: the first AddJobs to a new scheduler validates
   * its jobs one after the other, and each read it again (1,000 reads for 1,000 jobs). Creating
   * it here replaces the entry; a creation through another node is seen within
   * SCHEDULER_CACHE_MS, as a change is, and ensureScheduler's insert finds it there.
   */
  async settingsOf(name: string): Promise<Scheduler> {
    const cached = this.cache.get(name);
    if (cached && performance.now() - cached.at < SCHEDULER_CACHE_MS) return cached.scheduler;
    const found = await this.read(name);
    return this.remember(found ?? this.defaultScheduler(name, 0));
  }

  /** The stored scheduler, read once for the requests that ask meanwhile. */
  private read(name: string): Promise<Scheduler | null> {
    let reading = this.reads.get(name);
    if (reading === undefined) {
      reading = this.store.getScheduler(name).finally(() => {
        this.reads.delete(name);
      });
      this.reads.set(name, reading);
    }
    return reading;
  }

  async getScheduler(name: string): Promise<Scheduler> {
    checkId(name, "name", this.limits);
    const found = await this.store.getScheduler(name);
    if (!found) throw new NotFoundError(`scheduler ${JSON.stringify(name)}`);
    return found;
  }

  /**
   * Schedulers in name order, a page at a time (the token: the last name of the page before).
   * With `visible`, only the schedulers it admits are listed, and paged: a page is full and its
   * token names a scheduler of the listing, never one the caller may not see.
   */
  async listSchedulers(
    pageSize: number,
    pageToken: string,
    visible: (name: string) => boolean = () => true,
  ): Promise<Page<Scheduler>> {
    let after = "";
    if (pageToken !== "") {
      const key = decodePageToken(pageToken);
      if (key?.length !== 1 || typeof key[0] !== "string")
        throw new InvalidArgumentError(
          "page_token",
          "is not a token from a previous page of this listing",
        );
      after = key[0];
    }
    const all = await this.store.listSchedulers();
    const rest = all.filter((s) => s.name > after && visible(s.name));
    const items = rest.slice(0, pageSize);
    const last = items[items.length - 1];
    return {
      items,
      nextPageToken: rest.length > pageSize && last ? encodePageToken([last.name]) : "",
    };
  }

  /**
   * Change a scheduler's time zone or job defaults, creating it if needed. Without a mask, the
   * fields given change; with one, exactly the fields it names do, and a named field left
   * unset returns to the server default. Nothing is created or changed when the request is
   * invalid.
   */
  async configureScheduler(
    req: ConfigureSchedulerRequest,
  ): Promise<{ scheduler: Scheduler; created: boolean }> {
    checkId(req.name, "name", this.limits);
    const given = req.jobDefaults ?? {};
    const mask = req.updateMask ?? [];
    for (const p of mask) {
      if (!MASK_PATHS.includes(p))
        throw new InvalidArgumentError(
          "update_mask",
          `unknown path ${JSON.stringify(p)}; allowed: ${MASK_PATHS.join(", ")}`,
        );
    }
    let timezone = req.timezone;
    let defaults: Partial<JobSettings> = given;
    if (mask.length > 0) {
      const server = this.defaults;
      const pick = <K extends keyof JobSettings>(
        path: string,
        key: K,
      ): JobSettings[K] | undefined =>
        mask.includes(path) || mask.includes("job_defaults")
          ? // (A misfire grace of null, "no limit", is a value given, not a missing one.)
            given[key] !== undefined
            ? given[key]
            : server.settings[key]
          : undefined;
      timezone = mask.includes("timezone") ? req.timezone || server.timezone : undefined;
      defaults = {};
      const c = pick("job_defaults.coalesce", "coalesce");
      const m = pick("job_defaults.max_instances", "maxInstances");
      const g = pick("job_defaults.misfire_grace_time", "misfireGraceTimeMs");
      if (c !== undefined) defaults = { ...defaults, coalesce: c };
      if (m !== undefined) defaults = { ...defaults, maxInstances: m };
      if (g !== undefined) defaults = { ...defaults, misfireGraceTimeMs: g };
    }
    const zone = timezone === undefined ? undefined : ZoneRules.of(timezone, "timezone").name;
    // Each field is checked on its own: refused before anything is created.
    at("job_defaults", () => checkSettings({ ...this.defaults.settings, ...defaults }));
    return this.updateScheduler(req.name, (s) => ({
      ...s,
      timezone: zone ?? s.timezone,
      defaults: { ...s.defaults, ...defaults },
    }));
  }

  /**
   * Pauses the scheduler, and withdraws the runs its claims prepared for fire times from now on
   * (its jobs' next run times rewound): the pause's fire times follow the misfire rules at the
   * resume, with `coalesce` one run. The resume withdraws again from its last change, for a claim
   * that raced the pause. (Withdrawing only at the resume, from the scheduler's last change, left
   * the runs prepared before a ConfigureScheduler made while paused: they ran besides the
   * coalesced one.)
   */
  async pauseScheduler(name: string): Promise<Scheduler> {
    checkId(name, "name", this.limits);
    const since = this.clock.now();
    const { scheduler } = await this.updateScheduler(name, (s) => ({ ...s, paused: true }));
    await this.runs.withdrawPreparedRuns(name, since);
    return scheduler;
  }

  async resumeScheduler(name: string): Promise<Scheduler> {
    checkId(name, "name", this.limits);
    const before = await this.store.getScheduler(name);
    // While it is still paused (no claim touches it), withdraw the runs prepared by a claim that
    // raced the pause (its last change, or a later one) for the fire times that passed during it.
    if (before?.paused === true) await this.runs.withdrawPreparedRuns(name, before.updatedAt);
    return (await this.updateScheduler(name, (s) => ({ ...s, paused: false }))).scheduler;
  }

  /** The scheduler, created with the server defaults if needed (`created`: by this call). */
  private async ensureScheduler(name: string): Promise<{ scheduler: Scheduler; created: boolean }> {
    checkId(name, "scheduler", this.limits);
    const known = await this.settingsOf(name);
    if (known.version > 0) return { scheduler: known, created: false };
    // Created once for the requests that ask meanwhile; `created` is the first one's.
    const pending = this.creations.get(name);
    if (pending !== undefined) return { scheduler: (await pending).scheduler, created: false };
    const creation = this.create(name).finally(() => {
      this.creations.delete(name);
    });
    this.creations.set(name, creation);
    return creation;
  }

  private async create(name: string): Promise<{ scheduler: Scheduler; created: boolean }> {
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

  private remember(scheduler: Scheduler): Scheduler {
    if (this.cache.size >= 10_000) this.cache.clear();
    this.cache.set(scheduler.name, { scheduler, at: performance.now() });
    return scheduler;
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
        const actor = currentActor();
        return {
          ...next,
          updatedAt: now,
          version: current.version + 1,
          ...(actor === undefined ? {} : { modifiedBy: actor }),
        };
      },
      (before, after) =>
        before.paused === after.paused
          ? []
          : byActor(
              [
                schedulerEvent(
                  after.paused ? "scheduler_paused" : "scheduler_resumed",
                  name,
                  now,
                  this.nodeId,
                ),
              ],
              currentActor(),
            ),
    );
    if (!updated) throw new NotFoundError(`scheduler ${JSON.stringify(name)}`);
    return { scheduler: this.remember(updated), created };
  }
}
