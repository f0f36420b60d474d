/**
 * Errors a handler can throw or receive, and how a thrown value becomes the `RunError` the server
 * stores (message, type, stack, retryability) within the protocol's limits.
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

/** The limits of `RunError` (run.proto). */
export const MAX_ERROR_MESSAGE = 4_096;
export const MAX_ERROR_TYPE = 191;
export const MAX_ERROR_STACK = 16_384;
/** How many `cause` links are appended to a reported stack. */
const MAX_CAUSES = 5;

/** The fields of a `RunError`, as plain data. */
export interface ErrorReport {
  message: string;
  type: string;
  stack: string;
  nonRetryable: boolean;
}

/** Describes anything a handler threw (not necessarily an `Error`). */
export function reportError(thrown: unknown): ErrorReport {
  if (thrown instanceof Error) {
    return {
      message: truncate(thrown.message, MAX_ERROR_MESSAGE),
      type: truncate(errorType(thrown), MAX_ERROR_TYPE),
      stack: truncate(stackWithCauses(thrown), MAX_ERROR_STACK),
      nonRetryable: isNonRetryable(thrown),
    };
  }
  return {
    message: truncate(describe(thrown), MAX_ERROR_MESSAGE),
    type: "NonError",
    stack: "",
    nonRetryable: isNonRetryable(thrown),
  };
}

/** True for a `NonRetryableError` or any object whose `retryable` property is `false`. */
export function isNonRetryable(thrown: unknown): boolean {
  if (thrown instanceof NonRetryableError) return true;
  return (
    typeof thrown === "object" &&
    thrown !== null &&
    (thrown as { retryable?: unknown }).retryable === false
  );
}

/**
 * The type to report: a name set on the instance (`this.name = "ValidationError"`) wins, then the
 * class name (so `class QuotaError extends Error {}` reports `QuotaError` although its `name` is
 * `Error`), then `name` for generic classes (`DOMException` → `AbortError`).
 */
export function errorType(err: Error): string {
  const ownName = Object.hasOwn(err, "name") ? err.name : undefined;
  if (typeof ownName === "string" && ownName !== "") return ownName;
  const ctor = (err as { constructor?: unknown }).constructor;
  const ctorName = typeof ctor === "function" ? ctor.name : "";
  if (ctorName !== "" && ctorName !== "Error" && ctorName !== "DOMException") return ctorName;
  return typeof err.name === "string" && err.name !== "" ? err.name : "Error";
}

/** Cuts `text` to at most `max` UTF-16 units without splitting a surrogate pair. */
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  const code = text.charCodeAt(max - 1);
  const end = code >= 0xd800 && code <= 0xdbff ? max - 1 : max;
  return text.slice(0, end);
}

/** The stack, followed by the stacks of up to five `cause`s (Node prints none of them). */
function stackWithCauses(err: Error): string {
  let text = typeof err.stack === "string" ? err.stack : `${errorType(err)}: ${err.message}`;
  let cause: unknown = err.cause;
  for (let i = 0; i < MAX_CAUSES && cause !== undefined; i++) {
    text +=
      "\nCaused by: " +
      (cause instanceof Error
        ? typeof cause.stack === "string"
          ? cause.stack
          : `${errorType(cause)}: ${cause.message}`
        : describe(cause));
    if (text.length > MAX_ERROR_STACK) break;
    cause = cause instanceof Error ? cause.cause : undefined;
  }
  return text;
}

/** A readable text for a thrown non-Error value. */
function describe(value: unknown): string {
  if (typeof value === "string") return value;
  if (typeof value === "object" && value !== null) {
    const message = (value as { message?: unknown }).message;
    if (typeof message === "string") return message;
    try {
      const json = JSON.stringify(value);
      if (typeof json === "string") return json;
    } catch {
      // Cyclic or containing a bigint: fall back to String().
    }
  }
  try {
    return String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}
