/**
 * WorkerService.Session: the server side of the worker protocol described in
 * proto/metronome/v1/worker_service.proto and docs/protocol.md. The protocol only: it checks
 * messages and turns them into calls on the session (dispatch/session.ts), and the session's
 * output into messages. What a session holds and how it ends is dispatch's.
 */
import { create } from "@bufbuild/protobuf";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import { InvalidArgumentError, PermissionDeniedError } from "../../domain/errors.js";
import { principalOf } from "../access.js";
import type { SessionOutput } from "../../dispatch/session.js";
import type { Engine } from "../../engine/engine.js";
import { AsyncQueue } from "../../lib/async-queue.js";
import type { Logger } from "../../logger.js";
import {
  RunResultAnswersSchema,
  SessionResponseSchema,
  type RunResultAnswers,
  type SessionRequest,
  type SessionResponse,
  type WorkerService,
} from "../../gen/metronome/v1/worker_service_pb.js";
import { toConnectError } from "../errors.js";
import { encodedAnswers, encodedAssignments } from "../convert/session-responses.js";
import { speaksJson } from "./codec.js";

import {
  LIMITS,
  ASSIGNMENTS_PER_MESSAGE,
  ASSIGNMENT_BYTES_PER_MESSAGE,
  checkHello,
  checkLease,
  leaseToProto,
  REVOKE_REASONS,
  type TraceContextOf,
  assignment,
  assignmentOf,
  outcomeOf,
  answerOf,
  encodedWithin,
  endError,
} from "../convert/worker-messages.js";

/** The size of a pre-encoded response: its fields ride as unknown fields (session-responses.ts). */
function preEncodedBytes(message: SessionResponse): number {
  let bytes = 0;
  for (const field of message.$unknown ?? []) bytes += field.data.length + 6; // tag and length
  return bytes;
}

/**
 * An upper bound of a batch's size in JSON: each assignment's args and kwargs appear as JSON
 * values and again as JSON text, escaped in a JSON string (at most twice as long), beside fields
 * of a few hundred bytes.
 */
function jsonBytes(message: SessionResponse): number {
  if (message.payload.case !== "assignments") return 0;
  let bytes = 0;
  for (const a of message.payload.value.assignments)
    bytes += 3 * (Buffer.byteLength(a.argsJson) + Buffer.byteLength(a.kwargsJson)) + 1024;
  return bytes;
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
    /** The session speaks Connect's JSON (else binary: assignments are sent pre-encoded). */
    const json = speaksJson(ctx);
    /** The run ids of the pre-encoded assignments messages queued (their fields are bytes). */
    const preEncoded = new WeakMap<SessionResponse, readonly string[]>();
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
        // At most ASSIGNMENTS_PER_MESSAGE runs and ASSIGNMENT_BYTES_PER_MESSAGE bytes each.
        if (json) {
          for (const { message } of encodedWithin(
            runs,
            ASSIGNMENTS_PER_MESSAGE,
            ASSIGNMENT_BYTES_PER_MESSAGE,
            (part) =>
              create(SessionResponseSchema, {
                payload: {
                  case: "assignments",
                  value: { assignments: part.map((r) => assignmentOf(r, traceContext)) },
                },
              }),
            jsonBytes,
          ))
            out.push(message);
          return;
        }
        // Binary: encoded here, without the reflective encoder (session-responses.ts).
        for (const { message, items } of encodedWithin(
          runs,
          ASSIGNMENTS_PER_MESSAGE,
          ASSIGNMENT_BYTES_PER_MESSAGE,
          (part) => encodedAssignments(part, traceContext),
          preEncodedBytes,
        )) {
          preEncoded.set(
            message,
            items.map((r) => r.id),
          );
          out.push(message);
        }
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
        else if (msg === answersQueued) {
          // Taken: answers from now go into a new message. Binary: encoded by hand, now that
          // no answer joins it any more.
          const taken = answers;
          answers = answersQueued = undefined;
          if (!json && taken !== undefined) {
            yield encodedAnswers(taken);
            continue;
          }
        } else for (const id of preEncoded.get(msg) ?? []) session.taken(id);
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
