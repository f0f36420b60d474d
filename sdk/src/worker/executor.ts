/**
 * The run executor: calls a run's handler with the assignment's arguments and a `RunContext`,
 * turns what it returns or throws into the run's result, and logs one line when the run starts
 * and one with its outcome. Aborting the handler is the run table's (its signal is the record's
 * controller); whether the result is reported is decided there too.
 */
import { toJson } from "@bufbuild/protobuf";
import { ListValueSchema, durationMs, timestampDate } from "@bufbuild/protobuf/wkt";
import type { RunAssignment, RunLease, RunResult } from "../gen/metronome/v1/worker_service_pb.js";
import type { RunAbortedError } from "../errors.js";
import type { RunContext } from "../handlers.js";
import { childLogger, type WorkerLogger } from "../logger.js";
import { returnedOutcome, thrownOutcome } from "../outcome.js";
import type { LazyAbort } from "./abort.js";
import type { HandlerEntry } from "./options.js";
import { resultOf } from "./results.js";

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
}

/** What the executor needs besides the run. */
export interface ExecutorDeps {
  readonly log: WorkerLogger;
  /** ctx.heartbeat(): queue a heartbeat now, if connected. */
  heartbeat(): void;
  /** Records the outcome (the run table decides whether it is reported). */
  finish(result: RunResult): void;
}

/** Runs the handler of `rec` and hands its result to `deps.finish`. Never rejects. */
export async function execute(rec: ExecutableRun, deps: ExecutorDeps): Promise<void> {
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
  // One line when the handler starts and one with its outcome (at info when it succeeded).
  deps.log.info(fields, "run started");
  const started = Date.now();
  let result: RunResult;
  try {
    // Let the message handler finish its bookkeeping before user code runs.
    await Promise.resolve();
    const args = a.args === undefined ? [] : toJson(ListValueSchema, a.args);
    const value: unknown = await rec.entry.fn(
      Array.isArray(args) ? args : [],
      a.kwargs ?? {},
      runContext(rec, log, () => {
        deps.heartbeat();
      }),
    );
    result = resultOf(rec.lease, returnedOutcome(value));
  } catch (err) {
    result = resultOf(rec.lease, thrownOutcome(err));
  }
  try {
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
    deps.finish(result);
  } catch (err) {
    deps.log.error({ err }, "error while recording a run's outcome");
  }
}

/** What the handler of an assignment is told about its run. */
function runContext(
  rec: ExecutableRun,
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
