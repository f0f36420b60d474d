/**
 * The worker side of the Metronome SDK: a process registers handlers, opens one
 * `WorkerService.Session` stream and executes the runs the server assigns to it.
 *
 * The protocol (proto/metronome/v1/worker_service.proto) in short: WorkerHello → SessionWelcome;
 * then assignments, cancellations and result answers from the server, heartbeats and results from
 * the worker. A lease (run_id, attempt, lease_token) fences every result and heartbeat. The
 * `Worker` ties together the pieces of this folder, each of which survives reconnections:
 *
 * - state.ts: the worker's state machine (idle, connecting, connected, backoff, draining,
 *   closing, stopped) and its transitions;
 * - connection.ts and session.ts: one session at a time, reconnecting with backoff; the
 *   requests of a session (request-queue.ts is what the transport pulls from);
 * - dispatcher.ts: what each session says and what the server's messages do;
 * - runs.ts and executor.ts: every assignment not yet finished, its handler's execution,
 *   aborts and outcome;
 * - leases.ts: heartbeats and the watchdog over the leases held;
 * - results.ts: the outbox, every result not yet answered by RunResultAccepted/Rejected, sent
 *   again in the next session when the stream breaks first.
 */
import { EventEmitter } from "node:events";
import { createClient } from "@connectrpc/connect";
import { WorkerService } from "../gen/metronome/v1/worker_service_pb.js";
import type { Handler, HandlerDef } from "../handlers.js";
import type { WorkerLogger } from "../logger.js";
import { connect, type Connection } from "../transport.js";
import { ConnectionLoop, MAX_TIMER_MS } from "./connection.js";
import { SessionDispatcher } from "./dispatcher.js";
import {
  cannotStart,
  handlerEntry,
  workerConfig,
  type HandlerEntry,
  type HandlerOptions,
  type StopOptions,
  type WorkerConfig,
  type WorkerOptions,
} from "./options.js";
import { Outbox } from "./results.js";
import { RunTable } from "./runs.js";
import { StateMachine, type StateChange, type WorkerState } from "./state.js";

export type { HandlerOptions, StopOptions, WorkerOptions } from "./options.js";
export type { StateChange, WorkerState } from "./state.js";

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
  /** Each change of the worker's state (`worker.state`). */
  state: [change: StateChange];
};

const DEFAULT_GRACE_MS = 30_000;
/**
 * After `stop()`'s grace, how long aborted handlers get to settle and results to be answered
 * before the worker closes anyway (the leases it still holds then expire on the server).
 */
const STOP_SETTLE_MS = 10_000;
/** How long the server gets to end the stream after the worker half-closes it. */
const CLOSE_TIMEOUT_MS = 5_000;

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
  private readonly connection: Connection;
  private readonly config: WorkerConfig;
  private readonly log: WorkerLogger;
  private readonly handlers = new Map<string, HandlerEntry>();
  private readonly machine: StateMachine;
  private readonly outbox: Outbox;
  private readonly runs: RunTable;
  private readonly dispatcher: SessionDispatcher;
  private readonly loop: ConnectionLoop;
  /** Called on every change of the run table or the outbox (stop() waits on them). */
  private readonly waiters = new Set<() => void>();

  private startPromise: Promise<void> | undefined = undefined;
  private settleStart: ((error?: Error) => void) | undefined = undefined;
  private stopPromise: Promise<void> | undefined = undefined;
  private graceTimer: NodeJS.Timeout | undefined = undefined;

  constructor(options: WorkerOptions) {
    super();
    this.connection = connect("Worker", options);
    this.config = workerConfig(options);
    this.log = this.config.log;
    this.machine = new StateMachine((change) => {
      this.emitSafely("state", change);
    });
    this.outbox = new Outbox((result) => {
      const s = this.loop.session;
      if (s?.welcome !== undefined) s.sendResult(result);
    });
    this.runs = new RunTable({
      log: this.log,
      maxConcurrency: this.config.maxConcurrency,
      handlers: this.handlers,
      outbox: this.outbox,
      heartbeat: () => {
        const s = this.loop.session;
        if (s !== undefined) this.dispatcher.heartbeat(s);
      },
      changed: () => {
        this.notify();
      },
    });
    this.dispatcher = new SessionDispatcher({
      config: this.config,
      handlers: this.handlers,
      machine: this.machine,
      runs: this.runs,
      outbox: this.outbox,
      changed: () => {
        this.notify();
      },
      events: {
        connected: (workerId, sessionId) => {
          this.settleStart?.();
          this.emit("connected", { workerId, sessionId });
        },
        disconnected: (sessionId, error) => {
          this.emit("disconnected", { sessionId, error });
        },
        error: (error) => {
          this.emitError(error);
        },
        fatal: (error) => {
          this.connection.close();
          this.settleStart?.(error);
        },
      },
    });
    this.loop = new ConnectionLoop({
      client: createClient(WorkerService, this.connection.transport),
      headers: this.connection.headers,
      initialDelayMs: this.config.initialDelayMs,
      maxDelayMs: this.config.maxDelayMs,
      hooks: this.dispatcher,
    });
  }

  /** The worker id: the configured one, or the server's after a welcome when it was empty. */
  get workerId(): string {
    return this.dispatcher.workerId;
  }

  /** The current session's id; undefined while not connected. */
  get sessionId(): string | undefined {
    return this.dispatcher.sessionId;
  }

  /** Handlers executing now, including cancelled ones that have not returned yet. */
  get running(): number {
    return this.runs.running;
  }

  /** The worker's state (see docs/sdk-worker.md); each change is also a `state` event. */
  get state(): WorkerState {
    return this.machine.state;
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
    if (typeof handlerOrOptions !== "function")
      throw new TypeError("Worker.register: give a handler function");
    if (this.state !== "idle") throw new Error("Worker.register: call it before start()");
    const entry = handlerEntry(nameOrDef, handlerOrOptions, maybeOptions, this.handlers);
    this.handlers.set(entry.name, entry);
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
    const refused = cannotStart(this.handlers, this.config.maxConcurrency);
    if (refused !== undefined) return Promise.reject(refused);
    this.startPromise = new Promise<void>((resolve, reject) => {
      this.settleStart = (error) => {
        this.settleStart = undefined;
        if (error === undefined) resolve();
        else reject(error);
      };
    });
    this.machine.go("connecting");
    this.loop.start();
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
    if (this.machine.in("idle")) this.machine.go("stopped");
    if (this.machine.in("stopped")) return;
    if (!this.dispatcher.welcomedOnce()) {
      // No welcome means no assignment either: nothing to finish.
      this.machine.go("closing");
      this.settleStart?.(new Error("Worker.start: stop() was called before the worker connected"));
      await this.shutdown();
      return;
    }
    this.machine.go("draining");
    this.log.info({ running: this.running, graceMs }, "worker stopping");
    this.loop.session?.sendDrain();
    if (graceMs <= MAX_TIMER_MS) {
      this.graceTimer = setTimeout(() => {
        this.runs.expireGrace();
      }, graceMs);
    }
    const idle = await this.waitForIdle(Date.now() + graceMs + STOP_SETTLE_MS);
    clearTimeout(this.graceTimer);
    if (!idle) {
      this.log.warn(
        { running: this.runs.runIds(), unanswered: this.outbox.runIds() },
        "worker stopping without the outcome of some runs; their leases will expire on the server",
      );
    }
    this.machine.go("closing");
    await this.shutdown();
    this.log.info("worker stopped");
  }

  /** Ends the connection loop, closing the current session (gracefully if welcomed). */
  private async shutdown(): Promise<void> {
    clearTimeout(this.graceTimer);
    this.runs.close();
    let closeTimer: NodeJS.Timeout | undefined;
    await this.loop.close((s) => {
      if (this.dispatcher.welcomedOnce()) {
        // Half-close after what is queued (WorkerDrain at least); the server then ends the
        // stream with OK. Before any welcome the server may be unreachable: abort instead.
        s.end();
        closeTimer = setTimeout(() => {
          s.abort.abort(new Error("the server did not end the session in time"));
        }, CLOSE_TIMEOUT_MS);
      } else {
        s.abort.abort(new Error("worker stopped"));
      }
    });
    clearTimeout(closeTimer);
    this.connection.close();
    this.machine.go("stopped");
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
    this.emitSafely("error", error);
  }

  /** Emits an event; a listener that throws is logged, not propagated. */
  private emitSafely(...event: ["error", Error] | ["state", StateChange]): void {
    try {
      if (event[0] === "error") this.emit("error", event[1]);
      else this.emit("state", event[1]);
    } catch (listenerError) {
      this.log.error(
        { err: listenerError },
        `${event[0] === "error" ? "an" : "a"} '${event[0]}' listener threw`,
      );
    }
  }
}
