/**
 * The Connect router: every service on one handler (gRPC, gRPC-Web and Connect). Building it is
 * separate from listening (api/listen.ts): tests call it in process through a router transport.
 */
import type { ConnectRouter, ConnectRouterOptions } from "@connectrpc/connect";
import type { Clock } from "../clock.js";
import type { Logger } from "../logger.js";
import type { ClusterManager } from "../management/cluster.js";
import type { JobManager } from "../management/jobs.js";
import type { KeyRing } from "../management/key-ring.js";
import type { KeyManager } from "../management/keys.js";
import type { RunManager } from "../management/runs.js";
import type { SchedulerManager } from "../management/schedulers.js";
import { Health } from "../gen/grpc/health/v1/health_pb.js";
import { ClusterService } from "../gen/metronome/v1/cluster_service_pb.js";
import { EventService } from "../gen/metronome/v1/event_service_pb.js";
import { JobService } from "../gen/metronome/v1/job_service_pb.js";
import { KeyService } from "../gen/metronome/v1/key_service_pb.js";
import { RunService } from "../gen/metronome/v1/run_service_pb.js";
import { SchedulerService } from "../gen/metronome/v1/scheduler_service_pb.js";
import { TriggerService } from "../gen/metronome/v1/trigger_service_pb.js";
import { WorkerService } from "../gen/metronome/v1/worker_service_pb.js";
import { nodeAdapter } from "./adapter.js";
import { requestInterceptor, type RpcObserver } from "./interceptors.js";
import type { Quotas } from "./quotas.js";
import { idempotencyInterceptor } from "./idempotency.js";
import type { IdempotencyStore } from "../store/port.js";
import type { RequestHandler } from "./listen.js";
import { peerContext } from "./peer-certificate.js";
import { clusterService } from "./services/cluster.js";
import { healthService, type StoreMonitor } from "./services/health.js";
import { jobService } from "./services/jobs.js";
import { keyService } from "./services/keys.js";
import { runService } from "./services/runs.js";
import { workerService } from "./services/workers.js";
import { SESSION_READ_MAX_BYTES } from "./convert/worker-messages.js";
import { eventService } from "./services/events.js";
import type { EventHub } from "../events/hub.js";
import type { Engine } from "../engine/engine.js";
import { schedulerService } from "./services/schedulers.js";
import { triggerService } from "./services/triggers.js";

export interface ApiDeps {
  readonly jobs: JobManager;
  readonly schedulers: SchedulerManager;
  readonly runs: RunManager;
  readonly cluster: ClusterManager;
  readonly engine: Engine;
  readonly clock: Clock;
  readonly log: Logger;
  readonly monitor: StoreMonitor;
  readonly hub: EventHub;
  readonly maxPageSize: number;
  readonly maxPayloadBytes: number;
  /** Health/Watch streams open at once on the node (METRONOME_MAX_HEALTH_WATCHES). */
  readonly maxHealthWatches: number;
  /** Who calls come from: API keys and bootstrap tokens (management/key-ring.ts). */
  readonly keyRing: KeyRing;
  readonly keys: KeyManager;
  /** The longest a unary call's store work may take (METRONOME_STORE_TIMEOUT). */
  readonly storeTimeoutMs: number;
  /** Rate limits and subscription slots (quotas.ts); absent: none. */
  readonly quotas?: Quotas;
  /** Where idempotency keys are recorded (absent: the store has none, keyed calls are refused). */
  readonly idempotency?: IdempotencyStore | undefined;
  /** How long an idempotency key's record is kept (METRONOME_IDEMPOTENCY_RETENTION). */
  readonly idempotencyTtlMs: number;
  /** Told of every RPC (metrics). */
  readonly observeRpc?: RpcObserver;
  /** The trace context sent with an attempt's assignment, when the node exports traces. */
  readonly traceContext?: ((runId: string, attempt: number) => Record<string, string>) | undefined;
}

export const SERVICES = [
  SchedulerService,
  JobService,
  TriggerService,
  RunService,
  WorkerService,
  EventService,
  ClusterService,
  KeyService,
];

export function routes(deps: ApiDeps): (router: ConnectRouter) => void {
  return (router) => {
    router.service(SchedulerService, schedulerService(deps.schedulers, deps.maxPageSize));
    router.service(
      JobService,
      jobService(deps.jobs, deps.runs, deps.engine, deps.maxPageSize, deps.log),
    );
    router.service(TriggerService, triggerService(deps.clock));
    router.service(RunService, runService(deps.runs, deps.maxPageSize));
    // A worker's session reads larger messages than any other call (a batch of results, a
    // heartbeat of 10,000 leases): its own per-message limit, documented in docs/protocol.md.
    router.service(WorkerService, workerService(deps.engine, deps.log, deps.traceContext), {
      readMaxBytes: SESSION_READ_MAX_BYTES,
    });
    router.service(EventService, eventService(deps.hub, deps.log, deps.quotas));
    router.service(ClusterService, clusterService(deps.cluster));
    router.service(KeyService, keyService(deps.keys));
    router.service(
      Health,
      healthService(
        deps.monitor,
        SERVICES.map((s) => s.typeName),
        deps.maxHealthWatches,
      ),
    );
  };
}

/** How the router treats every call: the same for the listener and for an in-process transport. */
export function routerOptions(deps: ApiDeps): ConnectRouterOptions {
  return {
    // gRPC, gRPC-Web and Connect (binary and JSON) are all on by default.
    interceptors: [
      requestInterceptor(deps.log, deps.keyRing, deps.storeTimeoutMs, deps.observeRpc, deps.quotas),
      idempotencyInterceptor(deps.idempotency, deps.clock, deps.idempotencyTtlMs, deps.log),
    ],
    // A misspelt JSON field is an error naming it, not silently dropped data.
    jsonOptions: { ignoreUnknownFields: false },
    // Responses are not compressed: on the networks a scheduler runs in, the CPU a gzip of
    // every message costs (per subscriber, for the event stream) outweighs the bytes saved.
    // Compressed requests are still accepted.
    compressMinBytes: Number.POSITIVE_INFINITY,
    // The largest request is a job with its payload; decompressed bodies count too. Worker
    // sessions have their own limit (routes above).
    readMaxBytes: deps.maxPayloadBytes * 4 + 65_536,
  };
}

/** The API as a Node request handler, for the listener. */
export function apiHandler(deps: ApiDeps): RequestHandler {
  return nodeAdapter({
    routes: routes(deps),
    log: deps.log,
    // A call's client certificate is read only where it can identify the caller.
    contextValues: deps.keyRing.readsCertificates ? peerContext : undefined,
    ...routerOptions(deps),
  });
}
