/**
 * A batch of runs as the binary `assignments` of a SessionResponse, and a batch of answers as its
 * `result_answers`, written field by field: the same bytes protobuf-es's `toBinary` writes for
 * the messages `assignmentOf` and `answerOf` (worker-messages.ts) describe
 * (test/unit/session-responses.test.ts compares them on generated runs and answers), without
 * the reflection. The reflective encoder builds a wrapper and a Map per message, converts the
 * kwargs object to a Struct and then encodes it: encoding assignments was ~9 % of a saturated
 * node's CPU and ~20 % of its allocations (bench throughput, docs/benchmarks.md, ninth session).
 *
 * The wire format's writers are shared with the Job's encoding (wire.ts).
 *
 * The bytes ride as the response's unknown field 6 (`assignments`) or 7 (`result_answers`), which
 * the binary serializer writes as they are (the event stream does the same, event-responses.ts).
 * The JSON codec drops unknown fields: a session in JSON gets converted messages.
 */
import { create } from "@bufbuild/protobuf";
import { durationFromMs, timestampFromMs } from "@bufbuild/protobuf/wkt";
import { maxAttempts, type Run } from "../../domain/runs.js";
import { RunStatus } from "../../gen/metronome/v1/run_pb.js";
import {
  ResultRejectionReason,
  SessionResponseSchema,
  type RunLease,
  type RunResultAnswers,
  type SessionResponse,
} from "../../gen/metronome/v1/worker_service_pb.js";
import type { TraceContextOf } from "./worker-messages.js";
import {
  LD,
  VARINT,
  writeListField,
  writeString,
  writeStructField,
  writeTimeField,
} from "./wire.js";
import { WireWriter } from "./wire-writer.js";

/** SessionResponse's fields `assignments` (RunAssignments) and `result_answers`. */
const ASSIGNMENTS = 6;
const RESULT_ANSWERS = 7;

/** A RunAssignment's fields, in field-number order (as the reflective encoder writes them). */
function writeAssignment(w: WireWriter, r: Run, traceContext: TraceContextOf | undefined): void {
  // 1: lease (RunLease: run_id, attempt, lease_token)
  w.tag(1, LD).fork();
  writeLease(w, r.id, r.attempt, r.leaseToken ?? "");
  w.join();
  writeString(w, 2, r.scheduler);
  writeString(w, 3, r.jobId);
  writeString(w, 4, r.jobName);
  writeString(w, 5, r.handler);
  // 6: args (ListValue), 7: kwargs (Struct): always present, empty or not.
  writeListField(w, 6, r.args);
  writeStructField(w, 7, r.kwargs);
  // 8, 9: scheduled_time, fire_time (Timestamp)
  writeTimeField(w, 8, timestampFromMs(r.scheduledTime));
  writeTimeField(w, 9, timestampFromMs(r.fireTime));
  if (r.manual) w.tag(10, VARINT).bool(true);
  if (r.timeoutMs !== null) writeTimeField(w, 11, durationFromMs(r.timeoutMs));
  const attempts = maxAttempts(r);
  if (attempts !== 0) w.tag(12, VARINT).int32(attempts);
  writeString(w, 13, JSON.stringify(r.args));
  writeString(w, 14, JSON.stringify(r.kwargs));
  // 15: trace_context (map<string, string>): an entry per key, key (1) and value (2).
  if (traceContext !== undefined)
    for (const [key, value] of Object.entries(traceContext(r.id, r.attempt)))
      w.tag(15, LD).fork().tag(1, LD).string(key).tag(2, LD).string(value).join();
}

/**
 * A SessionResponse whose `assignments` are these runs, pre-encoded (for binary sessions only:
 * see above).
 */
export function encodedAssignments(
  runs: readonly Run[],
  traceContext: TraceContextOf | undefined,
): SessionResponse {
  // RunAssignments: an `assignments` (1) entry per run.
  return withField(ASSIGNMENTS, (w) => {
    for (const r of runs) {
      w.tag(1, LD).fork();
      writeAssignment(w, r, traceContext);
      w.join();
    }
  });
}

/** A SessionResponse whose field `no` holds the message `write` writes, as its unknown field. */
function withField(no: number, write: (w: WireWriter) => void): SessionResponse {
  const w = new WireWriter();
  // The field's length, then the message.
  w.fork();
  write(w);
  w.join();
  const res = create(SessionResponseSchema);
  res.$unknown = [{ no, wireType: LD, data: w.finish() }];
  return res;
}

/** A RunLease's fields: run_id (1), attempt (2), lease_token (3), each when not empty. */
function writeLease(w: WireWriter, runId: string, attempt: number, token: string): void {
  writeString(w, 1, runId);
  if (attempt !== 0) w.tag(2, VARINT).int32(attempt);
  writeString(w, 3, token);
}

/** A message field holding a RunLease, when set. */
function writeLeaseField(w: WireWriter, no: number, l: RunLease | undefined): void {
  if (l === undefined) return;
  w.tag(no, LD).fork();
  writeLease(w, l.runId, l.attempt, l.leaseToken);
  w.join();
}

/**
 * A SessionResponse whose `result_answers` are `answers`, pre-encoded (binary sessions only): the
 * bytes toBinary writes for `{ resultAnswers: answers }`.
 */
export function encodedAnswers(answers: RunResultAnswers): SessionResponse {
  return withField(RESULT_ANSWERS, (w) => {
    for (const a of answers.accepted) {
      w.tag(1, LD).fork();
      writeLeaseField(w, 1, a.lease);
      if (a.runStatus !== RunStatus.UNSPECIFIED) w.tag(2, VARINT).int32(a.runStatus);
      w.join();
    }
    for (const r of answers.rejected) {
      w.tag(2, LD).fork();
      writeLeaseField(w, 1, r.lease);
      if (r.reason !== ResultRejectionReason.UNSPECIFIED) w.tag(2, VARINT).int32(r.reason);
      writeString(w, 3, r.message);
      w.join();
    }
  });
}
