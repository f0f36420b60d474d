/**
 * `@metronome/sdk/testing`: unit tests of handlers without a server or a worker.
 *
 * `createRunContext()` gives a `RunContext` whose abort signal the test fires (as a
 * cancellation, a timeout, a lost lease or a stopping worker would), and which records the
 * handler's heartbeats and log lines. `runHandler()` calls a handler as the worker does and
 * answers what the run would record: its JSON result, the error the server would store (type,
 * message, retryability), or that the worker would drop the outcome because the run was
 * aborted.
 *
 * ```ts
 * import { runHandler } from "@metronome/sdk/testing";
 *
 * const outcome = await runHandler(processUser, { args: ["user123"], kwargs: { action: "sync" } });
 * expect(outcome).toMatchObject({ status: "succeeded", result: { userId: "user123" } });
 * ```
 */
import type { JsonValue } from "@bufbuild/protobuf";
import { RunAbortedError, type AbortKind } from "../errors.js";
import type {
  Args,
  ArgsInput,
  HandlerDef,
  HandlerFn,
  Kwargs,
  KwargsInput,
  RunContext,
} from "../handlers.js";
import type { LogFn, WorkerLogger } from "../logger.js";
import {
  MAX_STORED_RESULT_BYTES,
  returnedOutcome,
  thrownOutcome,
  type ErrorReport,
} from "../outcome.js";

export type { ErrorReport } from "../outcome.js";

/** What the run is, as the assignment would say; every field has a default. */
export interface RunContextOptions {
  /** Default "test-run". */
  readonly runId?: string | undefined;
  /** Default 1. */
  readonly attempt?: number | undefined;
  /** Default 1 (no retry policy). */
  readonly maxAttempts?: number | undefined;
  /** Default "default". */
  readonly scheduler?: string | undefined;
  /** Default "test-job". */
  readonly jobId?: string | undefined;
  /** Default: the job id. */
  readonly jobName?: string | undefined;
  /** Default: the handler's name with `runHandler`, else "test.handler". */
  readonly handler?: string | undefined;
  /** Default: when the context is created. */
  readonly scheduledTime?: Date | undefined;
  /** Default: the scheduled time. */
  readonly fireTime?: Date | undefined;
  /** Default false. */
  readonly manual?: boolean | undefined;
  /** Default null (no timeout). Nothing fires by itself: call `abort("timed_out")`. */
  readonly timeoutMs?: number | null | undefined;
}

/** A line the handler logged through `ctx.log`. */
export interface LogRecord {
  readonly level: "debug" | "info" | "warn" | "error";
  /** The message, if the call gave one. */
  readonly msg: string | undefined;
  /** The fields, with the run's bindings (`runId`, `attempt`, `handler`, `jobId`). */
  readonly fields: Readonly<Record<string, unknown>>;
}

/** A `RunContext` for tests: fire its signal, read what the handler did with it. */
export interface TestRunContext extends RunContext {
  /**
   * Fires the signal with a `RunAbortedError` of that kind, as the worker does (default
   * "cancelled"; the message defaults to the worker's: "run cancelled", "run timed out",
   * "lease lost", "worker stopping"). Later calls do nothing.
   */
  abort(kind?: AbortKind, message?: string): void;
  /** How many times the handler called `heartbeat()`. */
  readonly heartbeats: number;
  /** The lines the handler logged, in order. */
  readonly logs: readonly LogRecord[];
}

const ABORT_MESSAGES: Readonly<Record<AbortKind, string>> = {
  cancelled: "run cancelled",
  timed_out: "run timed out",
  lease_lost: "lease lost",
  stopping: "worker stopping",
};

/** A run context for a handler's unit test. */
export function createRunContext(options: RunContextOptions = {}): TestRunContext {
  const controller = new AbortController();
  const logs: LogRecord[] = [];
  let heartbeats = 0;
  const runId = options.runId ?? "test-run";
  const attempt = options.attempt ?? 1;
  const handler = options.handler ?? "test.handler";
  const jobId = options.jobId ?? "test-job";
  const scheduledTime = options.scheduledTime ?? new Date();
  return {
    signal: controller.signal,
    runId,
    attempt,
    maxAttempts: options.maxAttempts ?? 1,
    scheduler: options.scheduler ?? "default",
    jobId,
    jobName: options.jobName ?? jobId,
    handler,
    scheduledTime,
    fireTime: options.fireTime ?? scheduledTime,
    manual: options.manual ?? false,
    timeoutMs: options.timeoutMs ?? null,
    log: recordingLogger(logs, { runId, attempt, handler, jobId }),
    heartbeat: () => {
      heartbeats++;
      return Promise.resolve();
    },
    abort: (kind: AbortKind = "cancelled", message: string = ABORT_MESSAGES[kind]) => {
      if (!controller.signal.aborted) controller.abort(new RunAbortedError(kind, message));
    },
    get heartbeats() {
      return heartbeats;
    },
    logs,
  };
}

function recordingLogger(
  logs: LogRecord[],
  bindings: Readonly<Record<string, unknown>>,
): WorkerLogger {
  const at =
    (level: LogRecord["level"]): LogFn =>
    (first: Record<string, unknown> | string, msg?: string): void => {
      if (typeof first === "string") logs.push({ level, msg: first, fields: { ...bindings } });
      else logs.push({ level, msg, fields: { ...bindings, ...first } });
    };
  return {
    debug: at("debug"),
    info: at("info"),
    warn: at("warn"),
    error: at("error"),
    child: (more) => recordingLogger(logs, { ...bindings, ...more }),
  };
}

/** What a run of the handler would record. */
export type HandlerOutcome =
  /** It returned: `result` is what the server stores (undefined for undefined or null). */
  | { readonly status: "succeeded"; readonly result: JsonValue | undefined }
  /**
   * It threw, or returned what cannot be stored (`ResultNotSerializable`, `ResultTooLarge`):
   * `error` is what the server stores; `error.nonRetryable` ends the run despite a retry policy.
   */
  | { readonly status: "failed"; readonly error: ErrorReport }
  /**
   * Its signal fired as cancelled, timed out or lease lost: the worker does not report what it
   * returned or threw (the run is no longer its own). `reason` is the signal's.
   */
  | { readonly status: "dropped"; readonly reason: RunAbortedError };

/** The arguments of a run and, optionally, its context (or the options of a new one). */
export type RunInput<A extends Args, K extends Kwargs> = ArgsInput<A> &
  KwargsInput<K> & { readonly context?: TestRunContext | RunContextOptions | undefined };

/** The input after the handler: required when the handler has required arguments. */
export type RunInputArg<A extends Args, K extends Kwargs> =
  Partial<RunInput<A, K>> extends RunInput<A, K>
    ? [input?: RunInput<A, K>]
    : [input: RunInput<A, K>];

/**
 * Calls a handler (a `defineHandler` definition, or a function) with the run's args and kwargs
 * and a context, as the worker does, and answers what the run would record, with the context
 * (its heartbeats and log lines). Resolves once the handler has settled; never rejects with
 * what the handler threw.
 */
export async function runHandler<A extends Args, K extends Kwargs>(
  handler: HandlerDef<A, K> | HandlerFn<A, K>,
  ...[input]: RunInputArg<A, K>
): Promise<HandlerOutcome & { readonly context: TestRunContext }> {
  const fn = typeof handler === "function" ? handler : handler.fn;
  const given = input?.context;
  const context: TestRunContext =
    given !== undefined && "abort" in given
      ? given
      : createRunContext({
          ...(typeof handler === "function" ? {} : { handler: handler.name }),
          ...given,
        });
  // Copies, as the worker's arguments are decoded from the assignment.
  const args = structuredClone(input?.args ?? []) as A;
  const kwargs = structuredClone(input?.kwargs ?? {}) as K;
  let outcome;
  try {
    outcome = returnedOutcome(await fn(args, kwargs, context), MAX_STORED_RESULT_BYTES);
  } catch (err) {
    outcome = thrownOutcome(err);
  }
  const reason: unknown = context.signal.aborted ? context.signal.reason : undefined;
  if (reason instanceof RunAbortedError && reason.kind !== "stopping")
    return { status: "dropped", reason, context };
  return outcome.ok
    ? { status: "succeeded", result: outcome.value, context }
    : { status: "failed", error: outcome.error, context };
}
