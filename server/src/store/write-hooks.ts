/**
 * The store as management writes to it, with hooks after its writes: the engine hears of each
 * job and scheduler change made through this node at once (server.ts wires them).
 */
import type { EventDraft } from "../domain/events.js";
import type { Job } from "../domain/jobs.js";
import type { ManagementStore, Store } from "./port.js";

/**
 * Management's view of the store, calling `changed.job` with the written job after every job
 * insert or update and `changed.scheduler` after every scheduler write (deletes change nothing
 * the engine must act on: a removed job's pending runs are cancelled in the same operation).
 */
export function withWriteHooks(
  store: Store,
  changed: { job: (job: Job | null) => void; scheduler: () => void },
): ManagementStore {
  const served = store.getJobServed?.bind(store);
  const insertServed = store.insertJobServed?.bind(store);
  return {
    ...(served === undefined ? {} : { getJobServed: served }),
    ...(insertServed === undefined
      ? {}
      : {
          insertJobServed: async (
            job: Job,
            events: readonly EventDraft[],
            now: number,
            exceptNode: string,
          ) => {
            const result = await insertServed(job, events, now, exceptNode);
            if (result.inserted) changed.job(job);
            return result;
          },
        }),
    getScheduler: (name) => store.getScheduler(name),
    listSchedulers: () => store.listSchedulers(),
    pausedSchedulers: () => store.pausedSchedulers(),
    insertScheduler: async (s) => {
      const inserted = await store.insertScheduler(s);
      changed.scheduler();
      return inserted;
    },
    updateScheduler: async (name, change, events) => {
      const updated = await store.updateScheduler(name, change, events);
      changed.scheduler();
      return updated;
    },
    insertJob: async (job, events) => {
      const inserted = await store.insertJob(job, events);
      if (inserted) changed.job(job);
      return inserted;
    },
    getJob: (scheduler, id) => store.getJob(scheduler, id),
    listJobs: (query) => store.listJobs(query),
    countJobs: (scheduler) => store.countJobs(scheduler),
    updateJob: async (scheduler, id, change, now, events) => {
      const updated = await store.updateJob(scheduler, id, change, now, events);
      changed.job(updated);
      return updated;
    },
    deleteJob: (scheduler, id, options) => store.deleteJob(scheduler, id, options),
    deleteAllJobs: (scheduler, options) => store.deleteAllJobs(scheduler, options),
    cancelPendingRuns: (scheduler, options) => store.cancelPendingRuns(scheduler, options),
  };
}
