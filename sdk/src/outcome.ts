/**
 * What a handler's outcome becomes: its return value as the JSON result (or the error saying why
 * it cannot be one), or what it threw as the `RunError` the server stores (message, type, stack,
 * retryability) within the protocol's limits. The worker sends this; `@metronome/sdk/testing`
 * shows it to a handler's unit tests, so both see the same outcome.
 */
import type { JsonValue } from "@bufbuild/protobuf";
import { NonRetryableError } from "./errors.js";
import { toJsonValue } from "./json.js";

/** A handler's outcome as plain data. */
export type Outcome =
  /**
   * Returned: `value` is the result as JSON; undefined when it returned undefined or null.
   * `json` is its text (absent with no value).
   */
  | { readonly ok: true; readonly value: JsonValue | undefined; readonly json?: string }
  /** Threw, or returned what cannot be stored. */
  | { readonly ok: false; readonly error: ErrorReport };

/**
 * The largest result the server stores (run.proto, docs/protocol.md): the worker fails a larger
 * one as `ResultTooLarge` itself, as the server would, without sending it (a message far over
 * it could pass the server's per-message limit and end the session on every attempt).
 */
export const MAX_STORED_RESULT_BYTES = 65_536;

/**
 * The outcome of a handler that returned `value`: errors for what cannot be stored (not
 * retryable: running the handler again will not change them). `maxBytes`: the largest JSON
 * accepted here.
 */
export function returnedOutcome(value: unknown, maxBytes = MAX_STORED_RESULT_BYTES): Outcome {
  if (value === undefined || value === null) return { ok: true, value: undefined };
  let json: JsonValue;
  try {
    json = toJsonValue(value);
  } catch (err) {
    // Includes a throwing toJSON(): the value cannot be stored, retrying will not change that.
    return {
      ok: false,
      error: { ...reportError(err), type: "ResultNotSerializable", nonRetryable: true },
    };
  }
  const text = JSON.stringify(json);
  const bytes = Buffer.byteLength(text);
  if (bytes > maxBytes) {
    return {
      ok: false,
      error: {
        type: "ResultTooLarge",
        message: `the result is ${bytes} bytes of JSON; at most ${String(maxBytes).replace(/\B(?=(\d{3})+$)/g, ",")} are stored`,
        stack: "",
        nonRetryable: true,
      },
    };
  }
  return { ok: true, value: json, json: text };
}

/** The outcome of a handler that threw `thrown` (or returned a promise that rejected). */
export function thrownOutcome(thrown: unknown): Outcome {
  return { ok: false, error: reportError(thrown) };
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
