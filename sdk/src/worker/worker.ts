/**
 * The worker side of the Metronome SDK: a process registers handlers, opens one
 * `WorkerService.Session` stream and executes the runs the server assigns to it.
 *
 * The protocol (proto/metronome/v1/worker_service.proto) in short: WorkerHello → SessionWelcome;
 * then assignments, cancellations and result answers from the server, heartbeats and results from
 * the worker. A lease (run_id, attempt, lease_token) fences every result and heartbeat, so this
 * module keeps three pieces of state that survive reconnections:
 *
 * - `runs`: every assignment not yet finished, keyed by lease. Its lease is "held" (listed in
 *   heartbeats and in the next WorkerHello's resumed_leases) until the handler settles, or until
 *   the server cancels it or the lease is found expired: then the handler's abort signal fires and
 *   its result is dropped, because the server would reject it.
 * - `outbox`: every result not yet answered by RunResultAccepted/Rejected, sent again in the next
 *   session when the stream breaks first (the server accepts a repeated result for a lease).
 * - the connection loop: one session at a time, reconnecting with exponential backoff and full
 *   jitter; handlers keep running across reconnections.
 */
import type { Handler, HandlerDef, RunContext } from "../handlers.js";
import { EventEmitter } from "node:events";
import { hostname } from "node:os";
import { create, fromJson, toJson, type JsonValue } from "@bufbuild/protobuf";
import {
  ListValueSchema,
  ValueSchema,
  durationMs,
  timestampDate,
  timestampMs,
} from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient, type Client, type Transport } from "@connectrpc/connect";
import { Http2SessionManager, createGrpcTransport } from "@connectrpc/connect-node";
import { RunStatus } from "../gen/metronome/v1/run_pb.js";
import {
  CancellationReason,
  ResultRejectionReason,
  RunResultSchema,
  SessionRequestSchema,
  WorkerService,
  type RunAssignment,
  type RunCancellation,
  type RunLease,
  type RunResult,
  type SessionRequest,
  type SessionResponse,
  type SessionWelcome,
} from "../gen/metronome/v1/worker_service_pb.js";
import { MetronomeError, toMetronomeError } from "../rpc-errors.js";
import { RunAbortedError, reportError, type AbortKind, type ErrorReport } from "../errors.js";
import { toJsonValue } from "../json.js";
import { childLogger, defaultLogger, type WorkerLogger } from "../logger.js";
import { RequestQueue } from "./request-queue.js";
import { SDK_NAME, SDK_VERSION } from "../version.js";

/** Options of `Worker.register`. */
export interface HandlerOptions {
  /** The most runs of this handler executed at once (1 to 10,000). Unset: only the total. */
  concurrency?: number | undefined;
}

/** Options of `new Worker()`. Exactly one of `baseUrl` and `transport` is required. */
export interface WorkerOptions {
  /** The server, e.g. `http://127.0.0.1:8080` (gRPC over HTTP/2; `https://` for TLS). */
  baseUrl?: string | undefined;
  /** A ready transport instead of `baseUrl` (custom TLS, interceptors, ...); must be gRPC or
   * Connect over HTTP/2, since the session is a bidirectional stream. Not closed by `stop()`. */
  transport?: Transport | undefined;
  /** Sent as `authorization: Bearer <token>`. */
  token?: string | undefined;
  /** Shown on runs and events; default `<hostname>-<pid>`. Empty: the server generates one. */
  workerId?: string | undefined;
  /** The most runs executed at once over all handlers (0 to 10,000; 0: only the per-handler
   * limits, which every handler then needs). Default 10. */
  maxConcurrency?: number | undefined;
  /** Informational labels shown in worker events, merged over the defaults `host`, `pid`, `sdk`
   * and `sdk_version`. At most 32 in all, keys up to 63 characters, values up to 255. */
  labels?: Record<string, string> | undefined;
  /** Where the worker logs (pino, console, ...). Default: pino at level info on stdout (JSON
   * lines; one readable line per entry when stdout is a terminal). */
  logger?: WorkerLogger | undefined;
  /** Delays between reconnection attempts: exponential backoff with full jitter, reset by each
   * successful SessionWelcome. */
  reconnect?:
    | {
        /** The first attempt's maximum delay. Default 200 ms. */
        initialDelayMs?: number | undefined;
        /** The largest delay. Default 10 s. */
        maxDelayMs?: number | undefined;
      }
    | undefined;
}

/** Options of `Worker.stop`. */
export interface StopOptions {
  /** How long running handlers may take before their abort signal fires. Default 30 s;
   * `Infinity` waits for them without aborting. */
  graceMs?: number | undefined;
}

/** The payload of the `connected` event: a session was welcomed. */
export interface ConnectedEvent {
  readonly workerId: string;
  readonly sessionId: string;
}

/** The payload of the `disconnected` event: a welcomed session ended. */
export interface DisconnectedEvent {
  readonly sessionId: string;
  /** Why, unless the stream ended normally (after `stop()`, or ended by the server with OK). */
  readonly error: Error | undefined;
}

/** The worker's events. `error` is only emitted when it has a listener (so it never throws). */
export type WorkerEvents = {
  connected: [event: ConnectedEvent];
  disconnected: [event: DisconnectedEvent];
  error: [error: Error];
};

/** Identifier rules of job.proto (handler names, worker ids). */
const IDENTIFIER = /^[A-Za-z0-9._:-]{1,191}$/;
const MAX_LIMIT = 10_000;
const MAX_HANDLERS = 1_000;
const MAX_LABELS = 32;
const DEFAULT_MAX_CONCURRENCY = 10;
const DEFAULT_GRACE_MS = 30_000;
const DEFAULT_INITIAL_DELAY_MS = 200;
const DEFAULT_MAX_DELAY_MS = 10_000;
/** Used until a SessionWelcome says otherwise (the server defaults). */
const DEFAULT_LEASE_MS = 30_000;
const DEFAULT_HEARTBEAT_MS = 10_000;
/** A floor on the heartbeat interval, so that a zero from the server cannot spin. */
const MIN_HEARTBEAT_MS = 100;
/**
 * After `stop()`'s grace, how long aborted handlers get to settle and results to be answered
 * before the worker closes anyway (the leases it still holds then expire on the server).
 */
const STOP_SETTLE_MS = 10_000;
/** How long the server gets to end the stream after the worker half-closes it. */
const CLOSE_TIMEOUT_MS = 5_000;
/**
 * How long an assignment may wait for a slot still taken by a handler whose lease already ended
 * (cancelled but not yet settled; the server counts that slot as free) before it is rejected.
 */
const SLOT_WAIT_MS = 10_000;
/**
 * Results whose JSON is larger are reported as `ResultTooLarge` here rather than sent: the server
 * refuses anything over 64 KiB anyway, and a huge message could break the stream on every retry.
 */
const MAX_RESULT_BYTES = 1024 * 1024;
/**
 * HTTP/2 keepalive of the transport built from `baseUrl`: the server sends nothing while the
 * worker is idle, so without PINGs a dead connection would only be noticed by TCP, minutes later.
 */
const KEEPALIVE = { pingIntervalMs: 15_000, pingTimeoutMs: 10_000 };
/** setTimeout fires at once for larger delays. */
const MAX_TIMER_MS = 2_147_483_647;
/** Errors that end `start()` instead of being retried, before the first welcome only. */
const FATAL_BEFORE_WELCOME = new Set<Code>([
  Code.InvalidArgument,
  Code.Unauthenticated,
  Code.PermissionDenied,
  Code.Unimplemented,
]);

interface HandlerEntry {
  readonly name: string;
  readonly fn: Handler;
  /** 0: no per-handler limit. */
  readonly concurrency: number;
}

/** An assignment not finished yet. */
interface RunRecord {
  readonly key: string;
  readonly lease: RunLease;
  readonly assignment: RunAssignment;
  readonly entry: HandlerEntry;
  readonly controller: AbortController;
  /** `waiting`: held but not started, because a slot is taken by a released run. */
  phase: "waiting" | "running";
  /** Set when the lease stopped being ours (cancelled, lease lost): the result is dropped. */
  released: RunAbortedError | undefined;
  /** When the lease was last extended as far as this process knows (assignment, heartbeat). */
  extendedAt: number;
  waitTimer: NodeJS.Timeout | undefined;
  /** The run's fire time (epoch ms): an assignment sent ahead is not started before it. */
  notBefore: number;
}

/** One Session call. */
class Session {
  readonly queue = new RequestQueue<SessionRequest>();
  readonly abort = new AbortController();
  welcome: SessionWelcome | undefined = undefined;
  heartbeatTimer: NodeJS.Timeout | undefined = undefined;
  /** A heartbeat is queued and not pulled yet: another request is a no-op. */
  heartbeatQueued = false;
  drainSent = false;
}

type State = "idle" | "running" | "stopping" | "stopped";

/**
 * A Metronome worker. Register handlers, `start()`, and `stop()` on shutdown:
 *
 * ```ts
 * const worker = new Worker({ baseUrl: "http://127.0.0.1:8080" });
 * worker.register("reports.daily", async ([user], { action }, ctx) => build(user, action, ctx.signal));
 * await worker.start();
 * process.once("SIGTERM", () => void worker.stop());
 * ```
 */
export class Worker extends EventEmitter<WorkerEvents> {
  private readonly client: Client<typeof WorkerService>;
  /** The HTTP/2 connection of a transport built from `baseUrl`, closed by `stop()`. */
  private readonly sessionManager: Http2SessionManager | undefined;
  private readonly headers: Record<string, string>;
  private readonly log: WorkerLogger;
  private readonly maxConcurrency: number;
  private readonly labels: Record<string, string>;
  private readonly initialDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly handlers = new Map<string, HandlerEntry>();
  private readonly runs = new Map<string, RunRecord>();
  private readonly outbox = new Map<string, RunResult>();
  /** Called on every change of `runs` or `outbox` (stop() waits on them). */
  private readonly waiters = new Set<() => void>();

  private state: State = "idle";
  /** No new session may start; set when stopping ends (or start fails). */
  private closed = false;
  /** stop()'s grace ran out: handlers were aborted, new assignments are rejected. */
  private graceExpired = false;
  private welcomedOnce = false;
  private session: Session | undefined = undefined;
  private currentWorkerId: string;
  private currentSessionId: string | undefined = undefined;
  private leaseDurationMs = DEFAULT_LEASE_MS;
  private loop: Promise<void> | undefined = undefined;
  private startPromise: Promise<void> | undefined = undefined;
  private settleStart: ((error?: Error) => void) | undefined = undefined;
  private stopPromise: Promise<void> | undefined = undefined;
  private wake: (() => void) | undefined = undefined;
  private watchdogTimer: NodeJS.Timeout | undefined = undefined;
  private graceTimer: NodeJS.Timeout | undefined = undefined;

  constructor(options: WorkerOptions) {
    super();
    if ((options.baseUrl === undefined) === (options.transport === undefined)) {
      throw new TypeError("Worker: pass exactly one of baseUrl and transport");
    }
    let transport: Transport;
    if (options.transport !== undefined) {
      transport = options.transport;
    } else {
      const baseUrl = String(options.baseUrl);
      const url = new URL(baseUrl); // throws on a malformed URL, now rather than at start()
      if (url.protocol !== "http:" && url.protocol !== "https:") {
        throw new TypeError(`Worker: baseUrl must be http:// or https://, got ${baseUrl}`);
      }
      this.sessionManager = new Http2SessionManager(url, KEEPALIVE);
      transport = createGrpcTransport({ baseUrl, sessionManager: this.sessionManager });
    }
    this.client = createClient(WorkerService, transport);
    this.headers = options.token === undefined ? {} : { authorization: `Bearer ${options.token}` };

    const workerId = options.workerId ?? defaultWorkerId();
    if (workerId !== "" && !IDENTIFIER.test(workerId)) {
      throw new TypeError(
        `Worker: invalid workerId ${JSON.stringify(workerId)} (1 to 191 of A-Z a-z 0-9 . _ : -)`,
      );
    }
    this.currentWorkerId = workerId;
    this.maxConcurrency = options.maxConcurrency ?? DEFAULT_MAX_CONCURRENCY;
    checkLimit("maxConcurrency", this.maxConcurrency, 0);
    this.labels = { ...defaultLabels(), ...options.labels };
    checkLabels(this.labels);
    this.initialDelayMs = options.reconnect?.initialDelayMs ?? DEFAULT_INITIAL_DELAY_MS;
    this.maxDelayMs = options.reconnect?.maxDelayMs ?? DEFAULT_MAX_DELAY_MS;
    if (!(this.initialDelayMs > 0) || !(this.maxDelayMs >= this.initialDelayMs)) {
      throw new RangeError("Worker: reconnect needs 0 < initialDelayMs <= maxDelayMs");
    }
    this.log = options.logger ?? defaultLogger();
  }

  /** The worker id: the configured one, or the server's after a welcome when it was empty. */
  get workerId(): string {
    return this.currentWorkerId;
  }

  /** The current session's id; undefined while not connected. */
  get sessionId(): string | undefined {
    return this.currentSessionId;
  }

  /** Handlers executing now, including cancelled ones that have not returned yet. */
  get running(): number {
    let n = 0;
    for (const rec of this.runs.values()) if (rec.phase === "running") n++;
    return n;
  }

  /**
   * Registers a handler under `name` (identifier rules: 1 to 191 of `A-Z a-z 0-9 . _ : -`), the
   * name jobs refer to. Only before `start()`; a name can be registered once.
   */
  register(name: string, handler: Handler, options?: HandlerOptions): this;
  /** A handler defined with `defineHandler` (its name and function), of any argument types. */
  register(def: HandlerDef<never, never>, options?: HandlerOptions): this;
  register(
    nameOrDef: string | HandlerDef<never, never>,
    handlerOrOptions?: Handler | HandlerOptions,
    maybeOptions: HandlerOptions = {},
  ): this {
    if (typeof nameOrDef !== "string")
      return this.register(
        nameOrDef.name,
        nameOrDef.fn as unknown as Handler,
        (handlerOrOptions ?? {}) as HandlerOptions,
      );
    const name = nameOrDef;
    if (typeof handlerOrOptions !== "function")
      throw new TypeError("Worker.register: give a handler function");
    const handler = handlerOrOptions;
    const options = maybeOptions;
    if (this.state !== "idle") throw new Error("Worker.register: call it before start()");
    if (!IDENTIFIER.test(name)) {
      throw new TypeError(
        `Worker.register: invalid handler name ${JSON.stringify(name)} (1 to 191 of A-Z a-z 0-9 . _ : -)`,
      );
    }
    if (this.handlers.has(name)) {
      throw new Error(`Worker.register: handler "${name}" is already registered`);
    }
    if (this.handlers.size >= MAX_HANDLERS) {
      throw new RangeError(`Worker.register: at most ${MAX_HANDLERS} handlers`);
    }
    const concurrency = options.concurrency ?? 0;
    if (options.concurrency !== undefined) checkLimit("concurrency", concurrency, 1);
    this.handlers.set(name, { name, fn: handler, concurrency });
    return this;
  }

  /**
   * Opens the session. Resolves on the first SessionWelcome; until then connection failures are
   * retried with backoff, except INVALID_ARGUMENT, UNAUTHENTICATED, PERMISSION_DENIED and
   * UNIMPLEMENTED, which reject (a configuration error). Rejects too if `stop()` comes first.
   * Later disconnections reconnect on their own. Calling it again returns the same promise.
   */
  start(): Promise<void> {
    if (this.startPromise !== undefined) return this.startPromise;
    if (this.state !== "idle") return Promise.reject(new Error("Worker.start: worker is stopped"));
    if (this.handlers.size === 0) {
      return Promise.reject(new Error("Worker.start: register at least one handler"));
    }
    if (this.maxConcurrency === 0) {
      const unlimited = [...this.handlers.values()].filter((h) => h.concurrency === 0);
      if (unlimited.length > 0) {
        return Promise.reject(
          new Error(
            `Worker.start: with maxConcurrency 0 every handler needs a concurrency (missing: ${unlimited
              .map((h) => h.name)
              .join(", ")})`,
          ),
        );
      }
    }
    this.state = "running";
    this.startPromise = new Promise<void>((resolve, reject) => {
      this.settleStart = (error) => {
        this.settleStart = undefined;
        if (error === undefined) resolve();
        else reject(error);
      };
    });
    this.loop = this.connectionLoop();
    return this.startPromise;
  }

  /**
   * Shuts down: sends WorkerDrain so no new runs come, waits for running handlers to finish and
   * for their results to be answered, aborts handlers still running after `graceMs` (their
   * signal's reason is a RunAbortedError "worker stopping"; what they return or throw is still
   * reported), then closes the stream. If handlers or answers are still missing 10 s after the
   * grace, it closes anyway and their leases expire on the server. Idempotent.
   */
  stop(options: StopOptions = {}): Promise<void> {
    const graceMs = options.graceMs ?? DEFAULT_GRACE_MS;
    if (!(graceMs >= 0)) return Promise.reject(new RangeError("Worker.stop: graceMs must be >= 0"));
    this.stopPromise ??= this.doStop(graceMs);
    return this.stopPromise;
  }

  private async doStop(graceMs: number): Promise<void> {
    if (this.state === "idle" || this.state === "stopped") {
      this.state = "stopped";
      return;
    }
    this.state = "stopping";
    if (!this.welcomedOnce) {
      // No welcome means no assignment either: nothing to finish.
      this.settleStart?.(new Error("Worker.start: stop() was called before the worker connected"));
      await this.shutdown();
      return;
    }
    this.log.info({ running: this.running, graceMs }, "worker stopping");
    if (this.session !== undefined) this.sendDrain(this.session);
    if (graceMs <= MAX_TIMER_MS) {
      this.graceTimer = setTimeout(() => {
        this.expireGrace();
      }, graceMs);
    }
    const idle = await this.waitForIdle(Date.now() + graceMs + STOP_SETTLE_MS);
    clearTimeout(this.graceTimer);
    if (!idle) {
      this.log.warn(
        {
          running: [...this.runs.values()].map((r) => r.lease.runId),
          unanswered: [...this.outbox.values()].map((r) => r.lease?.runId),
        },
        "worker stopping without the outcome of some runs; their leases will expire on the server",
      );
    }
    await this.shutdown();
    this.log.info("worker stopped");
  }

  /** Ends the connection loop, closing the current session (gracefully if welcomed). */
  private async shutdown(): Promise<void> {
    this.closed = true;
    clearTimeout(this.graceTimer);
    clearTimeout(this.watchdogTimer);
    for (const rec of this.runs.values()) {
      if (rec.phase === "waiting") {
        clearTimeout(rec.waitTimer);
        this.runs.delete(rec.key);
      }
    }
    const s = this.session;
    let closeTimer: NodeJS.Timeout | undefined;
    if (s !== undefined) {
      if (this.welcomedOnce) {
        // Half-close after what is queued (WorkerDrain at least); the server then ends the
        // stream with OK. Before any welcome the server may be unreachable: abort instead.
        s.queue.end();
        closeTimer = setTimeout(() => {
          s.abort.abort(new Error("the server did not end the session in time"));
        }, CLOSE_TIMEOUT_MS);
      } else {
        s.abort.abort(new Error("worker stopped"));
      }
    }
    this.wake?.();
    await this.loop;
    clearTimeout(closeTimer);
    this.sessionManager?.abort();
    this.state = "stopped";
  }

  /** One session after another until closed. Never rejects. */
  private async connectionLoop(): Promise<void> {
    let failures = 0;
    while (!this.closed) {
      const s = new Session();
      this.session = s;
      let error: unknown = undefined;
      try {
        await this.runSession(s);
      } catch (err) {
        error = err;
      }
      const welcomed = s.welcome !== undefined;
      this.endSession(s, error);
      // (A method call: TypeScript would keep `closed` narrowed to false across the await.)
      if (this.isClosed()) break;
      if (welcomed) failures = 0;
      if (!this.welcomedOnce && error !== undefined && isFatal(error)) {
        this.log.error(errorFields(error), "worker cannot connect; giving up");
        this.closed = true;
        this.state = "stopped";
        this.sessionManager?.abort();
        this.settleStart?.(asError(toMetronomeError(error))); // UnauthenticatedError, …
        break;
      }
      failures++;
      const delay =
        Math.random() * Math.min(this.maxDelayMs, this.initialDelayMs * 2 ** (failures - 1));
      const fields = { ...errorFields(error), attempt: failures, delayMs: Math.round(delay) };
      if (welcomed) this.log.warn(fields, "session ended; reconnecting");
      else this.log.warn(fields, "cannot open a session; retrying");
      if (error !== undefined) this.emitError(asError(error));
      await this.sleep(delay);
    }
    this.session = undefined;
  }

  private async runSession(s: Session): Promise<void> {
    s.queue.push(this.helloRequest());
    if (this.state === "stopping") this.sendDrain(s);
    const responses = this.client.session(s.queue, {
      signal: s.abort.signal,
      headers: this.headers,
    });
    for await (const response of responses) this.dispatch(s, response);
  }

  /** Cleans up after a session, whatever ended it. */
  private endSession(s: Session, error: unknown): void {
    clearInterval(s.heartbeatTimer);
    s.queue.close();
    s.abort.abort(); // releases the HTTP/2 stream if it is still open; no-op otherwise
    if (this.session === s) this.session = undefined;
    if (s.welcome === undefined) return;
    this.currentSessionId = undefined;
    const err = error === undefined ? undefined : asError(error);
    this.log.info({ sessionId: s.welcome.sessionId, err }, "worker disconnected");
    try {
      this.emit("disconnected", { sessionId: s.welcome.sessionId, error: err });
    } catch (listenerError) {
      this.log.error({ err: listenerError }, "a 'disconnected' listener threw");
    }
    this.armWatchdog();
  }

  private dispatch(s: Session, response: SessionResponse): void {
    try {
      const payload = response.payload;
      switch (payload.case) {
        case "welcome":
          this.onWelcome(s, payload.value);
          break;
        case "assignment":
          this.onAssignment(payload.value);
          break;
        case "cancellation":
          this.onCancellation(payload.value);
          break;
        case "resultAccepted":
          this.onAnswer(payload.value.lease, () => {
            this.log.debug(
              { runId: payload.value.lease?.runId, status: RunStatus[payload.value.runStatus] },
              "result accepted",
            );
          });
          break;
        case "resultRejected":
          this.onAnswer(payload.value.lease, () => {
            this.log.warn(
              {
                runId: payload.value.lease?.runId,
                attempt: payload.value.lease?.attempt,
                reason: ResultRejectionReason[payload.value.reason],
                message: payload.value.message,
              },
              "result rejected by the server",
            );
          });
          break;
        case undefined:
          this.log.debug("ignoring an unknown message from the server");
          break;
      }
    } catch (err) {
      // A bug here (or a throwing event listener) must not take the session down.
      this.log.error({ err }, "error while handling a server message");
      this.emitError(asError(err));
    }
  }

  private onWelcome(s: Session, welcome: SessionWelcome): void {
    if (s.welcome !== undefined) {
      this.log.warn("ignoring a second SessionWelcome");
      return;
    }
    s.welcome = welcome;
    this.leaseDurationMs =
      welcome.leaseDuration === undefined ? DEFAULT_LEASE_MS : durationMs(welcome.leaseDuration);
    const heartbeatMs = Math.max(
      MIN_HEARTBEAT_MS,
      welcome.heartbeatInterval === undefined
        ? DEFAULT_HEARTBEAT_MS
        : durationMs(welcome.heartbeatInterval),
    );
    if (welcome.workerId !== "") this.currentWorkerId = welcome.workerId;
    this.currentSessionId = welcome.sessionId;
    s.heartbeatTimer = setInterval(() => {
      this.queueHeartbeat(s);
    }, heartbeatMs);
    // Extend resumed leases at once rather than one interval later.
    if (this.heldCount() > 0) this.queueHeartbeat(s);
    for (const result of this.outbox.values()) s.queue.push(resultRequest(result));
    this.log.info(
      {
        workerId: this.currentWorkerId,
        sessionId: welcome.sessionId,
        resumed: this.heldCount(),
        unanswered: this.outbox.size,
        leaseDurationMs: this.leaseDurationMs,
        heartbeatMs,
      },
      "worker connected",
    );
    this.welcomedOnce = true;
    this.settleStart?.();
    this.emit("connected", { workerId: this.currentWorkerId, sessionId: welcome.sessionId });
  }

  private onAssignment(a: RunAssignment): void {
    const lease = a.lease;
    if (lease === undefined) {
      this.log.warn({ handler: a.handler }, "ignoring an assignment without a lease");
      return;
    }
    const key = leaseKey(lease);
    if (this.runs.has(key) || this.outbox.has(key)) {
      this.log.debug({ runId: lease.runId, attempt: lease.attempt }, "duplicate assignment");
      return;
    }
    if (this.closed) {
      // WorkerDrain has no answer: the server sent this before it read the drain, and nothing
      // can be sent back any more. The lease expires on the server, which retries the run.
      this.log.warn(
        { runId: lease.runId, attempt: lease.attempt },
        "assignment received after the worker closed the session; its lease will expire",
      );
      return;
    }
    const entry = this.handlers.get(a.handler);
    if (entry === undefined) {
      this.rejectAssignment(lease, `handler "${a.handler}" is not registered on this worker`);
      return;
    }
    if (this.graceExpired) {
      this.rejectAssignment(lease, "the worker is stopping");
      return;
    }
    // The server counts held leases; it should never exceed the limits it was given.
    const held = this.count(entry, (r) => r.released === undefined);
    if (this.atLimit(entry, held)) {
      this.rejectAssignment(
        lease,
        `over the worker's concurrency limit (${held.total} runs held, ${held.handler} of "${entry.name}")`,
      );
      return;
    }
    const rec: RunRecord = {
      key,
      lease,
      assignment: a,
      entry,
      controller: new AbortController(),
      phase: "waiting",
      released: undefined,
      extendedAt: Date.now(),
      waitTimer: undefined,
      notBefore: a.fireTime === undefined ? 0 : timestampMs(a.fireTime),
    };
    this.runs.set(key, rec);
    const early = rec.notBefore - Date.now();
    if (early > 0) {
      // Sent ahead (WorkerHello.accepts_early_assignments): start at the fire time.
      rec.waitTimer = setTimeout(() => {
        rec.waitTimer = undefined;
        if (this.runs.get(key) !== rec || rec.phase !== "waiting") return;
        if (this.canStart(entry)) this.startRun(rec);
        else
          rec.waitTimer = setTimeout(() => {
            this.giveUpWaiting(rec);
          }, SLOT_WAIT_MS);
      }, early);
    } else if (this.canStart(entry)) {
      this.startRun(rec);
    } else {
      // A slot is still taken by a handler whose lease ended (the server counts it free).
      this.log.info(
        { runId: lease.runId, attempt: lease.attempt, handler: entry.name },
        "waiting for a cancelled handler to return before starting the run",
      );
      rec.waitTimer = setTimeout(() => {
        this.giveUpWaiting(rec);
      }, SLOT_WAIT_MS);
    }
    this.armWatchdog();
    this.notify();
  }

  private startRun(rec: RunRecord): void {
    clearTimeout(rec.waitTimer);
    rec.waitTimer = undefined;
    rec.phase = "running";
    void this.execute(rec);
  }

  /** Runs the handler and records its outcome. Never rejects. */
  private async execute(rec: RunRecord): Promise<void> {
    const a = rec.assignment;
    const fields = {
      runId: rec.lease.runId,
      attempt: rec.lease.attempt,
      handler: rec.entry.name,
      jobId: a.jobId,
    };
    // Made on first use: a child logger per run is a noticeable share of a trivial run's cost
    // when thousands start at one instant.
    let runLog: WorkerLogger | undefined;
    const log = (): WorkerLogger => (runLog ??= childLogger(this.log, fields));
    // One line when the handler starts and one with its outcome (at info when it succeeded).
    this.log.info(fields, "run started");
    const started = Date.now();
    let result: RunResult;
    try {
      // Let the message handler finish its bookkeeping before user code runs.
      await Promise.resolve();
      const args = a.args === undefined ? [] : toJson(ListValueSchema, a.args);
      const value: unknown = await rec.entry.fn(
        Array.isArray(args) ? args : [],
        a.kwargs ?? {},
        this.context(rec, log),
      );
      result = successResult(rec.lease, value);
    } catch (err) {
      result = errorResult(rec.lease, reportError(err));
    }
    try {
      const ms = Date.now() - started;
      if (rec.released !== undefined) {
        // The lease ended while the handler ran; "run stopped" said why.
        this.log.info({ ...fields, ms }, "run ended after its lease was revoked");
      } else if (result.outcome.case === "error") {
        const { type, message } = result.outcome.value;
        this.log.warn({ ...fields, ms, type, error: firstLine(message) }, "run failed");
      } else {
        this.log.info({ ...fields, ms }, "run succeeded");
      }
      this.finishRun(rec, result);
    } catch (err) {
      this.log.error({ err }, "error while recording a run's outcome");
    }
  }

  private context(rec: RunRecord, log: () => WorkerLogger): RunContext {
    const a = rec.assignment;
    const received = new Date(rec.extendedAt);
    return {
      signal: rec.controller.signal,
      runId: rec.lease.runId,
      attempt: rec.lease.attempt,
      maxAttempts: a.maxAttempts,
      scheduler: a.scheduler,
      jobId: a.jobId,
      jobName: a.jobName,
      handler: a.handler,
      scheduledTime: a.scheduledTime === undefined ? received : timestampDate(a.scheduledTime),
      fireTime: a.fireTime === undefined ? received : timestampDate(a.fireTime),
      manual: a.manual,
      timeoutMs: a.timeout === undefined ? null : durationMs(a.timeout),
      get log() {
        return log();
      },
      heartbeat: () => {
        const s = this.session;
        if (s !== undefined && rec.released === undefined) this.queueHeartbeat(s);
        return Promise.resolve();
      },
    };
  }

  private finishRun(rec: RunRecord, result: RunResult): void {
    this.runs.delete(rec.key);
    if (rec.released !== undefined) {
      this.log.debug(
        { runId: rec.lease.runId, attempt: rec.lease.attempt, reason: rec.released.message },
        "result dropped: the lease is no longer this worker's",
      );
    } else if (this.closed) {
      this.log.warn(
        { runId: rec.lease.runId, attempt: rec.lease.attempt },
        "handler returned after the worker stopped; result not reported",
      );
    } else {
      this.report(rec.key, result);
    }
    this.promoteWaiting();
    this.armWatchdog();
    this.notify();
  }

  /** Keeps a result until answered and sends it now if a welcomed session is open. */
  private report(key: string, result: RunResult): void {
    this.outbox.set(key, result);
    const s = this.session;
    if (s?.welcome !== undefined) s.queue.push(resultRequest(result));
  }

  private rejectAssignment(lease: RunLease, message: string): void {
    this.log.warn({ runId: lease.runId, attempt: lease.attempt }, `run rejected: ${message}`);
    this.report(
      leaseKey(lease),
      errorResult(lease, { type: "WorkerRejected", message, stack: "", nonRetryable: false }),
    );
    this.notify();
  }

  private giveUpWaiting(rec: RunRecord): void {
    if (this.runs.get(rec.key) !== rec || rec.phase !== "waiting") return;
    this.runs.delete(rec.key);
    this.rejectAssignment(
      rec.lease,
      `no free slot within ${SLOT_WAIT_MS} ms: cancelled handlers are still running`,
    );
    this.armWatchdog();
  }

  /** Starts waiting assignments whose slot became free, oldest first. */
  private promoteWaiting(): void {
    if (this.closed || this.graceExpired) return;
    const now = Date.now();
    for (const rec of this.runs.values()) {
      if (rec.phase === "waiting" && rec.notBefore <= now && this.canStart(rec.entry))
        this.startRun(rec);
    }
  }

  private onCancellation(c: RunCancellation): void {
    const lease = c.lease;
    if (lease === undefined) return;
    const key = leaseKey(lease);
    // A finished but unanswered result would be rejected now: stop sending it.
    const hadResult = this.outbox.delete(key);
    const rec = this.runs.get(key);
    if (rec === undefined) {
      this.log.debug({ runId: lease.runId, attempt: lease.attempt }, "cancellation of no run");
      if (hadResult) this.notify();
      return;
    }
    const [kind, what] = cancellationKind(c.reason);
    this.release(rec, new RunAbortedError(kind, c.message === "" ? what : `${what}: ${c.message}`));
  }

  /** The lease is no longer ours: abort the handler and drop its eventual result. */
  private release(rec: RunRecord, reason: RunAbortedError): void {
    if (rec.released !== undefined) return;
    rec.released = reason;
    this.log.info(
      { runId: rec.lease.runId, attempt: rec.lease.attempt, kind: reason.kind },
      `run stopped: ${reason.message}`,
    );
    if (rec.phase === "waiting") {
      clearTimeout(rec.waitTimer);
      this.runs.delete(rec.key);
    } else {
      rec.controller.abort(reason);
    }
    this.armWatchdog();
    this.notify();
  }

  private onAnswer(lease: RunLease | undefined, logIt: () => void): void {
    if (lease === undefined) return;
    logIt();
    if (this.outbox.delete(leaseKey(lease))) this.notify();
  }

  /** stop()'s grace ran out: abort what still runs; waiting assignments go back to the server. */
  private expireGrace(): void {
    this.graceExpired = true;
    const reason = new RunAbortedError("stopping", "worker stopping");
    for (const rec of [...this.runs.values()]) {
      if (rec.phase === "waiting") {
        clearTimeout(rec.waitTimer);
        this.runs.delete(rec.key);
        this.rejectAssignment(rec.lease, "the worker is stopping");
      } else if (rec.released === undefined && !rec.controller.signal.aborted) {
        this.log.warn(
          { runId: rec.lease.runId, attempt: rec.lease.attempt },
          "aborting a run: stop grace expired",
        );
        rec.controller.abort(reason);
      }
    }
    this.notify();
  }

  private sendDrain(s: Session): void {
    if (s.drainSent) return;
    s.drainSent = s.queue.push(
      create(SessionRequestSchema, { payload: { case: "drain", value: {} } }),
    );
  }

  private queueHeartbeat(s: Session): void {
    if (s.heartbeatQueued || s.welcome === undefined) return;
    s.heartbeatQueued = true;
    // Built when the transport takes it, so it lists the leases held at that moment.
    const queued = s.queue.pushLazy(() => {
      s.heartbeatQueued = false;
      const now = Date.now();
      const activeLeases: RunLease[] = [];
      for (const rec of this.runs.values()) {
        if (rec.released !== undefined) continue;
        activeLeases.push(rec.lease);
        rec.extendedAt = now;
      }
      this.armWatchdog();
      return create(SessionRequestSchema, {
        payload: { case: "heartbeat", value: { activeLeases } },
      });
    });
    if (!queued) s.heartbeatQueued = false;
  }

  private helloRequest(): SessionRequest {
    const resumedLeases: RunLease[] = [];
    for (const rec of this.runs.values())
      if (rec.released === undefined) resumedLeases.push(rec.lease);
    return create(SessionRequestSchema, {
      payload: {
        case: "hello",
        value: {
          workerId: this.currentWorkerId,
          handlers: [...this.handlers.values()].map((h) => ({
            handler: h.name,
            maxConcurrency: h.concurrency,
          })),
          maxConcurrency: this.maxConcurrency,
          labels: this.labels,
          resumedLeases,
          acceptsEarlyAssignments: true,
        },
      },
    });
  }

  /**
   * Aborts held runs whose lease must have expired on the server: not extended for
   * lease_duration (no heartbeat got out, e.g. while disconnected). The server would answer
   * LEASE_LOST on resumption anyway; this stops duplicates sooner when it cannot be reached.
   */
  private armWatchdog(): void {
    clearTimeout(this.watchdogTimer);
    this.watchdogTimer = undefined;
    if (this.closed) return;
    let earliest = Infinity;
    for (const rec of this.runs.values()) {
      if (rec.released === undefined) earliest = Math.min(earliest, rec.extendedAt);
    }
    if (earliest === Infinity) return;
    const delay = Math.max(0, earliest + this.leaseDurationMs - Date.now());
    // unref: a safety net, not a reason to keep the process alive.
    this.watchdogTimer = setTimeout(() => {
      this.watchdogTimer = undefined;
      const now = Date.now();
      for (const rec of [...this.runs.values()]) {
        if (rec.released === undefined && rec.extendedAt + this.leaseDurationMs <= now) {
          this.release(
            rec,
            new RunAbortedError(
              "lease_lost",
              `lease lost: not extended for ${this.leaseDurationMs} ms (no heartbeat reached the server)`,
            ),
          );
        }
      }
      this.armWatchdog();
    }, delay).unref();
  }

  private count(
    entry: HandlerEntry,
    include: (rec: RunRecord) => boolean,
  ): { total: number; handler: number } {
    let total = 0;
    let handler = 0;
    for (const rec of this.runs.values()) {
      if (!include(rec)) continue;
      total++;
      if (rec.entry === entry) handler++;
    }
    return { total, handler };
  }

  private atLimit(entry: HandlerEntry, n: { total: number; handler: number }): boolean {
    return (
      (this.maxConcurrency > 0 && n.total >= this.maxConcurrency) ||
      (entry.concurrency > 0 && n.handler >= entry.concurrency)
    );
  }

  /** A slot is free among executing handlers (released ones included: they still run). */
  private canStart(entry: HandlerEntry): boolean {
    return !this.atLimit(
      entry,
      this.count(entry, (r) => r.phase === "running"),
    );
  }

  private isClosed(): boolean {
    return this.closed;
  }

  private heldCount(): number {
    let n = 0;
    for (const rec of this.runs.values()) if (rec.released === undefined) n++;
    return n;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
      // Not unref'd: while reconnecting, this timer is what keeps a worker process alive.
      const timer = setTimeout(done, Math.min(ms, MAX_TIMER_MS));
      this.wake = done;
    });
  }

  private notify(): void {
    for (const waiter of [...this.waiters]) waiter();
  }

  /** Waits until no run is held or executing and every result is answered; false at deadline. */
  private async waitForIdle(deadline: number): Promise<boolean> {
    while (this.runs.size > 0 || this.outbox.size > 0) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          this.waiters.delete(done);
          resolve();
        };
        const timer = setTimeout(done, Math.min(left, MAX_TIMER_MS));
        this.waiters.add(done);
      });
    }
    return true;
  }

  /** Emits `error` only when someone listens: an unhandled `error` event would throw. */
  private emitError(error: Error): void {
    if (this.listenerCount("error") === 0) return;
    try {
      this.emit("error", error);
    } catch (listenerError) {
      this.log.error({ err: listenerError }, "an 'error' listener threw");
    }
  }
}

/** A log line stays one line: the first line of an error message, at most 200 characters. */
function firstLine(text: string): string {
  const line = text.split("\n", 1)[0] ?? "";
  return line.length > 200 ? `${line.slice(0, 199)}…` : line;
}

function leaseKey(lease: RunLease): string {
  return `${lease.runId}\u0000${lease.attempt}\u0000${lease.leaseToken}`;
}

function resultRequest(result: RunResult): SessionRequest {
  return create(SessionRequestSchema, { payload: { case: "result", value: result } });
}

function errorResult(lease: RunLease, report: ErrorReport): RunResult {
  return create(RunResultSchema, { lease, outcome: { case: "error", value: report } });
}

/** The result of a handler that returned `value`; errors for what cannot be stored. */
function successResult(lease: RunLease, value: unknown): RunResult {
  if (value === undefined || value === null) {
    return create(RunResultSchema, { lease, outcome: { case: "success", value: {} } });
  }
  let json: JsonValue;
  try {
    json = toJsonValue(value);
  } catch (err) {
    // Includes a throwing toJSON(): the value cannot be stored, retrying will not change that.
    return errorResult(lease, {
      ...reportError(err),
      type: "ResultNotSerializable",
      nonRetryable: true,
    });
  }
  const bytes = Buffer.byteLength(JSON.stringify(json));
  if (bytes > MAX_RESULT_BYTES) {
    return errorResult(lease, {
      type: "ResultTooLarge",
      message: `the result is ${bytes} bytes of JSON; at most 65,536 are stored`,
      stack: "",
      nonRetryable: true,
    });
  }
  return create(RunResultSchema, {
    lease,
    outcome: { case: "success", value: { result: fromJson(ValueSchema, json) } },
  });
}

function cancellationKind(reason: CancellationReason): [AbortKind, string] {
  if (reason === CancellationReason.TIMED_OUT) return ["timed_out", "run timed out"];
  if (reason === CancellationReason.LEASE_LOST) return ["lease_lost", "lease lost"];
  // CANCELLED, and values this SDK does not know yet.
  return ["cancelled", "run cancelled"];
}

function isFatal(error: unknown): boolean {
  return FATAL_BEFORE_WELCOME.has(ConnectError.from(error).code);
}

/**
 * A failed session in a log line: an error the server or the network answered (no server at
 * the address, a wrong token…) as its one-line reason, since the stack is the RPC library's;
 * anything else whole.
 */
function errorFields(error: unknown): { reason: string } | { err: unknown } {
  const typed = toMetronomeError(error);
  return typed instanceof MetronomeError
    ? { reason: `${typed.name}: ${typed.message}` }
    : { err: error };
}

function asError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}

function checkLimit(what: string, n: number, min: number): void {
  if (!Number.isInteger(n) || n < min || n > MAX_LIMIT) {
    throw new RangeError(`Worker: ${what} must be an integer from ${min} to ${MAX_LIMIT}`);
  }
}

function checkLabels(labels: Record<string, string>): void {
  const entries = Object.entries(labels);
  if (entries.length > MAX_LABELS) throw new RangeError(`Worker: at most ${MAX_LABELS} labels`);
  for (const [key, value] of entries) {
    if (key === "" || key.length > 63) {
      throw new RangeError(`Worker: label key ${JSON.stringify(key)} must be 1 to 63 characters`);
    }
    if (value.length > 255) {
      throw new RangeError(`Worker: label ${key} is longer than 255 characters`);
    }
  }
}

/** `<hostname>-<pid>`, with characters outside the identifier rules replaced. */
function defaultWorkerId(): string {
  const host =
    hostname()
      .replace(/[^A-Za-z0-9._:-]/g, "-")
      .slice(0, 170) || "worker";
  return `${host}-${process.pid}`;
}

function defaultLabels(): Record<string, string> {
  return {
    host: hostname().slice(0, 255),
    pid: String(process.pid),
    sdk: SDK_NAME,
    sdk_version: SDK_VERSION,
  };
}
