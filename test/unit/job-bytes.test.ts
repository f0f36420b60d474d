/**
 * The hand-written encoding of jobs (api/convert/job-bytes.ts) is byte for byte what
 * protobuf-es's reflective `toBinary` writes for `jobToProto` (convert/jobs.ts), on generated jobs:
 * every trigger kind (combined ones nested), instants from year 1 to 9999, bounds set, unset or
 * not finite, jitter or none, any
 * JSON in args and kwargs, every optional setting present or absent, a worker count or none. The
 * responses carrying them (one job, or a page of them beside other fields) decode to the
 * messages the converted jobs make.
 */
import { create, equals, fromBinary, toBinary } from "@bufbuild/protobuf";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  jobBytes,
  withEncodedJobs,
  type AnsweredJob,
} from "../../server/src/api/convert/job-bytes.js";
import { jobToProto } from "../../server/src/api/convert/jobs.js";
import type { Job } from "../../server/src/domain/jobs.js";
import {
  CRON_FIELD_NAMES,
  MAX_INSTANT,
  MIN_INSTANT,
  type CronFields,
  type TriggerSpec,
} from "../../server/src/domain/triggers/index.js";
import { JobSchema } from "../../server/src/gen/metronome/v1/job_pb.js";
import {
  AddJobOutcome,
  AddJobResponseSchema,
  GetJobResponseSchema,
  ListJobsResponseSchema,
} from "../../server/src/gen/metronome/v1/job_service_pb.js";
import { ENCODING_PARAMS as PARAMS, json, key, ms, text } from "../support/json-arbitraries.js";

/** Any instant a trigger or job may hold, year 1 to 9999 (negative epoch milliseconds too). */
const instant = fc.oneof(ms, fc.integer({ min: MIN_INSTANT, max: MAX_INSTANT }));
/** A bound, or none (unset, or a number that is not finite: answered unset). */
const bound = fc.oneof(
  instant,
  fc.constantFrom(null, undefined, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, Number.NaN),
);
const jitter = fc.oneof(
  fc.constantFrom(null, undefined, 0),
  fc.double({ min: 0.001, max: 3600, noNaN: true }),
  fc.integer({ min: 1, max: 3600 }),
);
const cronValue = fc.oneof(fc.constantFrom("*", "*/5", "1-3", "mon-fri", "last", ""), fc.nat(59));
const cronFields: fc.Arbitrary<CronFields> = fc
  .subarray([...CRON_FIELD_NAMES])
  .chain((names) =>
    fc
      .tuple(...names.map(() => cronValue))
      .map((values) => Object.fromEntries(names.map((n, i) => [n, values[i]]))),
  );
const amount = fc.option(
  fc.oneof(fc.constantFrom(0, -0, 0.5, 1e-9), fc.double({ min: 0, max: 1e6, noNaN: true })),
  { nil: undefined },
);

const trigger: fc.Arbitrary<TriggerSpec> = fc.letrec<{ t: TriggerSpec }>((tie) => ({
  t: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.record({
      type: fc.constant("cron" as const),
      fields: cronFields,
      timezone: text,
      startDate: bound,
      endDate: bound,
      jitter,
    }),
    fc.record({
      type: fc.constant("crontab" as const),
      expression: text,
      timezone: text,
      startDate: bound,
      endDate: bound,
      jitter,
    }),
    fc.record({
      type: fc.constant("interval" as const),
      weeks: amount,
      days: amount,
      hours: amount,
      minutes: amount,
      seconds: amount,
      startDate: fc.oneof(instant, fc.constant(Number.NaN)),
      endDate: bound,
      timezone: text,
      jitter,
    }),
    fc.record({ type: fc.constant("date" as const), runDate: instant, timezone: text, jitter }),
    fc.record({
      type: fc.constantFrom("and" as const, "or" as const),
      triggers: fc.array(tie("t"), { maxLength: 3 }),
      jitter,
    }),
  ),
})).t;

const job: fc.Arbitrary<Job> = fc.record({
  scheduler: fc.oneof(fc.constant("default"), text),
  id: text,
  name: text,
  handler: text,
  trigger,
  args: fc.array(json, { maxLength: 5 }),
  kwargs: fc.dictionary(key, json, { maxKeys: 5 }),
  coalesce: fc.boolean(),
  maxInstances: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
  misfireGraceTimeMs: fc.option(fc.integer({ min: 1, max: 365 * 86_400_000 }), { nil: null }),
  timeoutMs: fc.option(fc.integer({ min: 0, max: 86_400_000 }), { nil: null }),
  retry: fc.option(
    fc.record({
      maxAttempts: fc.integer({ min: 0, max: 100 }),
      initialBackoffMs: fc.integer({ min: 0, max: 3_600_000 }),
      maxBackoffMs: fc.integer({ min: 0, max: 86_400_000 }),
      multiplier: fc.oneof(fc.constantFrom(0, 1, 2), fc.double({ min: 1, max: 10, noNaN: true })),
    }),
    { nil: null },
  ),
  paused: fc.boolean(),
  nextRunTime: fc.option(instant, { nil: null }),
  createdAt: instant,
  updatedAt: instant,
  version: fc.integer({ min: 0, max: 2 ** 40 }),
  modifiedBy: fc.option(text, { nil: undefined }),
});

const answered: fc.Arbitrary<AnsweredJob> = fc.record({
  job,
  workerCount: fc.option(fc.integer({ min: 0, max: 10_000 }), { nil: undefined }),
});

const converted = (a: AnsweredJob) => jobToProto(a.job, a.workerCount);

describe("jobs encoded by hand", () => {
  it("are the bytes toBinary writes for the converted job", () => {
    fc.assert(
      fc.property(answered, (a) => {
        expect(Buffer.from(jobBytes(a))).toEqual(Buffer.from(toBinary(JobSchema, converted(a))));
      }),
      PARAMS,
    );
  });

  it("in a response decode to the response with the converted job", () => {
    fc.assert(
      fc.property(answered, fc.array(text, { maxLength: 3 }), (a, warnings) => {
        const fields = { outcome: AddJobOutcome.REPLACED, warnings };
        const got = fromBinary(
          AddJobResponseSchema,
          toBinary(
            AddJobResponseSchema,
            withEncodedJobs(create(AddJobResponseSchema, fields), [a]),
          ),
        );
        const want = create(AddJobResponseSchema, { ...fields, job: converted(a) });
        expect(equals(AddJobResponseSchema, got, want)).toBe(true);
        const one = toBinary(
          GetJobResponseSchema,
          withEncodedJobs(create(GetJobResponseSchema), [a]),
        );
        // A response of one job: the job as its only field, as the reflective encoder writes it.
        expect(Buffer.from(one)).toEqual(
          Buffer.from(
            toBinary(GetJobResponseSchema, create(GetJobResponseSchema, { job: converted(a) })),
          ),
        );
      }),
      { ...PARAMS, numRuns: Math.ceil(PARAMS.numRuns / 5) },
    );
  });

  it("in a page keep their order beside the page token", () => {
    fc.assert(
      fc.property(fc.array(answered, { maxLength: 5 }), text, (page, token) => {
        const res = withEncodedJobs(create(ListJobsResponseSchema, { nextPageToken: token }), page);
        const got = fromBinary(ListJobsResponseSchema, toBinary(ListJobsResponseSchema, res));
        const want = create(ListJobsResponseSchema, {
          jobs: page.map(converted),
          nextPageToken: token,
        });
        expect(equals(ListJobsResponseSchema, got, want)).toBe(true);
      }),
      { ...PARAMS, numRuns: Math.ceil(PARAMS.numRuns / 5) },
    );
  });

  it("write a kwargs key __proto__ as any other key (the reflective encoder drops it)", () => {
    const kwargs = JSON.parse('{"__proto__": 1, "a": 2}') as Job["kwargs"];
    const base = { scheduler: "default", id: "j", name: "", handler: "h" };
    const a: AnsweredJob = {
      job: {
        ...base,
        trigger: { type: "date", runDate: 0, timezone: "UTC" },
        args: [],
        kwargs,
        coalesce: true,
        maxInstances: 1,
        misfireGraceTimeMs: null,
        timeoutMs: null,
        retry: null,
        paused: false,
        nextRunTime: null,
        createdAt: 0,
        updatedAt: 0,
        version: 1,
      },
      workerCount: undefined,
    };
    const hand = Buffer.from(jobBytes(a));
    const reflective = Buffer.from(toBinary(JobSchema, converted(a)));
    // The Struct's entry for the key, and kwargs_json carrying it in both.
    const entry = Buffer.from("__proto__");
    expect(hand.indexOf(entry)).toBeGreaterThanOrEqual(0);
    expect(hand.indexOf(entry, hand.indexOf(entry) + 1)).toBeGreaterThan(0);
    expect(reflective.indexOf(entry)).toBe(reflective.lastIndexOf(entry));
    expect(reflective.toString("latin1")).toContain('{"__proto__":1,"a":2}');
  });
});
