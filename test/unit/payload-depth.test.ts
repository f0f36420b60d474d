/**
 * The nesting limit of args, kwargs and results (domain/json.ts MAX_JSON_DEPTH) against what
 * the API's messages can carry: a value at the limit, in each message that carries one — a
 * job's answer, a run, an event, a worker's assignment — is decoded by the SDK's protobuf-es
 * (recursion limit 100, its default), and refused one level deeper in either form: JSON text,
 * or a value (ListValue, Struct, Value) checked by checkJsonDepth.
 */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { writeEvent } from "../../server/src/api/convert/event-bytes.js";
import { withEncodedJobs } from "../../server/src/api/convert/job-bytes.js";
import { runToProto } from "../../server/src/api/convert/runs.js";
import { encodedAssignments } from "../../server/src/api/convert/session-responses.js";
import { WireWriter } from "../../server/src/api/convert/wire-writer.js";
import { checkPayload, type JsonValue } from "../../server/src/domain/jobs.js";
import { checkJsonDepth, MAX_JSON_DEPTH, parseExactJson } from "../../server/src/domain/json.js";
import { GetJobResponseSchema as ServerGetJobResponse } from "../../server/src/gen/metronome/v1/job_service_pb.js";
import { GetRunResponseSchema as ServerGetRunResponse } from "../../server/src/gen/metronome/v1/run_service_pb.js";
import { EventSchema } from "../../sdk/src/gen/metronome/v1/event_pb.js";
import { GetJobResponseSchema } from "../../sdk/src/gen/metronome/v1/job_service_pb.js";
import { GetRunResponseSchema } from "../../sdk/src/gen/metronome/v1/run_service_pb.js";
import { SessionResponseSchema } from "../../sdk/src/gen/metronome/v1/worker_service_pb.js";
import { job as fixtureJob, pendingRun } from "../store/contract/fixtures.js";

const T0 = Date.UTC(2026, 11, 6);
const array = (levels: number): JsonValue[] =>
  JSON.parse("[".repeat(levels) + "1" + "]".repeat(levels)) as JsonValue[];
const object = (levels: number): Record<string, JsonValue> =>
  JSON.parse('{"a":'.repeat(levels) + "1" + "}".repeat(levels)) as Record<string, JsonValue>;

const args = array(MAX_JSON_DEPTH);
const kwargs = object(MAX_JSON_DEPTH);
const job = fixtureJob("deep", { args, kwargs });
const run = pendingRun(job, T0, {
  status: "succeeded",
  workerId: "w",
  leaseToken: "t",
  startedAt: T0,
  finishedAt: T0,
  result: object(MAX_JSON_DEPTH),
});

describe(`payloads nested ${String(MAX_JSON_DEPTH)} levels deep`, () => {
  it("are decoded by the SDK in every message that carries them", () => {
    const jobAnswer = toBinary(
      ServerGetJobResponse,
      withEncodedJobs(create(ServerGetJobResponse), [{ job, workerCount: 1 }]),
    );
    expect(fromBinary(GetJobResponseSchema, jobAnswer).job?.kwargs).toEqual(kwargs);
    const runAnswer = toBinary(
      ServerGetRunResponse,
      create(ServerGetRunResponse, { run: runToProto(run) }),
    );
    expect(fromBinary(GetRunResponseSchema, runAnswer).run?.resultJson).toBe(
      JSON.stringify(run.result),
    );
    const w = new WireWriter();
    writeEvent(w, {
      cursor: 1,
      type: "job_executed",
      time: T0,
      scheduler: "default",
      jobId: "deep",
      runId: "r",
      handler: "h",
      data: { nodeId: "n", result: run.result },
    });
    expect(fromBinary(EventSchema, w.finish()).resultJson).toBe(JSON.stringify(run.result));
    const assignments = toBinary(
      SessionResponseSchema,
      encodedAssignments([{ ...run, status: "running" }], undefined),
    );
    const decoded = fromBinary(SessionResponseSchema, assignments);
    expect(decoded.payload.case).toBe("assignments");
  });

  it("one level deeper are refused, as JSON text or as a value", () => {
    const reason = `is nested more than ${String(MAX_JSON_DEPTH)} levels deep`;
    expect(() => parseExactJson(JSON.stringify(array(MAX_JSON_DEPTH + 1)), "args_json")).toThrow(
      reason,
    );
    expect(() => {
      checkJsonDepth(object(MAX_JSON_DEPTH + 1), "result");
    }).toThrow(`result: ${reason}`);
    expect(() => {
      checkPayload(array(MAX_JSON_DEPTH + 1), {});
    }).toThrow(`args: ${reason}`);
    expect(() => {
      checkPayload([], object(MAX_JSON_DEPTH + 1));
    }).toThrow(`kwargs: ${reason}`);
    // At the limit, and wide rather than deep, they pass.
    checkPayload(args, kwargs);
    checkJsonDepth(
      Array.from({ length: 500 }, () => array(3)),
      "result",
    );
  });
});
