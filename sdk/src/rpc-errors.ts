/**
 * Errors of calls to the server as typed classes, one per gRPC code the API uses (docs/api.md), so
 * that callers write `catch (e) { if (e instanceof JobNotFoundError) … }` instead of comparing
 * codes. Every one is a `MetronomeError` carrying the code and the original `ConnectError`.
 */
import { durationMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { RetryInfoSchema } from "./gen/google/rpc/error_details_pb.js";

export class MetronomeError extends Error {
  constructor(
    message: string,
    /** The gRPC status code. */
    readonly code: Code,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** INVALID_ARGUMENT: `field` names what was wrong (e.g. `job.trigger.cron.hour`). */
export class InvalidArgumentError extends MetronomeError {
  constructor(
    message: string,
    readonly field: string,
    options?: ErrorOptions,
  ) {
    super(message, Code.InvalidArgument, options);
  }
}

/** NOT_FOUND: the job, scheduler or run does not exist. */
export class NotFoundError extends MetronomeError {}
/** ALREADY_EXISTS: a job with that id exists (add it with `replaceExisting: true` to replace). */
export class AlreadyExistsError extends MetronomeError {}
/** FAILED_PRECONDITION: e.g. the job is at another version than expected, the run has ended. */
export class FailedPreconditionError extends MetronomeError {}
/** OUT_OF_RANGE: an event cursor older than the retention, or not given yet. */
export class OutOfRangeError extends MetronomeError {}
/**
 * RESOURCE_EXHAUSTED: over a limit; `field` names which (e.g. `job.args` for the payload size).
 * A rate limit's refusal says how long to wait before trying again (`retryAfterMs`); a quota
 * that waiting does not free (jobs per scheduler, open subscriptions) leaves it undefined.
 */
export class ResourceExhaustedError extends MetronomeError {
  constructor(
    message: string,
    readonly field: string,
    options?: ErrorOptions,
    /** Milliseconds to wait before retrying, from the server's google.rpc.RetryInfo. */
    readonly retryAfterMs?: number,
  ) {
    super(message, Code.ResourceExhausted, options);
  }
}

/**
 * The delay a failed call asks for before it is tried again, in milliseconds: its
 * google.rpc.RetryInfo detail, else its `retry-after` metadata (whole seconds); undefined when it
 * names none.
 */
export function retryDelayOf(err: unknown): number | undefined {
  const cause: unknown = err instanceof MetronomeError ? err.cause : err;
  if (!(cause instanceof ConnectError)) return undefined;
  const delay = cause.findDetails(RetryInfoSchema)[0]?.retryDelay;
  if (delay !== undefined) return Math.max(0, durationMs(delay));
  const header = /^\d{1,9}$/.exec(cause.metadata.get("retry-after") ?? "");
  return header === null ? undefined : Number(header[0]) * 1000;
}
/** UNAUTHENTICATED: no or wrong bearer token. */
export class UnauthenticatedError extends MetronomeError {}
/** PERMISSION_DENIED. */
export class PermissionDeniedError extends MetronomeError {}
/** UNAVAILABLE: the server or its database cannot be reached; retrying may succeed. */
export class UnavailableError extends MetronomeError {}

const CLASSES = new Map<
  Code,
  new (message: string, code: Code, options?: ErrorOptions) => MetronomeError
>([
  [Code.NotFound, NotFoundError],
  [Code.AlreadyExists, AlreadyExistsError],
  [Code.FailedPrecondition, FailedPreconditionError],
  [Code.OutOfRange, OutOfRangeError],
  [Code.Unauthenticated, UnauthenticatedError],
  [Code.PermissionDenied, PermissionDeniedError],
  [Code.Unavailable, UnavailableError],
]);

/** Network errors that mean nothing answers at the address (no server, wrong port or host). */
const NOTHING_THERE = new Set(["ECONNREFUSED", "ENOTFOUND", "EHOSTUNREACH", "ENETUNREACH"]);

/**
 * Node's code for an HTTP/2 session the peer broke the protocol of (nghttp2's "Protocol error"):
 * something answers at the address, but not in HTTP/2 (an HTTP/1.1 server, a database's port,
 * TLS addressed as http://). Connect reports it as INTERNAL; like grpc-js, the SDK reports it as
 * UNAVAILABLE: no Metronome server could be reached there, and no call was made.
 */
const NOT_HTTP2 = "ERR_HTTP2_ERROR";

/** The system or Node error code of a failed call's cause ("" when none). */
function causeCode(err: ConnectError): string {
  const cause: unknown = err.cause;
  return cause instanceof Error && "code" in cause && typeof cause.code === "string"
    ? cause.code
    : "";
}

/**
 * The code and message of a failed call as the SDK reports them: a connection nothing (or
 * nothing HTTP/2) answered says what to check, and the latter is UNAVAILABLE (see NOT_HTTP2).
 */
function reported(err: ConnectError): { code: Code; message: string } {
  const sysCode = causeCode(err);
  if (sysCode === NOT_HTTP2)
    return {
      code: err.code === Code.Internal ? Code.Unavailable : err.code,
      message: `${err.rawMessage}: the address does not answer in HTTP/2; is the Metronome server running at that address?`,
    };
  if (err.code === Code.Unavailable && NOTHING_THERE.has(sysCode))
    return {
      code: err.code,
      message: `${err.rawMessage}: is the Metronome server running at that address?`,
    };
  return { code: err.code, message: err.rawMessage };
}

/** The typed error of a failed call (anything else is returned as it is). */
export function toMetronomeError(err: unknown): unknown {
  if (err instanceof MetronomeError) return err;
  if (!(err instanceof ConnectError)) return err;
  const { code, message } = reported(err);
  if (code === Code.InvalidArgument || code === Code.ResourceExhausted) {
    // The server's messages start with the field path: "job.trigger.cron.hour: must be …".
    const field = /^([\w.[\]]+):/.exec(message)?.[1] ?? "";
    return code === Code.InvalidArgument
      ? new InvalidArgumentError(message, field, { cause: err })
      : new ResourceExhaustedError(message, field, { cause: err }, retryDelayOf(err));
  }
  const cls = CLASSES.get(code);
  return cls === undefined
    ? new MetronomeError(message, code, { cause: err })
    : new cls(message, code, { cause: err });
}

/** Awaits a call, turning its error into the typed one. */
export async function call<T>(p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (err) {
    throw toMetronomeError(err);
  }
}
