/**
 * Scheduler use cases: configure (time zone, job defaults), pause and resume, get and list; and
 * the scheduler settings the job use cases apply (created with the server defaults on first
 * use). Writes go through the store with compare-and-set versions, so that concurrent requests
 * on several nodes lose no update.
 */
import type { Clock } from "../clock.js";
import { NotFoundError } from "../domain/errors.js";
import { schedulerEvent } from "../domain/events.js";
import {
  DEFAULT_LIMITS,
  checkId,
  checkSettings,
  type JobSettings,
  type Limits,
  type Scheduler,
} from "../domain/jobs.js";
import { ZoneRules } from "../domain/triggers/index.js";
import { sameJson } from "../lib/same-json.js";
import type { Store } from "../store/store.js";
import type { ServerDefaults } from "./job-input.js";

export const DEFAULT_SCHEDULER = "default";

/**
 * How long a node reuses a scheduler's settings (time zone, job defaults) for adding and
 * modifying jobs before reading them again: a change made through another node reaches this one
 * within this time; a change made here applies at once. Saves a query per AddJob.
 */
const SCHEDULER_CACHE_MS = 1000;

export class SchedulerManager {
  private readonly cache = new Map<string, { scheduler: Scheduler; at: number }>();

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    readonly defaults: ServerDefaults,
    private readonly limits: Limits = DEFAULT_LIMITS,
    /** This node's id, recorded in the events of the changes made through it. */
    private readonly nodeId = "local",
  ) {}

  /** The scheduler, created with the server defaults on first use. */
  async scheduler(name: string = DEFAULT_SCHEDULER): Promise<Scheduler> {
    return (await this.ensureScheduler(name)).scheduler;
  }

  /** A scheduler's settings without creating it (the server defaults when it does not exist). */
  async settingsOf(name: string): Promise<Scheduler> {
    const cached = this.cache.get(name);
    if (cached && performance.now() - cached.at < SCHEDULER_CACHE_MS) return cached.scheduler;
    const found = await this.store.getScheduler(name);
    if (found) return this.remember(found);
    return this.defaultScheduler(name, 0);
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
}
