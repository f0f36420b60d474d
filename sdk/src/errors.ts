/**
 * Errors of the handler contract: the one a handler throws to fail without a retry, and the
 * reason its abort signal fires with. How a thrown value is reported is in outcome.ts.
 */

/**
 * Throw this (or a subclass) from a handler to fail the run without retrying it, even if the
 * job's retry policy has attempts left. Any error with `retryable === false` has the same effect.
 */
export class NonRetryableError extends Error {
  /** Read by the worker: this error is reported with `non_retryable = true`. */
  readonly retryable = false;

  constructor(message?: string, options?: ErrorOptions) {
    super(message, options);
    // The reported type is the name: a subclass reports its own class name.
    this.name = new.target.name;
  }
}

/** Why a handler's abort signal fired. */
export type AbortKind =
  /** The run was cancelled (RunService.CancelRun, or its job was removed). */
  | "cancelled"
  /** The job's timeout passed; the server marked the run TIMED_OUT. */
  | "timed_out"
  /** The lease is no longer this worker's; another attempt may run elsewhere. */
  | "lease_lost"
  /** `worker.stop()` ran out of grace time. */
  | "stopping";

/**
 * The `reason` of a handler's abort signal. A handler that rethrows it (e.g. through
 * `signal.throwIfAborted()`) reports type `RunAbortedError`; only a `stopping` abort's result
 * reaches the server, the others are dropped because the lease is gone.
 */
export class RunAbortedError extends Error {
  constructor(
    /** What ended the run. */
    readonly kind: AbortKind,
    message: string,
  ) {
    super(message);
    this.name = "RunAbortedError";
  }
}
