/**
 * The events benchmark's subscriber side (bench/event-wire.ts): its lean read of a
 * SubscribeResponse gives each event's cursor, type and time as protobuf-es encodes them, past
 * every other field (strings, a nested Value, a RunError, fixed-width numbers in a Value), and
 * latencies counted by value give the percentiles engine-support's `percentiles` gives by
 * sorting, negative and out-of-range values included.
 */
import { create, toBinary } from "@bufbuild/protobuf";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { percentiles } from "../../bench/engine-support.js";
import { Latencies, readLean } from "../../bench/event-wire.js";
import { EventSchema, EventType } from "../../server/src/gen/metronome/v1/event_pb.js";
import { SubscribeResponseSchema } from "../../server/src/gen/metronome/v1/event_service_pb.js";

const PARAMS = { numRuns: 200, seed: 20_261_206 };

const event = fc.record({
  cursor: fc.bigInt({ min: 1n, max: 2n ** 52n }),
  type: fc.constantFrom(EventType.JOB_SUBMITTED, EventType.JOB_EXECUTED, EventType.JOB_ADDED),
  ms: fc.integer({ min: 0, max: 4_102_444_800_000 }),
  scheduler: fc.string({ maxLength: 20 }),
  attempt: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
  result: fc.option(fc.double({ noNaN: true, noDefaultInfinity: true }), { nil: undefined }),
  error: fc.option(fc.string({ maxLength: 30 }), { nil: undefined }),
});

describe("the events benchmark's subscriber", () => {
  it("reads each event's cursor, type and time off the wire, and whether the message is live", () => {
    fc.assert(
      fc.property(fc.array(event, { maxLength: 8 }), fc.boolean(), (events, live) => {
        const bytes = toBinary(
          SubscribeResponseSchema,
          create(SubscribeResponseSchema, {
            cursor: events.at(-1)?.cursor ?? 0n,
            live,
            events: events.map((e) =>
              create(EventSchema, {
                cursor: e.cursor,
                type: e.type,
                time: {
                  seconds: BigInt(Math.floor(e.ms / 1000)),
                  nanos: (e.ms % 1000) * 1e6 + 999,
                },
                scheduler: e.scheduler,
                attempt: e.attempt,
                result:
                  e.result === undefined
                    ? undefined
                    : { kind: { case: "numberValue", value: e.result } },
                error: e.error === undefined ? undefined : { type: "E", message: e.error },
              }),
            ),
          }),
        );
        const read = readLean(Buffer.from(bytes));
        expect(read.live).toBe(live);
        expect(read.events).toEqual(events.flatMap((e) => [Number(e.cursor), e.type, e.ms]));
      }),
      PARAMS,
    );
  });

  it("counts latencies to the same percentiles as sorting them", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(fc.integer({ min: -50, max: 2000 }), fc.integer({ min: 119_990, max: 130_000 })),
          { minLength: 1, maxLength: 300 },
        ),
        (values) => {
          const counted = new Latencies();
          for (const v of values) counted.add(v);
          expect(counted.length).toBe(values.length);
          expect(counted.percentiles()).toEqual(percentiles(values));
        },
      ),
      PARAMS,
    );
    expect(new Latencies().percentiles()).toEqual(percentiles([]));
  });
});
