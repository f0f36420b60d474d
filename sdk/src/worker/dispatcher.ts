/**
 * What the worker does at each step of a session's life (the connection loop's hooks): the
 * WorkerHello it opens with, the server's messages (welcome, assignments, cancellations, answers
 * to results) handed to the run table and the outbox, the end of a session, and the state
 * changes these cause (see state.ts). It also keeps the worker's identity: the worker id the
 * server confirmed and the current session's id.
 */
import { RunStatus } from "../gen/metronome/v1/run_pb.js";
import {
  ResultRejectionReason,
  type RunLease,
  type RunResultAccepted,
  type RunResultRejected,
  type SessionResponse,
  type SessionWelcome,
} from "../gen/metronome/v1/worker_service_pb.js";
import type { WorkerLogger } from "../logger.js";
import { MetronomeError, toMetronomeError } from "../rpc-errors.js";
import type { ConnectionHooks, Retry } from "./connection.js";
import { leaseTimes } from "./leases.js";
import type { HandlerEntry, WorkerConfig } from "./options.js";
import type { Outbox } from "./results.js";
import type { RunTable } from "./runs.js";
import type { Session } from "./session.js";
import type { StateMachine } from "./state.js";

/** What the dispatcher tells the worker (which emits its events). */
export interface DispatcherEvents {
  /** A session was welcomed. */
  connected(workerId: string, sessionId: string): void;
  /** A welcomed session ended; `error` is undefined when it ended normally. */
  disconnected(sessionId: string, error: Error | undefined): void;
  /** A failed session or connection attempt, or an error while handling a message. */
  error(error: Error): void;
  /** A fatal error before the first welcome: the worker is stopped. */
  fatal(error: Error): void;
}

export interface DispatcherDeps {
  readonly config: WorkerConfig;
  readonly handlers: ReadonlyMap<string, HandlerEntry>;
  readonly machine: StateMachine;
  readonly runs: RunTable;
  readonly outbox: Outbox;
  readonly events: DispatcherEvents;
  /** The outbox changed (stop() waits on it). */
  changed(): void;
}

export class SessionDispatcher implements ConnectionHooks {
  /** The worker id: the configured one, or the server's after a welcome when it was empty. */
  workerId: string;
  /** The welcomed session's id; undefined while not connected. */
  sessionId: string | undefined = undefined;
  private welcomed = false;
  private readonly log: WorkerLogger;

  constructor(private readonly deps: DispatcherDeps) {
    this.workerId = deps.config.workerId;
    this.log = deps.config.log;
  }

  welcomedOnce(): boolean {
    return this.welcomed;
  }

  /** Queues a heartbeat on `s` listing the leases held when it goes out. */
  heartbeat(s: Session): void {
    s.queueHeartbeat(() => this.deps.runs.leases.extendAll());
  }

  opening(s: Session): void {
    const { machine, config } = this.deps;
    if (machine.in("backoff")) machine.go("connecting");
    s.sendHello({
      workerId: this.workerId,
      handlers: [...this.deps.handlers.values()],
      maxConcurrency: config.maxConcurrency,
      labels: config.labels,
      resumedLeases: this.deps.runs.leases.held(),
    });
    if (machine.in("draining")) s.sendDrain();
  }

  message(s: Session, response: SessionResponse): void {
    try {
      const payload = response.payload;
      switch (payload.case) {
        case "welcome":
          this.onWelcome(s, payload.value);
          break;
        case "assignment":
          this.deps.runs.assign(payload.value);
          break;
        case "assignments":
          this.deps.runs.assignAll(payload.value.assignments);
          break;
        case "cancellation":
          this.deps.runs.cancel(payload.value);
          break;
        case "resultAccepted":
          this.onAccepted(payload.value);
          break;
        case "resultRejected":
          this.onRejected(payload.value);
          break;
        case "resultAnswers":
          for (const a of payload.value.accepted) this.onAccepted(a);
          for (const r of payload.value.rejected) this.onRejected(r);
          break;
        case undefined:
          this.log.debug("ignoring an unknown message from the server");
          break;
      }
    } catch (err) {
      // A bug here (or a throwing event listener) must not take the session down.
      this.log.error({ err }, "error while handling a server message");
      this.deps.events.error(asError(err));
    }
  }

  ended(s: Session, error: unknown): void {
    if (s.welcome === undefined) return;
    this.sessionId = undefined;
    const err = error === undefined ? undefined : asError(error);
    this.log.info({ sessionId: s.welcome.sessionId, err }, "worker disconnected");
    try {
      this.deps.events.disconnected(s.welcome.sessionId, err);
    } catch (listenerError) {
      this.log.error({ err: listenerError }, "a 'disconnected' listener threw");
    }
    this.deps.runs.leases.arm();
  }

  fatal(error: unknown): void {
    this.log.error(errorFields(error), "worker cannot connect; giving up");
    this.deps.runs.close();
    this.deps.machine.go("stopped");
    this.deps.events.fatal(asError(toMetronomeError(error))); // UnauthenticatedError, …
  }

  retrying({ error, welcomed, attempt, delayMs }: Retry): void {
    const machine = this.deps.machine;
    if (machine.in("connecting", "connected")) machine.go("backoff");
    const fields = { ...errorFields(error), attempt, delayMs: Math.round(delayMs) };
    if (welcomed) this.log.warn(fields, "session ended; reconnecting");
    else this.log.warn(fields, "cannot open a session; retrying");
    if (error !== undefined) this.deps.events.error(asError(error));
  }

  private onWelcome(s: Session, welcome: SessionWelcome): void {
    if (s.welcome !== undefined) {
      this.log.warn("ignoring a second SessionWelcome");
      return;
    }
    const { runs, outbox, machine } = this.deps;
    s.welcome = welcome;
    const { leaseDurationMs, heartbeatMs } = leaseTimes(welcome);
    runs.leases.leaseDurationMs = leaseDurationMs;
    if (welcome.workerId !== "") this.workerId = welcome.workerId;
    this.sessionId = welcome.sessionId;
    s.startHeartbeats(heartbeatMs, () => runs.leases.extendAll());
    // Extend resumed leases at once rather than one interval later.
    const resumed = runs.leases.heldCount();
    if (resumed > 0) this.heartbeat(s);
    for (const result of outbox.all()) s.sendResult(result);
    this.log.info(
      {
        workerId: this.workerId,
        sessionId: welcome.sessionId,
        resumed,
        unanswered: outbox.size,
        leaseDurationMs,
        heartbeatMs,
      },
      "worker connected",
    );
    this.welcomed = true;
    if (machine.in("connecting")) machine.go("connected");
    this.deps.events.connected(this.workerId, welcome.sessionId);
  }

  private onAccepted(a: RunResultAccepted): void {
    this.log.debug({ runId: a.lease?.runId, status: RunStatus[a.runStatus] }, "result accepted");
    this.forget(a.lease);
  }

  private onRejected(r: RunResultRejected): void {
    this.log.warn(
      {
        runId: r.lease?.runId,
        attempt: r.lease?.attempt,
        reason: ResultRejectionReason[r.reason],
        message: r.message,
      },
      "result rejected by the server",
    );
    this.forget(r.lease);
  }

  private forget(lease: RunLease | undefined): void {
    if (lease === undefined) return;
    if (this.deps.outbox.forget(lease)) this.deps.changed();
  }
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
