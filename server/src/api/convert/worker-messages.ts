/**
 * The worker protocol's messages (proto/metronome/v1/worker_service.proto, docs/protocol.md)
 * checked and converted: a hello into the session's terms, leases, results into outcomes, the
 * node's verdicts into answers, runs into assignments, and a session's end into the stream's
 * error. The service (services/workers.ts) drives a session with them.
 */
import { randomUUID } from "node:crypto";
import {
  create,
  fromJson,
  toJson,
  type JsonValue,
  type MessageInitShape,
} from "@bufbuild/protobuf";
import {
  durationFromMs,
  ListValueSchema,
  timestampFromMs,
  ValueSchema,
} from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { InvalidArgumentError } from "../../domain/errors.js";
import { checkHandler, checkId } from "../../domain/jobs.js";
import { checkJsonDepth, parseExactJson } from "../../domain/json.js";
import { maxAttempts, type Lease, type Outcome, type Run } from "../../domain/runs.js";
import type { SessionEnd, SessionHello } from "../../dispatch/session.js";
import type { Verdict } from "../../store/port.js";
import {
  CancellationReason,
  ResultRejectionReason,
  RunLeaseSchema,
  RunResultAcceptedSchema,
  RunResultRejectedSchema,
  SessionResponseSchema,
  type RunAssignmentSchema,
  type RunLease,
  type RunResult,
  type RunResultAccepted,
  type RunResultRejected,
  type SessionResponse,
  type WorkerHello,
} from "../../gen/metronome/v1/worker_service_pb.js";
import { runStatusToProto } from "./runs.js";

export const LIMITS = {
  handlers: 1000,
  concurrency: 10_000,
  labels: 32,
  labelKey: 63,
  labelValue: 255,
  resultBytes: 65_536,
  /** Results in one RunResults message; answers in one batched response. */
  batch: 1000,
};

/**
 * Assignments in one RunAssignments message. A lease of 1,000 runs goes out as ten messages, so
 * the worker decodes and takes the first ones while the node still encodes the rest (one message
 * of 1,000 was ~130 ms to encode and ~80 ms to decode on a loaded 2-core machine, in series).
 */
export const ASSIGNMENTS_PER_MESSAGE = 100;

/**
 * The largest message a worker may send on its session (encoded, decompressed), the stream's
 * own read limit (the API's other calls keep the router's, sized for a job's payload). Its
 * largest legitimate messages fit many times: a hello of 1,000 handlers and 10,000 resumed
 * leases, or a heartbeat of 10,000 leases (at most ~141 bytes each: ~1.4 MB), and a result over
 * LIMITS.resultBytes is read whole, so that its run fails as ResultTooLarge and the session goes
 * on. A RunResults message must fit too: up to LIMITS.batch results, fewer when they are large
 * (a worker cuts its batches by bytes). A larger message ends the session with
 * RESOURCE_EXHAUSTED (docs/protocol.md, Limits).
 */
export const SESSION_READ_MAX_BYTES = 16 * 1024 * 1024;

/**
 * The most bytes of encoded assignments in one RunAssignments message: the message stays under
 * 4 MiB, the receive limit of gRPC clients by default (grpc-js, grpc-go, grpc-java, Python), so a
 * worker with default settings can read every batch. One assignment alone, whose args and kwargs
 * travel twice (as values and as JSON text), stays far under it with the default payload limit
 * (METRONOME_MAX_PAYLOAD_BYTES, 64 KiB of JSON): it goes alone when it is over this budget.
 */
export const ASSIGNMENT_BYTES_PER_MESSAGE = 3 * 1024 * 1024;

/**
 * `items` cut into messages of at most `max` items each and, unless an item alone is larger, at
 * most `budget` bytes: `encode` makes the message of a part and `bytes` measures it. A message
 * within the budget, the usual case, is encoded once; a part over it is measured item by item
 * (each encoded alone: a message of several weighs no more than they do apart) and packed into
 * parts within the budget, in order, each encoded once more.
 */
export function encodedWithin<T, M>(
  items: readonly T[],
  max: number,
  budget: number,
  encode: (part: readonly T[]) => M,
  bytes: (message: M) => number,
): { readonly message: M; readonly items: readonly T[] }[] {
  const out: { message: M; items: readonly T[] }[] = [];
  const push = (part: readonly T[]): void => {
    out.push({ message: encode(part), items: part });
  };
  for (let i = 0; i < items.length; i += max) {
    const part = items.slice(i, i + max);
    const message = encode(part);
    if (part.length === 1 || bytes(message) <= budget) {
      out.push({ message, items: part });
      continue;
    }
    let start = 0;
    let load = 0;
    part.forEach((item, j) => {
      const size = bytes(encode([item]));
      if (j > start && load + size > budget) {
        push(part.slice(start, j));
        start = j;
        load = 0;
      }
      load += size;
    });
    push(part.slice(start));
  }
  return out;
}

export function checkHello(h: WorkerHello): SessionHello {
  const workerId =
    h.workerId === "" ? `worker-${randomUUID()}` : checkId(h.workerId, "hello.worker_id");
  if (h.handlers.length === 0)
    throw new InvalidArgumentError("hello.handlers", "must name at least one handler");
  if (h.handlers.length > LIMITS.handlers)
    throw new InvalidArgumentError(
      "hello.handlers",
      `must have at most ${String(LIMITS.handlers)} entries`,
    );
  const handlers = new Map<string, number>();
  h.handlers.forEach((r, i) => {
    const field = `hello.handlers[${String(i)}]`;
    const name = checkHandler(r.handler, `${field}.handler`);
    if (handlers.has(name))
      throw new InvalidArgumentError(`${field}.handler`, `${name} is registered twice`);
    if (r.maxConcurrency < 0 || r.maxConcurrency > LIMITS.concurrency)
      throw new InvalidArgumentError(
        `${field}.max_concurrency`,
        `must be from 0 to ${String(LIMITS.concurrency)}`,
      );
    if (h.maxConcurrency === 0 && r.maxConcurrency === 0)
      throw new InvalidArgumentError(
        `${field}.max_concurrency`,
        "is required when hello.max_concurrency is 0 (no total limit)",
      );
    handlers.set(name, r.maxConcurrency);
  });
  if (h.maxConcurrency < 0 || h.maxConcurrency > LIMITS.concurrency)
    throw new InvalidArgumentError(
      "hello.max_concurrency",
      `must be from 0 to ${String(LIMITS.concurrency)}`,
    );
  const labels = Object.entries(h.labels);
  if (labels.length > LIMITS.labels)
    throw new InvalidArgumentError(
      "hello.labels",
      `must have at most ${String(LIMITS.labels)} entries`,
    );
  for (const [k, v] of labels) {
    if (k.length === 0 || k.length > LIMITS.labelKey)
      throw new InvalidArgumentError(
        "hello.labels",
        `keys must be 1 to ${String(LIMITS.labelKey)} characters`,
      );
    if (v.length > LIMITS.labelValue)
      throw new InvalidArgumentError(
        `hello.labels[${k}]`,
        `must be at most ${String(LIMITS.labelValue)} characters`,
      );
  }
  const total =
    h.maxConcurrency > 0 ? h.maxConcurrency : [...handlers.values()].reduce((a, b) => a + b, 0);
  if (h.resumedLeases.length > total)
    throw new InvalidArgumentError(
      "hello.resumed_leases",
      `must have at most ${String(total)} entries`,
    );
  const resumed = h.resumedLeases.map((l, i) =>
    checkLease(l, `hello.resumed_leases[${String(i)}]`),
  );
  return {
    workerId,
    handlers,
    maxConcurrency: h.maxConcurrency,
    resumed,
    acceptsEarly: h.acceptsEarlyAssignments,
    labels: { ...h.labels },
  };
}

export function checkLease(l: RunLease | undefined, field: string): Lease {
  if (l === undefined) throw new InvalidArgumentError(field, "is required");
  if (l.runId === "" || l.runId.length > 64)
    throw new InvalidArgumentError(`${field}.run_id`, "is not a run id");
  if (l.attempt < 1) throw new InvalidArgumentError(`${field}.attempt`, "must be at least 1");
  if (l.leaseToken === "" || l.leaseToken.length > 64)
    throw new InvalidArgumentError(`${field}.lease_token`, "is not a lease token");
  return { runId: l.runId, attempt: l.attempt, token: l.leaseToken };
}

export function leaseToProto(l: Lease): RunLease {
  return create(RunLeaseSchema, { runId: l.runId, attempt: l.attempt, leaseToken: l.token });
}

export const REVOKE_REASONS = {
  cancelled: CancellationReason.CANCELLED,
  timed_out: CancellationReason.TIMED_OUT,
  lease_lost: CancellationReason.LEASE_LOST,
} as const;

const REJECT_REASONS = {
  lease_expired: ResultRejectionReason.LEASE_EXPIRED,
  cancelled: ResultRejectionReason.CANCELLED,
  timed_out: ResultRejectionReason.TIMED_OUT,
  unknown_lease: ResultRejectionReason.UNKNOWN_LEASE,
} as const;

/** The trace context of an attempt (`traceparent`), when the node exports traces. */
export type TraceContextOf = (runId: string, attempt: number) => Record<string, string>;

export function assignment(r: Run, traceContext: TraceContextOf | undefined): SessionResponse {
  return create(SessionResponseSchema, {
    payload: { case: "assignment", value: assignmentOf(r, traceContext) },
  });
}

export function assignmentOf(
  r: Run,
  traceContext: TraceContextOf | undefined,
): MessageInitShape<typeof RunAssignmentSchema> {
  return {
    lease: { runId: r.id, attempt: r.attempt, leaseToken: r.leaseToken ?? "" },
    scheduler: r.scheduler,
    jobId: r.jobId,
    jobName: r.jobName,
    handler: r.handler,
    args: fromJson(ListValueSchema, r.args),
    kwargs: r.kwargs,
    argsJson: JSON.stringify(r.args),
    kwargsJson: JSON.stringify(r.kwargs),
    scheduledTime: timestampFromMs(r.scheduledTime),
    fireTime: timestampFromMs(r.fireTime),
    manual: r.manual,
    timeout: r.timeoutMs === null ? undefined : durationFromMs(r.timeoutMs),
    maxAttempts: maxAttempts(r),
    traceContext: traceContext === undefined ? {} : traceContext(r.id, r.attempt),
  };
}

export function outcomeOf(req: RunResult, field = "result"): Outcome {
  const o = req.outcome;
  if (o.case === "success") {
    let result: JsonValue;
    try {
      if (o.value.resultJson !== "") result = parseExactJson(o.value.resultJson, "result_json");
      else if (o.value.result === undefined) result = null;
      else {
        result = toJson(ValueSchema, o.value.result);
        checkJsonDepth(result, "result");
      }
    } catch (err) {
      // e.g. NaN or Infinity, which JSON cannot hold: the run fails, the session goes on.
      return {
        kind: "error",
        error: {
          message:
            err instanceof InvalidArgumentError
              ? `${err.field} ${err.reason}`
              : `the result is not JSON: ${err instanceof Error ? err.message : String(err)}`,
          type: "ResultNotSerializable",
          stack: "",
          nonRetryable: true,
        },
      };
    }
    if (Buffer.byteLength(JSON.stringify(result)) > LIMITS.resultBytes)
      return {
        kind: "error",
        error: {
          message: `the result is larger than ${String(LIMITS.resultBytes)} bytes of JSON`,
          type: "ResultTooLarge",
          stack: "",
          nonRetryable: true,
        },
      };
    return { kind: "success", result: result };
  }
  if (o.case === "error")
    return {
      kind: "error",
      error: {
        message: o.value.message,
        type: o.value.type || "Error",
        stack: o.value.stack,
        nonRetryable: o.value.nonRetryable,
      },
    };
  throw new InvalidArgumentError(`${field}.outcome`, "must be success or error");
}

type Answer =
  | { readonly case: "resultAccepted"; readonly value: RunResultAccepted }
  | { readonly case: "resultRejected"; readonly value: RunResultRejected };

export function answerOf(lease: Lease, v: Verdict): Answer {
  return v.accepted
    ? {
        case: "resultAccepted",
        value: create(RunResultAcceptedSchema, {
          lease: leaseToProto(lease),
          runStatus: runStatusToProto(v.run.status),
        }),
      }
    : {
        case: "resultRejected",
        value: create(RunResultRejectedSchema, {
          lease: leaseToProto(lease),
          reason: REJECT_REASONS[v.reason],
          message:
            v.run === null
              ? "no such lease"
              : `the run is ${v.run.status} (attempt ${String(v.run.attempt)})`,
        }),
      };
}

/**
 * The error a stream ends with at once, for each way a session ends (null: it ends OK, or, when
 * the node stops, with UNAVAILABLE after its queued messages).
 */
export function endError(end: SessionEnd): unknown {
  switch (end.kind) {
    case "closed":
    case "node_stopping":
      return null;
    case "silent":
      return new ConnectError(
        "no message from the worker within the lease duration",
        Code.DeadlineExceeded,
      );
    case "cancelled":
      return new ConnectError("the session was cancelled", Code.Canceled);
    case "failed":
      return end.error;
  }
}
