/**
 * The hand-written encoding of a batch of assignments (api/convert/session-responses.ts) is
 * byte for byte what protobuf-es's reflective `toBinary` writes for the same SessionResponse
 * (built by `assignmentOf`), on generated runs: any JSON in args and kwargs (nested lists and
 * objects, null, numbers of every kind, non-ASCII and empty strings and keys), manual runs,
 * timeouts and retries or none, trace contexts or none. The same for a batch of result answers
 * (built by `answerOf`): accepted and rejected ones, for every status and reason.
 */
import { create, toBinary } from "@bufbuild/protobuf";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  encodedAnswers,
  encodedAssignments,
} from "../../server/src/api/convert/session-responses.js";
import {
  answerOf,
  assignmentOf,
  type TraceContextOf,
} from "../../server/src/api/convert/worker-messages.js";
import { TRANSITIONS } from "../../server/src/domain/run-transitions.js";
import type { Lease, Run, RunStatus } from "../../server/src/domain/runs.js";
import {
  RunResultAnswersSchema,
  SessionResponseSchema,
} from "../../server/src/gen/metronome/v1/worker_service_pb.js";
import type { Verdict } from "../../server/src/store/port.js";
import { ENCODING_PARAMS as PARAMS, json, key, ms, text } from "../support/json-arbitraries.js";

/** Every run status (the transition table has one entry per status). */
const STATUSES = Object.keys(TRANSITIONS) as RunStatus[];

const run: fc.Arbitrary<Run> = fc.record({
  id: fc.stringMatching(/^[0-9a-f]{32}$/),
  scheduler: fc.oneof(fc.constant("default"), text),
  jobId: text,
  jobName: text,
  handler: text,
  scheduledTime: ms,
  fireTime: ms,
  manual: fc.boolean(),
  args: fc.array(json, { maxLength: 5 }),
  kwargs: fc.dictionary(key, json, { maxKeys: 5 }),
  timeoutMs: fc.option(fc.integer({ min: 0, max: 86_400_000 }), { nil: null }),
  retry: fc.option(
    fc.record({
      maxAttempts: fc.integer({ min: 1, max: 100 }),
      initialBackoffMs: fc.constant(1000),
      maxBackoffMs: fc.constant(60_000),
      multiplier: fc.constant(2),
    }),
    { nil: null },
  ),
  maxInstances: fc.constant(1),
  attempt: fc.integer({ min: 1, max: 100 }),
  status: fc.constant("running" as const),
  statusReason: fc.constant(""),
  dueAt: fc.constant(null),
  expiresAt: fc.constant(null),
  workerId: fc.constant("w-1"),
  leaseToken: fc.option(fc.base64String({ minLength: 16, maxLength: 16 }), { nil: null }),
  leaseExpiresAt: fc.constant(null),
  deadlineAt: fc.constant(null),
  startedAt: fc.constant(null),
  finishedAt: fc.constant(null),
  result: fc.constant(undefined),
  error: fc.constant(null),
  createdAt: ms,
  updatedAt: ms,
});

const traces: TraceContextOf = (runId, attempt) => ({
  traceparent: `00-${runId}-${attempt.toString(16).padStart(16, "0")}-01`,
  tracestate: attempt % 2 === 0 ? "" : "vendor=é",
});

/** What the reflective encoder writes for the same batch. */
function reflective(runs: readonly Run[], traceContext: TraceContextOf | undefined): Uint8Array {
  return toBinary(
    SessionResponseSchema,
    create(SessionResponseSchema, {
      payload: {
        case: "assignments",
        value: { assignments: runs.map((r) => assignmentOf(r, traceContext)) },
      },
    }),
  );
}

describe("assignments encoded by hand", () => {
  it("are the bytes toBinary writes for the same message", () => {
    fc.assert(
      fc.property(fc.array(run, { maxLength: 6 }), fc.boolean(), (runs, traced) => {
        const traceContext = traced ? traces : undefined;
        expect(
          Buffer.from(toBinary(SessionResponseSchema, encodedAssignments(runs, traceContext))),
        ).toEqual(Buffer.from(reflective(runs, traceContext)));
      }),
      PARAMS,
    );
  });

  it("of an empty batch are an empty assignments message", () => {
    expect(Buffer.from(toBinary(SessionResponseSchema, encodedAssignments([], undefined)))).toEqual(
      Buffer.from([0x32, 0x00]),
    );
    expect(Buffer.from(reflective([], undefined))).toEqual(Buffer.from([0x32, 0x00]));
  });

  const verdict: fc.Arbitrary<{ lease: Lease; v: Verdict }> = fc.record({
    lease: fc.record({
      runId: fc.oneof(fc.stringMatching(/^[0-9a-f]{32}$/), text),
      attempt: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
      token: fc.oneof(fc.base64String({ maxLength: 16 }), text),
    }),
    v: fc.oneof(
      fc.record({
        accepted: fc.constant(true as const),
        recorded: fc.boolean(),
        run: run.chain((r) =>
          fc.constantFrom(...STATUSES).map((status): Run => ({ ...r, status })),
        ),
      }),
      fc.record({
        accepted: fc.constant(false as const),
        reason: fc.constantFrom(
          "lease_expired" as const,
          "cancelled" as const,
          "timed_out" as const,
          "unknown_lease" as const,
        ),
        run: fc.option(
          run.chain((r) => fc.constantFrom(...STATUSES).map((status): Run => ({ ...r, status }))),
          { nil: null },
        ),
      }),
    ),
  });

  it("of result answers are the bytes toBinary writes for the same message", () => {
    fc.assert(
      fc.property(fc.array(verdict, { maxLength: 8 }), (verdicts) => {
        const answers = create(RunResultAnswersSchema);
        for (const { lease, v } of verdicts) {
          const a = answerOf(lease, v);
          if (a.case === "resultAccepted") answers.accepted.push(a.value);
          else answers.rejected.push(a.value);
        }
        const expected = toBinary(
          SessionResponseSchema,
          create(SessionResponseSchema, { payload: { case: "resultAnswers", value: answers } }),
        );
        expect(Buffer.from(toBinary(SessionResponseSchema, encodedAnswers(answers)))).toEqual(
          Buffer.from(expected),
        );
      }),
      PARAMS,
    );
  });
});
