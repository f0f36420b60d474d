/**
 * A running Metronome node: store, management, API and listener, with an orderly stop.
 * `main.ts` builds one from the configuration; tests build them on port 0.
 */
import type { Clock } from "./clock.js";
import type { Config } from "./config.js";
import { type Listener, listen } from "./api/listen.js";
import { apiHandler } from "./api/router.js";
import { StoreMonitor } from "./api/services/health.js";
import type { Logger } from "./logger.js";
import { JobManager, type ServerDefaults } from "./management/jobs.js";
import { openStore } from "./store/open.js";
import type { Store } from "./store/store.js";
import { Engine } from "./engine/engine.js";

export interface Node {
  readonly listener: Listener;
  readonly store: Store;
  readonly engine: Engine;
  readonly jobs: JobManager;
  /** Stop accepting, finish open requests (up to the configured grace), close the store. */
  stop(): Promise<void>;
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
  const engine = new Engine(store.engineDb(), clock, log.child({ component: "engine" }), {
    firing: config.scheduler.enabled,
    nodeId: config.nodeId,
    leaseMs: config.engine.leaseMs,
    pollIntervalMs: config.engine.pollIntervalMs,
    runRetentionMs: config.retention.runsSeconds * 1000,
  });
  // Job and scheduler changes made through this node wake its engine at once.
  const jobs = new JobManager(
    withWriteHook(store, () => {
      engine.jobsChanged();
    }),
    clock,
    defaults,
    {
      maxIdLength: 191,
      maxPayloadBytes: config.limits.maxPayloadBytes,
      maxPageSize: config.limits.maxPageSize,
    },
  );
  const monitor = new StoreMonitor(store, log);
  monitor.start();
  const handler = apiHandler({
    jobs,
    engine,
    clock,
    log,
    monitor,
    defaults,
    maxPageSize: config.limits.maxPageSize,
    maxPayloadBytes: config.limits.maxPayloadBytes,
    authTokens: config.server.authTokens,
  });
  let listener: Listener;
  try {
    listener = await listen(handler, {
      host: config.server.host,
      port: config.server.port,
      tls: config.server.tls ?? undefined,
      onError: (err) => {
        log.error({ err }, "listener error");
      },
    });
  } catch (err) {
    monitor.stop();
    await store.close();
    throw err;
  }
  engine.start();
  log.info({ address: listener.address, store: config.store.kind }, "metronome listening");
  return {
    listener,
    store,
    engine,
    jobs,
    stop: async () => {
      await listener.close(config.server.shutdownGraceSeconds * 1000);
      await engine.stop();
      monitor.stop();
      await store.close();
      log.info("metronome stopped");
    },
  };
}

/** The store, calling `changed` after every successful job or scheduler write. */
function withWriteHook(store: Store, changed: () => void): Store {
  const after =
    <A extends unknown[], R>(op: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      const result = await op(...args);
      changed();
      return result;
    };
  return {
    migrate: () => store.migrate(),
    engineDb: () => store.engineDb(),
    ping: () => store.ping(),
    close: () => store.close(),
    getScheduler: (name) => store.getScheduler(name),
    listSchedulers: () => store.listSchedulers(),
    insertScheduler: after((s) => store.insertScheduler(s)),
    updateScheduler: after((name, change) => store.updateScheduler(name, change)),
    insertJob: after((job) => store.insertJob(job)),
    getJob: (scheduler, id) => store.getJob(scheduler, id),
    listJobs: (query) => store.listJobs(query),
    updateJob: after((scheduler, id, change, now) => store.updateJob(scheduler, id, change, now)),
    deleteJob: after((scheduler, id, expectedVersion) =>
      store.deleteJob(scheduler, id, expectedVersion),
    ),
    deleteAllJobs: after((scheduler) => store.deleteAllJobs(scheduler)),
  };
}
