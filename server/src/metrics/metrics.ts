/**
 * A node's Prometheus metrics (prom-client, served at `/metrics` on the service port; the list
 * is in docs/metrics.md). Labels are bounded: scheduler, handler, status, RPC method and code,
 * store operation — never a job or run id.
 *
 * - Run outcomes, misfires, skips and retries come from the events this node's store calls
 *   commit (told by the store after each commit, so they count what committed, once, and never a
 *   change rolled back): summed over the nodes they are the cluster's. Counting them costs no read
 *   of the event log (a node without subscribers does not read it). The fire lateness is taken
 *   when this node sends a run's first attempt to a worker (each run is sent by one node).
 * - Pending and running runs are read from the store at scrape time: every node reports the
 *   cluster's (use max, not sum).
 * - Worker sessions, RPCs and store operations are this node's.
 */
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { EventDraft, LoggedEvent } from "../domain/events.js";
import type { Run } from "../domain/runs.js";
import type { ActiveRunCount, PoolStat } from "../store/port.js";

/** What the metrics read from the node at scrape time. */
export interface MetricSources {
  /** Handlers of this node's live worker sessions (one entry per session), and runs they hold. */
  readonly sessions: () => { readonly handlers: readonly string[]; readonly inUse: number }[];
  readonly activeRuns: (now: number) => Promise<ActiveRunCount[]>;
  /** The newest event cursor this node has read. */
  readonly eventPosition: () => number;
  readonly now: () => number;
  /** The store's connection pools (none on SQLite). */
  readonly pools: () => readonly PoolStat[];
}

const FINAL = new Set(["succeeded", "failed", "timed_out", "cancelled", "missed", "skipped"]);

const LATENESS_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];
/** From an event's time to its read: commit, sequencing and the read itself, milliseconds to seconds. */
const READ_LAG_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10];

export class NodeMetrics {
  readonly registry = new Registry();
  private readonly runs: Counter<"scheduler" | "status">;
  private readonly retries: Counter<"scheduler">;
  private readonly misfires: Counter<"scheduler">;
  private readonly skips: Counter<"scheduler">;
  private readonly lateness: Histogram<"scheduler">;
  private readonly eventLag: Gauge;
  private readonly eventReadLag: Histogram;
  private readonly rpcs: Counter<"method" | "code">;
  private readonly rpcSeconds: Histogram<"method">;
  private readonly storeSeconds: Histogram<"operation">;
  private readonly storeErrors: Counter<"operation">;
  private readonly quotaRefusals: Counter<"quota">;

  constructor(private readonly sources: MetricSources) {
    const registers = [this.registry];
    this.runs = new Counter({
      name: "metronome_runs_total",
      help: "Runs that reached a final status, by scheduler and status (recorded by this node)",
      labelNames: ["scheduler", "status"],
      registers,
    });
    this.retries = new Counter({
      name: "metronome_run_retries_total",
      help: "Failed attempts followed by a retry (recorded by this node)",
      labelNames: ["scheduler"],
      registers,
    });
    this.misfires = new Counter({
      name: "metronome_misfires_total",
      help: "Fire times missed: their misfire grace ran out before a worker took them",
      labelNames: ["scheduler"],
      registers,
    });
    this.skips = new Counter({
      name: "metronome_skips_total",
      help: "Fire times skipped because max_instances runs of the job were running",
      labelNames: ["scheduler"],
      registers,
    });
    this.lateness = new Histogram({
      name: "metronome_fire_lateness_seconds",
      help: "From a run's scheduled time to when its first attempt was sent to a worker (runs this node sent)",
      labelNames: ["scheduler"],
      buckets: LATENESS_BUCKETS,
      registers,
    });
    this.eventLag = new Gauge({
      name: "metronome_event_log_lag_seconds",
      help: "How long after it was recorded this node read the newest event of its last read",
      registers,
    });
    this.eventReadLag = new Histogram({
      name: "metronome_event_read_lag_seconds",
      help: "From each event's time to this node reading it for its subscribers (no event is read on a node without subscribers)",
      buckets: READ_LAG_BUCKETS,
      registers,
    });
    const sources2 = sources;
    // The two gauges read from the store: while it cannot be read, their series are left out of
    // the scrape (not the whole scrape: the error counters are where an outage shows). prom-client
    // collects a scrape's metrics at once, so both gauges share one read: the one in flight.
    let reading: Promise<readonly ActiveRunCount[]> | null = null;
    const activeRuns = (): Promise<readonly ActiveRunCount[]> => {
      reading ??= sources2
        .activeRuns(sources2.now())
        .catch((): readonly ActiveRunCount[] => [])
        .finally(() => {
          reading = null;
        });
      return reading;
    };
    new Gauge({
      name: "metronome_event_log_cursor",
      help: "The newest event cursor this node has read",
      registers,
      collect() {
        this.set(sources2.eventPosition());
      },
    });
    new Gauge({
      name: "metronome_runs_waiting_for_worker",
      help: "Pending runs that are due and wait for a worker (the cluster's, read from the store: use max over nodes)",
      labelNames: ["scheduler"],
      registers,
      async collect() {
        this.reset();
        for (const c of await activeRuns())
          if (c.state === "due") this.inc({ scheduler: c.scheduler }, c.count);
      },
    });
    new Gauge({
      name: "metronome_active_leases",
      help: "Running runs leased to a worker (the cluster's, read from the store: use max over nodes)",
      labelNames: ["scheduler"],
      registers,
      async collect() {
        this.reset();
        for (const c of await activeRuns())
          if (c.state === "running") this.inc({ scheduler: c.scheduler }, c.count);
      },
    });
    new Gauge({
      name: "metronome_worker_sessions",
      help: "Worker sessions connected to this node",
      registers,
      collect() {
        this.set(sources2.sessions().length);
      },
    });
    new Gauge({
      name: "metronome_worker_sessions_by_handler",
      help: "Worker sessions connected to this node that serve each handler",
      labelNames: ["handler"],
      registers,
      collect() {
        this.reset();
        for (const s of sources2.sessions()) for (const h of s.handlers) this.inc({ handler: h });
      },
    });
    new Gauge({
      name: "metronome_worker_slots_in_use",
      help: "Runs held by the workers connected to this node",
      registers,
      collect() {
        this.set(sources2.sessions().reduce((n, s) => n + s.inUse, 0));
      },
    });
    new Gauge({
      name: "metronome_db_pool_connections",
      help: "Connections of this node's database pools: in_use, idle, and requests waiting for one",
      labelNames: ["pool", "state"],
      registers,
      collect() {
        this.reset();
        for (const p of sources2.pools()) {
          this.set({ pool: p.pool, state: "in_use" }, Math.max(0, p.open - p.idle));
          this.set({ pool: p.pool, state: "idle" }, p.idle);
          this.set({ pool: p.pool, state: "waiting" }, p.waiting);
        }
      },
    });
    new Gauge({
      name: "metronome_db_pool_max_connections",
      help: "The most connections each of this node's database pools opens",
      labelNames: ["pool"],
      registers,
      collect() {
        this.reset();
        for (const p of sources2.pools()) this.set({ pool: p.pool }, p.limit);
      },
    });
    this.quotaRefusals = new Counter({
      name: "metronome_quota_refusals_total",
      help: "Calls this node refused with RESOURCE_EXHAUSTED by a quota: key_rate, scheduler_rate, subscribers, jobs",
      labelNames: ["quota"],
      registers,
    });
    this.rpcs = new Counter({
      name: "metronome_rpc_requests_total",
      help: "RPCs served by this node, by method and status code",
      labelNames: ["method", "code"],
      registers,
    });
    this.rpcSeconds = new Histogram({
      name: "metronome_rpc_duration_seconds",
      help: "Time to answer an RPC (to the start of the response, for streams)",
      labelNames: ["method"],
      registers,
    });
    this.storeSeconds = new Histogram({
      name: "metronome_store_operation_seconds",
      help: "Time of this node's store operations (each one transaction or statement)",
      labelNames: ["operation"],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
      registers,
    });
    this.storeErrors = new Counter({
      name: "metronome_store_operation_errors_total",
      help: "Store operations that failed",
      labelNames: ["operation"],
      registers,
    });
  }

  /**
   * Fire lateness, when a run's first attempt is sent to a worker (HandOut): a run leased ahead
   * is sent at its time, and one handed back before it was sent (its session ended) is counted
   * when it is sent again, once — not at each lease, which counted it twice, the first time as 0.
   */
  runsSent(runs: readonly Run[], at: number): void {
    for (const r of runs)
      if (r.attempt === 1)
        this.lateness.observe({ scheduler: r.scheduler }, Math.max(0, at - r.scheduledTime) / 1000);
  }

  /** Counts what the events of one of this node's commits report (store.onEventsCommitted). */
  countCommitted(events: readonly EventDraft[]): void {
    for (const e of events) {
      if (e.scheduler === null) continue;
      const scheduler = e.scheduler;
      const status = e.data.runStatus;
      if (status === undefined) continue;
      if (status === "pending" && e.type === "job_error") this.retries.inc({ scheduler });
      if (!FINAL.has(status)) continue;
      this.runs.inc({ scheduler, status });
      if (status === "missed") this.misfires.inc({ scheduler });
      if (status === "skipped") this.skips.inc({ scheduler });
    }
  }

  /**
   * The hub read `batch` for its subscribers ([]: it caught up with the log's end without
   * reading, as a node without subscribers does).
   */
  observeLogRead(batch: readonly LoggedEvent[]): void {
    const now = this.sources.now();
    const newest = batch.at(-1);
    this.eventLag.set(newest === undefined ? 0 : Math.max(0, now - newest.time) / 1000);
    for (const e of batch) this.eventReadLag.observe(Math.max(0, now - e.time) / 1000);
  }

  /** An RPC ended with `code` (`OK`, `NotFound`, …) after `seconds`. */
  observeRpc(method: string, code: string, seconds: number): void {
    this.rpcs.inc({ method, code });
    this.rpcSeconds.observe({ method }, seconds);
  }

  /** A quota refused a call (`quota`: key_rate, scheduler_rate, subscribers, jobs). */
  countQuotaRefusal(quota: string): void {
    this.quotaRefusals.inc({ quota });
  }

  observeStore(operation: string, seconds: number, failed: boolean): void {
    this.storeSeconds.observe({ operation }, seconds);
    if (failed) this.storeErrors.inc({ operation });
  }

  /** The text exposition format, and its content type. */
  async scrape(): Promise<{ body: string; contentType: string }> {
    return { body: await this.registry.metrics(), contentType: this.registry.contentType };
  }
}

/**
 * The store with each asynchronous operation timed (`observeStore`): a proxy, so that every
 * operation of the port is timed without listing them.
 */
export function timedStore<S extends object>(store: S, metrics: NodeMetrics): S {
  return new Proxy(store, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== "function" || typeof prop !== "string") return value;
      const fn = value as (...args: unknown[]) => unknown;
      return (...args: unknown[]): unknown => {
        const started = performance.now();
        const result = fn.apply(target, args);
        if (!(result instanceof Promise)) return result;
        return result.then(
          (v: unknown) => {
            metrics.observeStore(prop, (performance.now() - started) / 1000, false);
            return v;
          },
          (err: unknown) => {
            metrics.observeStore(prop, (performance.now() - started) / 1000, true);
            throw err;
          },
        );
      };
    },
  });
}
