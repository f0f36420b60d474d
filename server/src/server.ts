/**
 * A running Metronome node: store, management, API and listener, with an orderly stop.
 * `main.ts` builds one from the configuration; tests build them on port 0.
 */
import type { Clock } from "./clock.js";
import type { Config } from "./config.js";
import { type Listener, listen } from "./api/listen.js";
import { withProbes } from "./api/probes.js";
import { apiHandler } from "./api/router.js";
import { StoreMonitor } from "./api/services/health.js";
import type { Logger } from "./logger.js";
import { JobManager, type ServerDefaults } from "./management/jobs.js";
import { openStore } from "./store/open.js";
import type { Job } from "./domain/jobs.js";
import type { ManagementStore, Store } from "./store/port.js";
import { Engine } from "./engine/engine.js";
import { EventLog } from "./events/log.js";
import { EventHub } from "./events/hub.js";
import { VERSION } from "./version.js";

export interface Node {
  readonly listener: Listener;
  readonly store: Store;
  readonly engine: Engine;
  readonly jobs: JobManager;
  readonly events: EventLog;
  readonly hub: EventHub;
  /**
   * Stop accepting, let the runs this node's workers are running finish and open requests end
   * (up to the configured grace), end the worker sessions, close the store.
   */
  stop(options?: StopOptions): Promise<void>;
}

export interface StopOptions {
  /** Called once, when the stop waits for runs in flight: how many, and for how long at most. */
  readonly waiting?: (runs: number, graceMs: number) => void;
}

export function serverDefaults(config: Config): ServerDefaults {
  const s = config.scheduler;
  return {
    timezone: s.timezone,
    settings: {
      coalesce: s.coalesce,
      maxInstances: s.maxInstances,
      misfireGraceTimeMs:
        s.misfireGraceTimeSeconds === null ? null : s.misfireGraceTimeSeconds * 1000,
    },
  };
}

export async function startNode(config: Config, log: Logger, clock: Clock): Promise<Node> {
  const store = openStore(config.store);
  try {
    if (config.migrateOnStart) await store.migrate();
  } catch (err) {
    await store.close();
    throw err;
  }
  const defaults = serverDefaults(config);
  const events = new EventLog(store, clock, log.child({ component: "events" }), {
    retentionMs: config.retention.eventsSeconds * 1000,
  });
  const hub = new EventHub(store, log.child({ component: "event-hub" }), {
    bufferEvents: config.events.bufferEvents,
    maxQueuedEvents: config.events.subscriberQueue,
  });
  events.onSequenced(() => {
    hub.poke();
  });
  try {
    await hub.start();
  } catch (err) {
    await store.close();
    throw err;
  }
  const engine = new Engine(store, clock, log.child({ component: "engine" }), {
    firing: config.scheduler.enabled,
    nodeId: config.nodeId,
    leaseMs: config.engine.leaseMs,
    pollIntervalMs: config.engine.pollIntervalMs,
    runRetentionMs: config.retention.runsSeconds * 1000,
  });
  // Job and scheduler changes made through this node wake its engine when they need to.
  const jobs = new JobManager(
    withWriteHooks(store, {
      job: (job) => {
        engine.jobsChanged(job?.nextRunTime ?? null);
      },
      scheduler: () => {
        engine.jobsChanged();
      },
    }),
    clock,
    defaults,
    {
      maxIdLength: 191,
      maxPayloadBytes: config.limits.maxPayloadBytes,
      maxPageSize: config.limits.maxPageSize,
    },
    config.nodeId,
  );
  const monitor = new StoreMonitor(store, log);
  monitor.start();
  let stopping = false;
  /** Migrations are only ever added: once the schema is current it stays so. */
  let schemaCurrent = config.migrateOnStart;
  const readiness = async (): Promise<string | null> => {
    if (stopping) return "the node is stopping";
    if (!(await monitor.check())) return "the job store is unavailable";
    if (!schemaCurrent) {
      const pending = await store.pendingMigrations();
      if (pending > 0)
        return `${String(pending)} database migration${pending === 1 ? "" : "s"} not applied (run metronome migrate)`;
      schemaCurrent = true;
    }
    return null;
  };
  const api = apiHandler({
    jobs,
    engine,
    clock,
    log,
    monitor,
    hub,
    defaults,
    maxPageSize: config.limits.maxPageSize,
    maxPayloadBytes: config.limits.maxPayloadBytes,
    authTokens: config.server.authTokens,
  });
  let listener: Listener;
  try {
    listener = await listen(withProbes(api, readiness), {
      host: config.server.host,
      port: config.server.port,
      tls: config.server.tls ?? undefined,
      onError: (err) => {
        log.error({ err }, "listener error");
      },
    });
  } catch (err) {
    monitor.stop();
    await hub.stop();
    await store.close();
    throw err;
  }
  events.start();
  engine.start();
  log.info(
    { version: VERSION, address: listener.address, store: config.store.kind, pid: process.pid },
    "metronome listening",
  );
  return {
    listener,
    store,
    engine,
    jobs,
    events,
    hub,
    stop: async (options = {}) => {
      stopping = true;
      const graceMs = config.server.shutdownGraceSeconds * 1000;
      // Subscriptions end first (their streams would hold the listener open for the grace).
      await hub.stop();
      // No new runs for this node's workers; those they are running may finish within the grace.
      engine.drainSessions();
      const closed = listener.close(graceMs);
      const running = engine.runsInFlight();
      if (running > 0) {
        if (options.waiting) options.waiting(running, graceMs);
        else log.info({ runs: running, graceMs }, "waiting for runs to finish");
        const grace = new AbortController();
        const timer = setTimeout(() => {
          grace.abort();
        }, graceMs);
        const settled = await engine.runsSettled(grace.signal);
        clearTimeout(timer);
        if (!settled)
          log.warn(
            { runs: engine.runsInFlight() },
            "stopping with runs still running: their workers report them through another node, or their leases expire",
          );
      }
      // Idle worker sessions would hold the listener open for the whole grace.
      engine.endSessions();
      await closed;
      await engine.stop();
      // The events of the last changes get their cursors before the store closes.
      await events.flush();
      await events.stop();
      monitor.stop();
      await store.close();
      log.info("metronome stopped");
    },
  };
}

/**
 * Management's view of the store, calling `changed.job` with the written job after every job
 * insert or update and `changed.scheduler` after every scheduler write (deletes change nothing
 * the engine must act on: a removed job's pending runs are cancelled in the same operation).
 */
function withWriteHooks(
  store: Store,
  changed: { job: (job: Job | null) => void; scheduler: () => void },
): ManagementStore {
  return {
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
    updateJob: async (scheduler, id, change, now, events) => {
      const updated = await store.updateJob(scheduler, id, change, now, events);
      changed.job(updated);
      return updated;
    },
    deleteJob: (scheduler, id, options) => store.deleteJob(scheduler, id, options),
    deleteAllJobs: (scheduler, options) => store.deleteAllJobs(scheduler, options),
  };
}
