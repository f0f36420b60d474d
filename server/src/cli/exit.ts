/**
 * The exit codes of the operator commands, which scripts can rely on (docs/cli.md), and the one
 * line an error prints: what failed, naming the field when the server (or a flag) names one.
 */
import {
  InvalidArgumentError,
  MetronomeError,
  NotFoundError,
  PermissionDeniedError,
  ResourceExhaustedError,
  UnauthenticatedError,
  UnavailableError,
} from "@metronome/sdk";

export const EXIT = {
  /** Done. */
  ok: 0,
  /** Anything else: a conflict, a failed precondition, a rate limit, an internal error. */
  error: 1,
  /**
   * The command line or a value in it is wrong (also INVALID_ARGUMENT from the server, and
   * RESOURCE_EXHAUSTED naming a field: a value over a size limit).
   */
  usage: 2,
  /** The job, run or scheduler does not exist. */
  notFound: 3,
  /** No server answers at the URL, or it cannot reach its database (UNAVAILABLE). */
  unavailable: 4,
  /** The token is missing or wrong (UNAUTHENTICATED, PERMISSION_DENIED). */
  auth: 5,
} as const;

/** A failure the command found itself (a flag's value), with its exit code. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.usage,
  ) {
    super(message);
  }
}

/** The exit code of an error a command threw. */
export function exitCodeOf(err: unknown): number {
  if (err instanceof CliError) return err.exitCode;
  if (err instanceof InvalidArgumentError) return EXIT.usage;
  // A value over a limit names its field; a rate limit or quota (retry later) names none.
  if (err instanceof ResourceExhaustedError) return err.field === "" ? EXIT.error : EXIT.usage;
  if (err instanceof NotFoundError) return EXIT.notFound;
  if (err instanceof UnavailableError) return EXIT.unavailable;
  if (err instanceof UnauthenticatedError || err instanceof PermissionDeniedError) return EXIT.auth;
  return EXIT.error;
}

/** The error as one line (without the `metronome: ` prefix). */
export function describeError(err: unknown): string {
  if (err instanceof InvalidArgumentError || err instanceof ResourceExhaustedError) {
    const field = err.field;
    return field !== "" && !err.message.includes(field) ? `${field}: ${err.message}` : err.message;
  }
  if (err instanceof MetronomeError) return err.message;
  if (err instanceof Error) return err.message;
  return String(err);
}
