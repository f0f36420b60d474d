/**
 * The worker's state machine: one state at a time, changed only along the arrows below.
 *
 * ```
 *            start()                SessionWelcome
 *   idle ─────────────▶ connecting ───────────────▶ connected
 *    │                   ▲    │                        │
 *    │      delay passed │    │ the call failed        │ the stream ended or failed
 *    │                   │    ▼                        │
 *    │                  backoff ◀──────────────────────┘
 *    │
 *    │ stop()     stop() after a first welcome: connecting, connected, backoff ──▶ draining
 *    │            stop() before any welcome:    connecting, backoff ─────────────▶ closing
 *    ▼            a fatal error before any welcome: connecting ──────────────────▶ stopped
 *  stopped ◀── closing ◀── draining
 * ```
 *
 * - `idle`: handlers are being registered; nothing is open.
 * - `connecting`: a Session call is open and its WorkerHello sent (with the leases still held,
 *   as `resumed_leases`); no SessionWelcome yet.
 * - `connected`: welcomed. Assignments, cancellations and answers arrive; heartbeats (every
 *   `heartbeat_interval`) and results go out. `start()` resolves on the first welcome.
 * - `backoff`: between two sessions, waiting a random delay (exponential backoff with full
 *   jitter, reset by each welcome). Handlers keep running and results wait in the outbox.
 * - `draining`: `stop()` after a first welcome. WorkerDrain is sent (after the hello of every
 *   later session too: sessions still come and go, without leaving this state, so that results
 *   can be reported); no assignment is started once the grace ran out. Ends when no run is
 *   held and every result is answered, or at the deadline (the grace plus 10 s).
 * - `closing`: the stream is half-closed (the server then ends it), or aborted when no session
 *   was ever welcomed; waiting for the connection loop to end.
 * - `stopped`: final. A worker cannot be started again.
 *
 * INVALID_ARGUMENT, UNAUTHENTICATED, PERMISSION_DENIED and UNIMPLEMENTED before any welcome are
 * fatal (a configuration error): `start()` rejects and the worker stops. Any other failure, and
 * every failure after a first welcome, leads to `backoff`.
 */

/** The worker's states (see above). */
export type WorkerState =
  "idle" | "connecting" | "connected" | "backoff" | "draining" | "closing" | "stopped";

/** A change of state, as the `state` event reports it. */
export interface StateChange {
  readonly from: WorkerState;
  readonly to: WorkerState;
}

const TRANSITIONS: Readonly<Record<WorkerState, readonly WorkerState[]>> = {
  idle: ["connecting", "stopped"],
  connecting: ["connected", "backoff", "draining", "closing", "stopped"],
  connected: ["backoff", "draining"],
  backoff: ["connecting", "draining", "closing"],
  draining: ["closing"],
  closing: ["stopped"],
  stopped: [],
};

/** Whether the machine allows `from` → `to`. */
export function canTransition(from: WorkerState, to: WorkerState): boolean {
  return TRANSITIONS[from].includes(to);
}

/** The current state; every change is reported to `onChange`. */
export class StateMachine {
  private current: WorkerState = "idle";

  constructor(private readonly onChange: (change: StateChange) => void) {}

  get state(): WorkerState {
    return this.current;
  }

  /** True in any of these states. */
  in(...states: readonly WorkerState[]): boolean {
    return states.includes(this.current);
  }

  /** Moves to `to`; a move the table above does not allow is a bug in the worker: it throws. */
  go(to: WorkerState): void {
    const from = this.current;
    if (!canTransition(from, to)) throw new Error(`Worker: no transition from ${from} to ${to}`);
    this.current = to;
    this.onChange({ from, to });
  }
}
