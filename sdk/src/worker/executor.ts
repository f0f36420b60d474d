/**
 * The run executor: calls a run's handler with the assignment's arguments and a `RunContext`,
 * turns what it returns or throws into the run's result, and logs one line when the run starts
 * and one with its outcome. Aborting the handler is the run table's (its signal is the record's
 * controller); whether the result is reported is decided there too.
 *
 * What the call needs (the args as JSON, the context, the log fields, the trace parent) is made
 * when the assignment is admitted (`prepareRun`), ahead of its fire time when the server sent it
 * early: at the fire instant, when thousands of runs may start together, only the call is left.
 * A handler that returns at once has its result recorded after every handler of that instant
 * started (a microtask later), so one run's bookkeeping never delays another's start.
 */
import type { JsonObject, JsonValue } from "@bufbuild/protobuf";
import { toJson } from "@bufbuild/protobuf";
import { ListValueSchema, durationMs, timestampDate } from "@bufbuild/protobuf/wkt";
import type { Context } from "@opentelemetry/api";
import type { RunAssignment, RunLease, RunResult } from "../gen/metronome/v1/worker_service_pb.js";
import type { RunAbortedError } from "../errors.js";
import type { RunContext } from "../handlers.js";
import { childLogger, type WorkerLogger } from "../logger.js";
import { returnedOutcome, thrownOutcome } from "../outcome.js";
import type { LazyAbort } from "./abort.js";
import type { HandlerEntry } from "./options.js";
import { resultOf } from "./results.js";
import { handlerSpan, parentContext, type HandlerSpan } from "./tracing.js";

/** A run to execute, as the run table holds it. */
export interface ExecutableRun {
  readonly assignment: RunAssignment;
  readonly lease: RunLease;
  readonly entry: HandlerEntry;
  /** Its signal is the handler's. */
  readonly controller: LazyAbort;
  /** When the assignment arrived (until a heartbeat extends the lease). */
  readonly extendedAt: number;
  /** Set when the lease stopped being ours. */
  readonly released: RunAbortedError | undefined;
  /** Made on admission (prepareRun). */
  readonly call: PreparedCall;
}

/** The fields every log line of a run carries. */
type RunFields = Readonly<{ runId: string; attempt: number; handler: string; jobId: string }>;

/** A handler call, ready to be made. */
export interface PreparedCall {
  readonly fields: RunFields;
  /** The handler's args; or what converting them threw, reported as the run's error. */
  readonly args:
    | { readonly ok: true; readonly value: JsonValue[] }
    | { readonly ok: false; readonly error: unknown };
  readonly kwargs: JsonObject;
  readonly ctx: RunContext;
  /** The server's run span, as the parent of the handler's span. */
  readonly traceParent: Context;
}

/** What the executor needs besides the run: one object for all runs. */
export interface ExecutorDeps<R extends ExecutableRun> {
  readonly log: WorkerLogger;
  /** ctx.heartbeat() of `rec`: queue a heartbeat now, if connected. */
  heartbeat(rec: Pick<ExecutableRun, "released">): void;
  /** Records the outcome (the run table decides whether it is reported). */
  finish(rec: R, result: RunResult): void;
}

/** The handler call of an assignment, made when it is admitted. */
export function prepareRun<R extends ExecutableRun>(
  rec: Omit<R, "call">,
  deps: ExecutorDeps<R>,
): PreparedCall {
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
  const log = (): WorkerLogger => (runLog ??= childLogger(deps.log, fields));
  let args: PreparedCall["args"];
  try {
    const value = a.args === undefined ? [] : toJson(ListValueSchema, a.args);
    args = { ok: true, value: Array.isArray(value) ? value : [] };
  } catch (error) {
    args = { ok: false, error };
  }
  return {
    fields,
    args,
    kwargs: a.kwargs ?? {},
    ctx: runContext(rec, log, () => {
      deps.heartbeat(rec);
    }),
    traceParent: parentContext(a.traceContext),
  };
}

/** Calls the handler of `rec` and hands its result to `deps.finish`. Never throws. */
export function execute<R extends ExecutableRun>(rec: R, deps: ExecutorDeps<R>): void {
  const call = rec.call;
  // One line when the handler starts and one with its outcome (at info when it succeeded).
  deps.log.info(call.fields, "run started");
  const started = Date.now();
  // The handler's span, a child of the server's run span (a no-op without an OpenTelemetry SDK).
  const span = handlerSpan(rec.assignment, rec.lease, call.traceParent);
  const settle = (outcome: () => RunResult): void => {
    let result: RunResult;
    try {
      result = outcome();
    } catch (err) {
      result = resultOf(rec.lease, thrownOutcome(err));
    }
    recordOutcome(rec, deps, span, started, result);
  };
  let returned: unknown;
  try {
    if (!call.args.ok) throw call.args.error;
    const args = call.args.value;
    returned = span.run(() => rec.entry.fn(args, call.kwargs, call.ctx));
  } catch (err) {
    // A handler may throw any value; it is reported as thrown.
    // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
    returned = Promise.reject(err);
  }
  // As `await returned` would: a value or a throw is settled a microtask later, a promise when
  // it settles.
  Promise.resolve(returned).then(
    (value: unknown) => {
      settle(() => resultOf(rec.lease, returnedOutcome(value)));
    },
    (err: unknown) => {
      settle(() => resultOf(rec.lease, thrownOutcome(err)));
    },
  );
}

/** Ends the span, logs the outcome and hands it to the run table. */
function recordOutcome<R extends ExecutableRun>(
  rec: R,
  deps: ExecutorDeps<R>,
  span: HandlerSpan,
  started: number,
  result: RunResult,
): void {
  const fields = rec.call.fields;
  try {
    span.end(result);
    const ms = Date.now() - started;
    if (rec.released !== undefined) {
      // The lease ended while the handler ran; "run stopped" said why.
      deps.log.info({ ...fields, ms }, "run ended after its lease was revoked");
    } else if (result.outcome.case === "error") {
      const { type, message } = result.outcome.value;
      deps.log.warn({ ...fields, ms, type, error: firstLine(message) }, "run failed");
    } else {
      deps.log.info({ ...fields, ms }, "run succeeded");
    }
    deps.finish(rec, result);
  } catch (err) {
    deps.log.error({ err }, "error while recording a run's outcome");
  }
}

/** What the handler of an assignment is told about its run. */
function runContext(
  rec: Omit<ExecutableRun, "call">,
  log: () => WorkerLogger,
  heartbeat: () => void,
): RunContext {
  const a = rec.assignment;
  const received = new Date(rec.extendedAt);
  return {
    get signal() {
      return rec.controller.signal;
    },
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
      heartbeat();
      return Promise.resolve();
    },
  };
}

/** A log line stays one line: the first line of an error message, at most 200 characters. */
function firstLine(text: string): string {
  const line = text.split("\n", 1)[0] ?? "";
  return line.length > 200 ? `${line.slice(0, 199)}…` : line;
}
