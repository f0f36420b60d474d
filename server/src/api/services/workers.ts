/**
 * WorkerService.Session: the server side of the worker protocol described in
 * proto/metronome/v1/worker_service.proto and docs/protocol.md. The protocol only: it checks
 * messages and turns them into calls on the session (dispatch/session.ts), and the session's
 * output into messages. What a session holds and how it ends is dispatch's.
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
import { Code, ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import { InvalidArgumentError, PermissionDeniedError } from "../../domain/errors.js";
import { principalOf } from "../access.js";
import { checkHandler, checkId } from "../../domain/jobs.js";
import { parseExactJson } from "../../domain/json.js";
import { maxAttempts, type Lease, type Outcome, type Run } from "../../domain/runs.js";
import type { SessionEnd, SessionHello, SessionOutput } from "../../dispatch/session.js";
import type { Engine } from "../../engine/engine.js";
import { AsyncQueue } from "../../lib/async-queue.js";
import { chunks } from "../../lib/chunks.js";
import type { Verdict } from "../../store/port.js";
import type { Logger } from "../../logger.js";
import {
  CancellationReason,
  ResultRejectionReason,
  RunLeaseSchema,
  RunResultAcceptedSchema,
  RunResultAnswersSchema,
  RunResultRejectedSchema,
  SessionResponseSchema,
  type RunAssignmentSchema,
  type RunLease,
  type RunResult,
  type RunResultAccepted,
  type RunResultAnswers,
  type RunResultRejected,
  type SessionRequest,
  type SessionResponse,
  type WorkerHello,
  type WorkerService,
} from "../../gen/metronome/v1/worker_service_pb.js";
import { runStatusToProto } from "../convert/runs.js";
import { toConnectError } from "../errors.js";

const LIMITS = {
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
const ASSIGNMENTS_PER_MESSAGE = 100;

function checkHello(h: WorkerHello): SessionHello {
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

function checkLease(l: RunLease | undefined, field: string): Lease {
  if (l === undefined) throw new InvalidArgumentError(field, "is required");
  if (l.runId === "" || l.runId.length > 64)
    throw new InvalidArgumentError(`${field}.run_id`, "is not a run id");
  if (l.attempt < 1) throw new InvalidArgumentError(`${field}.attempt`, "must be at least 1");
  if (l.leaseToken === "" || l.leaseToken.length > 64)
    throw new InvalidArgumentError(`${field}.lease_token`, "is not a lease token");
  return { runId: l.runId, attempt: l.attempt, token: l.leaseToken };
}

function leaseToProto(l: Lease): RunLease {
  return create(RunLeaseSchema, { runId: l.runId, attempt: l.attempt, leaseToken: l.token });
}

const REVOKE_REASONS = {
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

function assignment(r: Run, traceContext: TraceContextOf | undefined): SessionResponse {
  return create(SessionResponseSchema, {
    payload: { case: "assignment", value: assignmentOf(r, traceContext) },
  });
}

function assignmentOf(
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

function outcomeOf(req: RunResult, field = "result"): Outcome {
  const o = req.outcome;
  if (o.case === "success") {
    let result: JsonValue;
    try {
      result =
        o.value.resultJson !== ""
          ? parseExactJson(o.value.resultJson, "result_json")
          : o.value.result === undefined
            ? null
            : toJson(ValueSchema, o.value.result);
    } catch (err) {
      // e.g. NaN or Infinity, which JSON cannot hold: the run fails, the session goes on.
      return {
        kind: "error",
        error: {
          message:
            err instanceof InvalidArgumentError
              ? `result_json ${err.reason}`
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

function answerOf(lease: Lease, v: Verdict): Answer {
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
function endError(end: SessionEnd): unknown {
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

export function workerService(
  engine: Engine,
  log: Logger,
  traceContext?: TraceContextOf,
): Partial<ServiceImpl<typeof WorkerService>> {
  const leaseMs = engine.config.leaseMs;
  const heartbeatMs = Math.max(100, Math.floor(leaseMs / 3));
  return {
    async *session(requests: AsyncIterable<SessionRequest>, ctx: HandlerContext) {
      // Errors inside a stream bypass the unary error mapping of the interceptor.
      try {
        yield* runSession(requests, ctx);
      } catch (err) {
        throw toConnectError(err, log);
      }
    },
  };

  async function* runSession(
    requests: AsyncIterable<SessionRequest>,
    ctx: HandlerContext,
  ): AsyncGenerator<SessionResponse> {
    const inbound = requests[Symbol.asyncIterator]();
    const first = await inbound.next();
    if (first.done === true) return;
    if (first.value.payload.case !== "hello")
      throw new InvalidArgumentError("payload", "the first message of a session must be hello");
    const hello = checkHello(first.value.payload.value);
    // A worker key registers only the handlers it names (their runs carry their jobs' args).
    const scopes = principalOf(ctx).scopes;
    [...hello.handlers.keys()].forEach((handler, i) => {
      if (!scopes.mayServe(handler))
        throw new PermissionDeniedError(
          `hello.handlers[${String(i)}].handler: the key may not serve ${JSON.stringify(handler)}`,
        );
    });
    const out = new AsyncQueue<SessionResponse>();
    /** The worker reads RunAssignments and RunResultAnswers. */
    const batched = first.value.payload.value.acceptsBatches;
    /**
     * The answers message queued and not yet taken by the transport: answers committed
     * meanwhile join it, so a worker whose results come faster than the stream drains gets
     * them in few messages, and a lone answer goes out at once.
     */
    let answers: RunResultAnswers | undefined;
    let answersQueued: SessionResponse | undefined;
    /** `byNode`: the node is stopping and closed the queue; the session ends with UNAVAILABLE. */
    const closed = { byNode: false };
    const output: SessionOutput = {
      assign: (runs) => {
        if (!batched) {
          for (const r of runs) out.push(assignment(r, traceContext));
          return;
        }
        for (const part of chunks(runs, ASSIGNMENTS_PER_MESSAGE))
          out.push(
            create(SessionResponseSchema, {
              payload: {
                case: "assignments",
                value: { assignments: part.map((r) => assignmentOf(r, traceContext)) },
              },
            }),
          );
      },
      revoke: (lease, reason, message) => {
        out.push(
          create(SessionResponseSchema, {
            payload: {
              case: "cancellation",
              value: { lease: leaseToProto(lease), reason: REVOKE_REASONS[reason], message },
            },
          }),
        );
      },
      verdict: (lease, v) => {
        const answer = answerOf(lease, v);
        if (!batched) {
          out.push(create(SessionResponseSchema, { payload: answer }));
          return;
        }
        if (
          answers === undefined ||
          answers.accepted.length + answers.rejected.length >= LIMITS.batch
        ) {
          answers = create(RunResultAnswersSchema);
          answersQueued = create(SessionResponseSchema, {
            payload: { case: "resultAnswers", value: answers },
          });
          out.push(answersQueued);
        }
        if (answer.case === "resultAccepted") answers.accepted.push(answer.value);
        else answers.rejected.push(answer.value);
      },
      end: (end) => {
        closed.byNode = end.kind === "node_stopping";
        const error = endError(end);
        if (error === null) out.close();
        else out.fail(error);
      },
    };
    const session = engine.dispatch.open(hello, output);
    const slog = log.child({ sessionId: session.id, workerId: session.workerId });

    const handle = (req: SessionRequest): void => {
      session.touch();
      const p = req.payload;
      switch (p.case) {
        case "hello":
          throw new InvalidArgumentError("hello", "is only allowed as the first message");
        case "heartbeat": {
          if (p.value.activeLeases.length > LIMITS.concurrency)
            throw new InvalidArgumentError(
              "heartbeat.active_leases",
              `must have at most ${String(LIMITS.concurrency)} entries`,
            );
          session.heartbeat(
            p.value.activeLeases.map((l, i) =>
              checkLease(l, `heartbeat.active_leases[${String(i)}]`),
            ),
          );
          return;
        }
        case "result":
          session.result(checkLease(p.value.lease, "result.lease"), outcomeOf(p.value));
          return;
        case "results": {
          const results = p.value.results;
          if (results.length > LIMITS.batch)
            throw new InvalidArgumentError(
              "results.results",
              `must have at most ${String(LIMITS.batch)} entries`,
            );
          // Checked whole before any is recorded: a bad batch changes nothing.
          const checked = results.map((r, i) => ({
            lease: checkLease(r.lease, `results.results[${String(i)}].lease`),
            outcome: outcomeOf(r, `results.results[${String(i)}]`),
          }));
          for (const r of checked) session.result(r.lease, r.outcome);
          return;
        }
        case "drain":
          session.drain();
          return;
        default:
          throw new InvalidArgumentError("payload", "must be set");
      }
    };

    // Resumed leases move to this session before any new assignment.
    await session.resume(hello.resumed);
    yield create(SessionResponseSchema, {
      payload: {
        case: "welcome",
        value: {
          sessionId: session.id,
          workerId: session.workerId,
          leaseDuration: durationFromMs(leaseMs),
          heartbeatInterval: durationFromMs(heartbeatMs),
          acceptsBatches: true,
        },
      },
    });
    engine.dispatch.start(session);
    slog.info({ handlers: [...hello.handlers.keys()] }, "worker connected");

    const reading = (async () => {
      for (let next = await inbound.next(); next.done !== true; next = await inbound.next())
        handle(next.value);
      // The worker closed its side: answer what is still being recorded, then end with OK.
      await session.workerClosed();
    })();
    reading.catch((err: unknown) => {
      session.fail(err);
    });
    const onAbort = (): void => {
      session.cancelled();
    };
    // The key's end also fails the stream (interceptors.ts); noted first, it is the reason.
    const key = principalOf(ctx).ended;
    const onKeyEnded = (): void => {
      session.keyEnded(key.reason instanceof Error ? key.reason.message : "the API key ended");
    };
    if (key.aborted) onKeyEnded();
    else key.addEventListener("abort", onKeyEnded, { once: true });
    ctx.signal.addEventListener("abort", onAbort);
    try {
      for await (const msg of out) {
        // Taken by the transport: the worker may get it, so its lease is no longer given back.
        if (msg.payload.case === "assignment") session.taken(msg.payload.value.lease?.runId ?? "");
        else if (msg.payload.case === "assignments")
          for (const a of msg.payload.value.assignments) session.taken(a.lease?.runId ?? "");
        else if (msg === answersQueued) answers = answersQueued = undefined;
        yield msg;
      }
      if (closed.byNode)
        throw new ConnectError(
          "the node is shutting down: reconnect to another node",
          Code.Unavailable,
        );
    } finally {
      ctx.signal.removeEventListener("abort", onAbort);
      key.removeEventListener("abort", onKeyEnded);
      session.close();
      slog.info({ running: session.active.size, reason: session.reason }, "worker disconnected");
    }
  }
}
