/**
 * The hand-written encoding of events (api/convert/event-bytes.ts) is byte for byte what
 * protobuf-es's reflective `toBinary` writes for `eventToProto` (convert/events.ts), on generated
 * events: every type, cursors up to 2^53, instants of year 1 to 9999, every optional datum present
 * or absent (results of any JSON, errors, a worker's handlers and labels). A Subscribe response
 * built from hand-encoded parts decodes to the converted events.
 */
import { create, equals, fromBinary, toBinary } from "@bufbuild/protobuf";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { writeEvent } from "../../server/src/api/convert/event-bytes.js";
import { binaryResponse } from "../../server/src/api/convert/event-responses.js";
import { eventToProto } from "../../server/src/api/convert/events.js";
import { runStatusFromProto } from "../../server/src/api/convert/runs.js";
import { WireWriter } from "../../server/src/api/convert/wire-writer.js";
import { EVENT_TYPES, type EventData, type LoggedEvent } from "../../server/src/domain/events.js";
import type { RunStatus } from "../../server/src/domain/runs.js";
import { MAX_INSTANT, MIN_INSTANT } from "../../server/src/domain/triggers/index.js";
import { EventSchema } from "../../server/src/gen/metronome/v1/event_pb.js";
import { RunStatus as PbRunStatus } from "../../server/src/gen/metronome/v1/run_pb.js";
import { SubscribeResponseSchema } from "../../server/src/gen/metronome/v1/event_service_pb.js";
import { ENCODING_PARAMS as PARAMS, json, key, text } from "../support/json-arbitraries.js";

const instant = fc.integer({ min: MIN_INSTANT, max: MAX_INSTANT });
/** Every run status, as the API's enum lists them. */
const STATUSES: readonly RunStatus[] = Object.values(PbRunStatus)
  .filter((v): v is PbRunStatus => typeof v === "number" && v !== PbRunStatus.UNSPECIFIED)
  .map((v) => runStatusFromProto(v, "status"));
const opt = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });

const data: fc.Arbitrary<EventData> = fc.record(
  {
    nodeId: text,
    workerId: opt(text),
    scheduledTime: opt(instant),
    attempt: opt(fc.integer({ min: 0, max: 2 ** 31 - 1 })),
    manual: opt(fc.boolean()),
    runStatus: opt(fc.constantFrom(...STATUSES)),
    result: opt(json),
    error: opt(fc.record({ message: text, type: text, stack: text, nonRetryable: fc.boolean() })),
    reason: opt(text),
    worker: opt(
      fc.record({
        workerId: text,
        sessionId: text,
        handlers: fc.array(fc.tuple(text, fc.integer({ min: 0, max: 10_000 })), {
          maxLength: 4,
        }),
        maxConcurrency: fc.integer({ min: 0, max: 10_000 }),
        labels: fc.dictionary(key, text, { maxKeys: 4 }),
      }),
    ),
    actor: opt(text),
    keyId: opt(text),
  },
  { requiredKeys: ["nodeId"] },
);

const event: fc.Arbitrary<LoggedEvent> = fc.record({
  cursor: fc.oneof(fc.nat(), fc.constantFrom(0, 2 ** 53 - 1), fc.maxSafeNat()),
  type: fc.constantFrom(...EVENT_TYPES),
  time: instant,
  scheduler: fc.option(text, { nil: null }),
  jobId: fc.option(text, { nil: null }),
  runId: fc.option(text, { nil: null }),
  handler: fc.option(text, { nil: null }),
  data,
});

function handBytes(e: LoggedEvent): Buffer {
  const w = new WireWriter();
  writeEvent(w, e);
  return Buffer.from(w.finish());
}

describe("events encoded by hand", () => {
  it("are the bytes toBinary writes for the converted event", () => {
    fc.assert(
      fc.property(event, (e) => {
        expect(handBytes(e)).toEqual(Buffer.from(toBinary(EventSchema, eventToProto(e))));
      }),
      PARAMS,
    );
  });

  it("in a response of several parts decode to the converted events, in order", () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(event, { maxLength: 4 }), { maxLength: 3 }),
        fc.maxSafeNat(),
        fc.boolean(),
        (parts, cursor, live) => {
          const all = parts.flat();
          const m = { events: all, parts, cursor, live };
          const got = fromBinary(
            SubscribeResponseSchema,
            toBinary(SubscribeResponseSchema, binaryResponse(m)),
          );
          const want = create(SubscribeResponseSchema, {
            events: all.map(eventToProto),
            cursor: BigInt(cursor),
            live,
          });
          expect(equals(SubscribeResponseSchema, got, want)).toBe(true);
        },
      ),
      { ...PARAMS, numRuns: Math.ceil(PARAMS.numRuns / 5) },
    );
  });

  it("write a label __proto__ as the reflective encoder does, and a result key __proto__ too (it drops it)", () => {
    const labels = JSON.parse('{"__proto__": "x", "a": "b"}') as Record<string, string>;
    const result = JSON.parse('{"__proto__": 1, "a": 2}') as EventData["result"];
    const base = {
      cursor: 1,
      time: 0,
      scheduler: null,
      jobId: null,
      runId: null,
      handler: null,
    };
    const worker: LoggedEvent = {
      ...base,
      type: "worker_connected",
      data: {
        nodeId: "n",
        worker: { workerId: "w", sessionId: "s", handlers: [], maxConcurrency: 1, labels },
      },
    };
    expect(handBytes(worker)).toEqual(Buffer.from(toBinary(EventSchema, eventToProto(worker))));
    expect(handBytes(worker).indexOf(Buffer.from("__proto__"))).toBeGreaterThan(0);
    const executed: LoggedEvent = { ...base, type: "job_executed", data: { nodeId: "n", result } };
    const hand = handBytes(executed);
    const reflective = Buffer.from(toBinary(EventSchema, eventToProto(executed)));
    // The Struct's entry for the key, and result_json carrying it in both.
    const entry = Buffer.from("__proto__");
    expect(hand.indexOf(entry)).toBeGreaterThanOrEqual(0);
    expect(hand.indexOf(entry, hand.indexOf(entry) + 1)).toBeGreaterThan(0);
    expect(reflective.indexOf(entry)).toBe(reflective.lastIndexOf(entry));
    expect(reflective.toString("latin1")).toContain('{"__proto__":1,"a":2}');
  });
});
