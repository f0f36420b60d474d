/**
 * The guide's `SchedulerManager.get_instance(name, …)`: one connection per process, one
 * `Scheduler` per name.
 *
 * ```ts
 * SchedulerManager.configure({ baseUrl: "http://metronome:8080" }); // default: METRONOME_URL
 * const scheduler = SchedulerManager.getInstance();                   // "default"
 * const reports = SchedulerManager.getInstance("report", {
 *   timezone: "Asia/Shanghai",
 *   jobDefaults: { coalesce: true, maxInstances: 3, misfireGraceTime: 60 },
 * });
 * ```
 *
 * The guide's `jobstores` and `executors` have no counterpart: the store is the server's
 * (`SCHEDULER__JOBSTORE_URL`) and handlers run in workers (`Worker`).
 */
import { MetronomeClient, type ClientOptions } from "./client.js";
import type { Scheduler } from "./scheduler.js";
import { type SchedulerSettings } from "./scheduler.js";

/** The server when neither `configure` nor METRONOME_URL says otherwise. */
export const DEFAULT_URL = "http://127.0.0.1:8080";

const state: {
  options: ClientOptions | undefined;
  client: MetronomeClient | undefined;
  readonly instances: Map<string, Scheduler>;
} = { options: undefined, client: undefined, instances: new Map() };

export const SchedulerManager = {
  /** The connection getInstance uses; call it before the first getInstance. */
  configure(options: ClientOptions): void {
    if (state.client !== undefined)
      throw new Error("SchedulerManager.configure: call it before the first getInstance");
    state.options = options;
  },

  /**
   * The scheduler of that name, the same object on every call. With settings, they are applied
   * on the server: the scheduler's next calls wait for them (and fail with their error if the
   * server refuses them).
   */
  getInstance(name = "default", settings?: SchedulerSettings): Scheduler {
    state.client ??= new MetronomeClient(
      state.options ?? { baseUrl: process.env.METRONOME_URL ?? DEFAULT_URL },
    );
    const known = state.instances.get(name);
    if (known !== undefined) {
      // The scheduler's next calls wait for these (and report their failure); logged too, in
      // case no call follows.
      if (settings !== undefined)
        known.configure(settings).catch((err: unknown) => {
          state.client?.logger.error({ err, scheduler: name }, "configuring the scheduler failed");
        });
      return known;
    }
    const scheduler = state.client.scheduler(name, settings);
    state.instances.set(name, scheduler);
    return scheduler;
  },

  /**
   * Stops every instance's listeners and closes the connection (jobs keep firing). A later
   * getInstance opens a new one with the same configuration (`configure` may change it first).
   */
  async shutdown(): Promise<void> {
    const all = [...state.instances.values()];
    state.instances.clear();
    await Promise.all(all.map((s) => s.shutdown()));
    state.client?.close();
    state.client = undefined;
  },
};
