/**
 * A Metronome node: store, engine, event log, management and API, with an orderly stop;
 * assembled by `openNode`, listening by `startNode`. `main.ts` starts one from the
 * configuration; tests start them on port 0, or call one in process.
 */
import type { Clock } from "./clock.js";
import { checkServerTls } from "./config/server-tls.js";
import { checkClientCa, readClientIdentities } from "./config/client-identities.js";
import type { Config } from "./config/load.js";
import { type Listener, listen } from "./api/listen.js";
import { withDashboard } from "./api/dashboard.js";
import { withProbes } from "./api/probes.js";
import { apiHandler, type ApiDeps } from "./api/router.js";
import { StoreMonitor } from "./api/services/health.js";
import { Quotas } from "./api/quotas.js";
import { JobQuota } from "./management/job-quota.js";
import type { Logger } from "./logger.js";
import type { ServerDefaults } from "./management/job-input.js";
import { ClusterManager } from "./management/cluster.js";
import { JobManager } from "./management/jobs.js";
import { KeyRing } from "./management/key-ring.js";
import { KeyManager } from "./management/keys.js";
import { RunManager } from "./management/runs.js";
import { SchedulerManager } from "./management/schedulers.js";
import { openStore } from "./store/open.js";
import { sealedStore } from "./store/sealed.js";
import { withWriteHooks } from "./store/write-hooks.js";
import { Sealer } from "./store/sealing.js";
import { SealingKeys } from "./lib/envelope.js";
import { useFastTextEncoding } from "./lib/text-encoding.js";
import { DEFAULT_LIMITS } from "./domain/jobs.js";
import type { Store } from "./store/port.js";
import { Engine } from "./engine/engine.js";
import { EventLog } from "./events/log.js";
import { EventHub } from "./events/hub.js";
import { VERSION } from "./version.js";
import { dashboardFolder } from "./paths.js";
import { describeNode } from "./cluster/describe.js";
import { NodeRegistry } from "./cluster/node-registry.js";
import { NodeMetrics, timedStore } from "./metrics/metrics.js";
import type { NodeTracing } from "./tracing/tracing.js";

/**
 * A node's parts, assembled and ready to serve but not listening: what the API serves
 * (`api`), and its orderly start and stop. `startNode` listens with one; tests of the API that
 * need no socket call it through a router transport (test/support/in-process.ts).
 */
export interface NodeCore {
  readonly store: Store;
  readonly engine: Engine;
  readonly jobs: JobManager;
  readonly schedulers: SchedulerManager;
  readonly runs: RunManager;
  readonly events: EventLog;
  readonly hub: EventHub;
  /** This node's record in the cluster registry (ListNodes, ListWorkers). */
  readonly registry: NodeRegistry;
  /** Where the node listens, for its registry record (set by startNode). */
  setAddress(address: string): void;
  /** The node's Prometheus metrics (`GET /metrics`). */
  readonly metrics: NodeMetrics;
  /** Everything the API's router needs (api/router.ts). */
  readonly api: ApiDeps;
  /** Why the node is not ready to serve (`/readyz`), or null when it is. */
  readonly readiness: () => Promise<string | null>;
  /** Starts the event log and the engine. */
  start(): void;
  /** Releases a node that was never started (its subscriptions' hub, monitor and store). */
  discard(): Promise<void>;
  /**
   * Ends subscriptions, drains the worker sessions, lets the runs in flight finish (up to the
   * configured grace) while `close` closes the listener, then stops the engine and the event
   * log and closes the store.
   */
  stop(options?: StopOptions, close?: (graceMs: number) => Promise<void>): Promise<void>;
}

export interface Node extends NodeCore {
  readonly listener: Listener;
  /**
   * Stop accepting, let the runs this node's workers are running finish and open requests end
   * (up to the configured grace), end the worker sessions, close the store.
   */
  stop(options?: StopOptions): Promise<void>;
}

/** What a node is given besides its configuration. */
export interface NodeOptions {
  /** The node's OpenTelemetry tracing (tracing/tracing.ts), when it exports traces. */
  readonly tracing?: NodeTracing | undefined;
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

/**
 * The store with job data sealed at rest when encryption keys are configured; without them the
 * store itself, unwrapped (docs/security.md, "What is encrypted where").
 */
function sealedIfKeyed(store: Store, config: Config, log: Logger): Store {
  if (config.encryptionKeys.length === 0) return store;
  const sealer = new Sealer(new SealingKeys(config.encryptionKeys));
  log.info(
    { sealingKeyId: sealer.sealingKeyId, keyIds: config.encryptionKeys.map((k) => k.id) },
    "job data sealed at rest",
  );
  return sealedStore(store, sealer, { nodeId: config.nodeId });
}

/** Opens the store (migrating it when configured) and assembles a node on it, not listening. */
export async function openNode(
  config: Config,
  log: Logger,
  clock: Clock,
  options: NodeOptions = {},
): Promise<NodeCore> {
  const tracing = options.tracing;
  // Read before anything opens: a bad file stops the start with a ConfigError naming the key.
  if (config.server.tls !== null)
    checkServerTls(config.server.tls.certFile, config.server.tls.keyFile);
  const clientTls = config.server.tls?.client;
  if (clientTls !== undefined) checkClientCa(clientTls.caFile);
  const clientIdentities =
    clientTls === undefined ? undefined : readClientIdentities(clientTls.identitiesFile);
  const parts: { engine?: Engine; hub?: EventHub; store?: Store } = {};
  const metrics: NodeMetrics = new NodeMetrics({
    now: () => clock.now(),
    sessions: () =>
      [...(parts.engine?.dispatch.sessions.values() ?? [])].map((s) => ({
        handlers: s.draining ? [] : [...s.handlers.keys()],
        inUse: [...s.active.values()].filter((a) => a.held === undefined).length,
      })),
    activeRuns: (now) => parts.store?.countActiveRuns(now) ?? Promise.resolve([]),
    eventPosition: () => parts.hub?.position ?? 0,
    pools: () => parts.store?.poolStats?.() ?? [],
  });
  const opened = openStore(config.store, {
    serving: true,
    warn: (message) => {
      log.warn({ component: "store" }, message);
    },
  });
  const store: Store = timedStore(sealedIfKeyed(opened, config, log), metrics);
  parts.store = store;
  try {
    if (config.migrateOnStart) await store.migrate();
  } catch (err) {
    await store.close();
    throw err;
  }
  const defaults = serverDefaults(config);
  const events = new EventLog(store, clock, log.child({ component: "events" }), {
    retentionMs: config.retention.eventsSeconds * 1000,
    wantsEvents: () => (parts.hub?.subscriptions ?? 0) > 0,
  });
  const hub = new EventHub(store, log.child({ component: "event-hub" }), {
    bufferEvents: config.events.bufferEvents,
    maxQueuedEvents: config.events.subscriberQueue,
  });
  events.onSequenced((sequenced) => {
    if (sequenced === undefined) hub.poke();
    else hub.offer(sequenced);
  });
  parts.hub = hub;
  hub.observe((batch) => {
    metrics.observeLogRead(batch);
  });
  store.onEventsCommitted((committed) => {
    metrics.countCommitted(committed);
  });
  if (tracing !== undefined)
    store.onEventsCommitted((committed) => {
      tracing.observeEvents(committed);
    });
  try {
    await hub.start();
  } catch (err) {
    await store.close();
    throw err;
  }
  const engine = new Engine(
    store,
    clock,
    log.child({ component: "engine" }),
    {
      firing: config.scheduler.enabled,
      nodeId: config.nodeId,
      leaseMs: config.engine.leaseMs,
      pollIntervalMs: config.engine.pollIntervalMs,
      runRetentionMs: config.retention.runsSeconds * 1000,
    },
    {
      sent: (runs, at) => {
        metrics.runsSent(runs, at);
      },
    },
  );
  parts.engine = engine;

  // Other nodes' changes, where the store hears of them (PostgreSQL): the loop that cares looks
  // at once instead of at its next poll.
  store.onChange((change) => {
    if (change === "events") hub.poke();
    else if (change === "jobs") engine.jobsChanged();
    else engine.runsChanged();
  });
  // Job and scheduler changes made through this node wake its engine when they need to.
  const hooked = withWriteHooks(store, {
    job: (job) => {
      engine.jobsChanged(job?.nextRunTime ?? null);
    },
    scheduler: () => {
      engine.jobsChanged();
    },
  });
  const limits = {
    maxIdLength: DEFAULT_LIMITS.maxIdLength,
    maxPayloadBytes: config.limits.maxPayloadBytes,
    maxPageSize: config.limits.maxPageSize,
  };
  const schedulers = new SchedulerManager(hooked, clock, engine, defaults, limits, config.nodeId);
  const jobs = new JobManager(
    hooked,
    clock,
    schedulers,
    limits,
    config.nodeId,
    new JobQuota(hooked, config.quotas.jobsPerScheduler, () => {
      metrics.countQuotaRefusal("jobs");
    }),
  );
  const runs = new RunManager(engine, limits);
  const keyRing = new KeyRing(store, clock, log.child({ component: "keys" }), {
    tokens: config.server.authTokens,
    clientIdentities,
  });
  const keys = new KeyManager(store, keyRing, clock, config.nodeId);
  const monitor = new StoreMonitor(store, log);
  monitor.start();
  let stopping = false;
  let address = "";
  const startedAt = clock.now();
  const registry = new NodeRegistry(
    store,
    () =>
      describeNode({
        nodeId: config.nodeId,
        version: VERSION,
        address: () => address,
        firing: config.scheduler.enabled,
        startedAt,
        stopping: () => stopping,
        sessions: engine.dispatch.sessions,
        subscribers: () => hub.subscriptions,
      }),
    clock,
    log.child({ component: "registry" }),
    { leaseMs: config.engine.nodeLeaseMs },
  );
  /** Migrations are only ever added: once the schema is current it stays so. */
  let schemaCurrent = config.migrateOnStart;
  return {
    store,
    engine,
    jobs,
    schedulers,
    runs,
    events,
    hub,
    registry,
    metrics,
    setAddress: (a) => {
      address = a;
    },
    api: {
      jobs,
      schedulers,
      runs,
      cluster: new ClusterManager(store, clock),
      engine,
      clock,
      log,
      monitor,
      hub,
      maxPageSize: config.limits.maxPageSize,
      maxPayloadBytes: config.limits.maxPayloadBytes,
      maxHealthWatches: config.limits.maxHealthWatches,
      keyRing,
      keys,
      storeTimeoutMs: config.limits.storeTimeoutMs,
      quotas: new Quotas(config.quotas, clock, (quota) => {
        metrics.countQuotaRefusal(quota);
      }),
      idempotency: store.idempotency,
      idempotencyTtlMs: config.retention.idempotencySeconds * 1000,
      observeRpc: (method, code, seconds) => {
        metrics.observeRpc(method, code, seconds);
      },
      traceContext: tracing?.traceContext,
    },
    readiness: async () => {
      if (stopping) return "the node is stopping";
      if (!(await monitor.check())) return "the job store is unavailable";
      if (!schemaCurrent) {
        const pending = await store.pendingMigrations();
        if (pending > 0)
          return `${String(pending)} database migration${pending === 1 ? "" : "s"} not applied (run metronome migrate)`;
        schemaCurrent = true;
      }
      return null;
    },
    start: () => {
      events.start();
      engine.start();
      registry.start();
      keyRing.start();
    },
    discard: async () => {
      await keyRing.stop();
      monitor.stop();
      await hub.stop();
      await store.close();
      await tracing?.shutdown();
    },
    stop: async (options = {}, close = () => Promise.resolve()) => {
      stopping = true;
      await registry.stopping();
      const graceMs = config.server.shutdownGraceSeconds * 1000;
      // Subscriptions end first (their streams would hold the listener open for the grace).
      await hub.stop();
      // No new runs for this node's workers; those they are running may finish within the grace.
      engine.drainSessions();
      const closed = close(graceMs);
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
      await registry.stop();
      await keyRing.stop();
      monitor.stop();
      await store.close();
      // The spans still buffered are exported.
      await tracing?.shutdown().catch((err: unknown) => {
        log.warn({ err }, "exporting the last spans failed");
      });
      log.info("metronome stopped");
    },
  };
}

/** A node listening on the configured address: every protocol, the probes and the dashboard. */
export async function startNode(
  config: Config,
  log: Logger,
  clock: Clock,
  options: NodeOptions = {},
): Promise<Node> {
  useFastTextEncoding();
  const core = await openNode(config, log, clock, options);
  let listener: Listener;
  try {
    const handler = withDashboard(
      withProbes(apiHandler(core.api), core.readiness, () => core.metrics.scrape()),
      dashboardFolder(),
    );
    listener = await listen(handler, {
      host: config.server.host,
      port: config.server.port,
      tls: config.server.tls ?? undefined,
      limits: config.server.transport,
      onError: (err) => {
        log.error({ err }, "listener error");
      },
    });
  } catch (err) {
    await core.discard();
    throw err;
  }
  core.setAddress(
    `${listener.address.address.includes(":") ? `[${listener.address.address}]` : listener.address.address}:${String(listener.address.port)}`,
  );
  core.start();
  log.info(
    { version: VERSION, address: listener.address, store: config.store.kind, pid: process.pid },
    "metronome listening",
  );
  return {
    ...core,
    listener,
    stop: (options = {}) => core.stop(options, (graceMs) => listener.close(graceMs)),
  };
}
