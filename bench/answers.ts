/**
 * Job answers micro-benchmark: the server CPU of putting a job in a binary response, the
 * reflective way (jobToProto and protobuf-es's toBinary: what a JSON call's answer is built from,
 * and every answer was before) against the hand-written encoding binary calls get
 * (api/convert/job-bytes.ts), in interleaved rounds in one thread, with the server's text encoding
 * installed (lib/text-encoding.ts, as a node runs). Prints one JSON line: µs per answer of a
 * GetJob (one job), per job of a ListJobs page of 100, and per event of a Subscribe message of 30
 * job_executed events (as `bench events` sends them), the events made anew for every message so
 * that neither way finds them converted or encoded before: eventToProto and toBinary against
 * api/convert/event-bytes.ts.
 *
 *   npm run -s bench -- answers          (5 rounds of 1 s per way and shape)
 *   BENCH_SECONDS=3 npm run -s bench -- answers
 */
import { cpus } from "node:os";
import { create, toBinary, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import { withEncodedJobs, type AnsweredJob } from "../server/src/api/convert/job-bytes.js";
import { binaryResponse } from "../server/src/api/convert/event-responses.js";
import { eventToProto } from "../server/src/api/convert/events.js";
import { jobToProto } from "../server/src/api/convert/jobs.js";
import type { LoggedEvent } from "../server/src/domain/events.js";
import type { Job } from "../server/src/domain/jobs.js";
import { SubscribeResponseSchema } from "../server/src/gen/metronome/v1/event_service_pb.js";
import {
  GetJobResponseSchema,
  ListJobsResponseSchema,
} from "../server/src/gen/metronome/v1/job_service_pb.js";
import { useFastTextEncoding } from "../server/src/lib/text-encoding.js";

const SECONDS = Number(process.env.BENCH_SECONDS ?? "1");
const ROUNDS = 5;
const T0 = Date.UTC(2026, 11, 6);

/** Jobs as a service adds them: cron and interval triggers, small args and kwargs. */
function jobOf(i: number): Job {
  return {
    scheduler: "default",
    id: `report-${String(i).padStart(6, "0")}`,
    name: `Daily report ${String(i)}`,
    handler: "reports.daily",
    trigger:
      i % 2 === 0
        ? { type: "cron", fields: { hour: "3", minute: String(i % 60) }, timezone: "Europe/Paris" }
        : { type: "interval", minutes: 5, startDate: T0, timezone: "UTC", jitter: 2 },
    args: [i, "eu-west", { dryRun: false }],
    kwargs: { region: "eu", limit: 100, tags: ["a", "b"] },
    coalesce: true,
    maxInstances: 1,
    misfireGraceTimeMs: 30_000,
    timeoutMs: i % 3 === 0 ? 60_000 : null,
    retry: null,
    paused: false,
    nextRunTime: T0 + i * 1000,
    createdAt: T0,
    updatedAt: T0,
    version: 1 + (i % 4),
    modifiedBy: "key:ops",
  };
}

const single: AnsweredJob = { job: jobOf(1), workerCount: 2 };
const one: AnsweredJob[] = [single];
const page: AnsweredJob[] = Array.from({ length: 100 }, (_, i) => ({
  job: jobOf(i),
  workerCount: 2,
}));

const EVENTS = 30;
let nextCursor = 1;
/** A message's events as the log gives them to the hub: new objects every time. */
function events(): LoggedEvent[] {
  return Array.from({ length: EVENTS }, () => {
    const cursor = nextCursor++;
    return {
      cursor,
      type: "job_executed",
      time: T0 + cursor,
      scheduler: "default",
      jobId: `events-${String(cursor % 1000)}`,
      runId: `0193a5c2-7d4e-7f00-8000-${String(cursor).padStart(12, "0")}`,
      handler: "bench.noop",
      data: {
        nodeId: "node-1",
        workerId: "worker-1",
        scheduledTime: T0 + cursor,
        attempt: 1,
        runStatus: "succeeded",
        result: null,
      },
    };
  });
}

type Encode = () => Uint8Array;
type Way = { readonly get: Encode; readonly list: Encode; readonly events: Encode };
const response = <D extends DescMessage>(schema: D, m: MessageShape<D>): Uint8Array =>
  toBinary(schema, m);
const reflective: Way = {
  get: () =>
    response(
      GetJobResponseSchema,
      create(GetJobResponseSchema, { job: jobToProto(single.job, single.workerCount) }),
    ),
  list: () =>
    response(
      ListJobsResponseSchema,
      create(ListJobsResponseSchema, {
        jobs: page.map((a) => jobToProto(a.job, a.workerCount)),
        nextPageToken: "next",
      }),
    ),
  events: () =>
    response(
      SubscribeResponseSchema,
      create(SubscribeResponseSchema, {
        events: events().map(eventToProto),
        cursor: BigInt(nextCursor),
        live: true,
      }),
    ),
};
const hand: Way = {
  get: () => response(GetJobResponseSchema, withEncodedJobs(create(GetJobResponseSchema), one)),
  list: () =>
    response(
      ListJobsResponseSchema,
      withEncodedJobs(create(ListJobsResponseSchema, { nextPageToken: "next" }), page),
    ),
  events: () =>
    response(
      SubscribeResponseSchema,
      binaryResponse({ events: events(), cursor: nextCursor, live: true }),
    ),
};
const ways: [string, Way][] = [
  ["reflective", reflective],
  ["hand", hand],
];

/** µs per job of `encode` over `seconds`; `jobs`: the jobs one call encodes. */
function measure(encode: Encode, jobs: number, seconds: number): number {
  let calls = 0;
  let bytes = 0;
  const start = process.hrtime.bigint();
  const end = start + BigInt(Math.round(seconds * 1e9));
  let now = start;
  while (now < end) {
    for (let i = 0; i < 20; i++) bytes += encode().length;
    calls += 20;
    now = process.hrtime.bigint();
  }
  if (bytes === 0) throw new Error("nothing encoded");
  return Number(now - start) / 1000 / (calls * jobs);
}

useFastTextEncoding();
// The two ways answer the same bytes for one job (the unit tests check every field).
if (Buffer.compare(Buffer.from(reflective.get()), Buffer.from(hand.get())) !== 0)
  throw new Error("the answers differ");
// Warm-up: both ways compiled before the first round.
for (const [, w] of ways) {
  measure(w.get, 1, 0.2);
  measure(w.list, 100, 0.2);
  measure(w.events, EVENTS, 0.2);
}
const samples = new Map(
  ways.map(([name]) => [
    name,
    { get: [] as number[], list: [] as number[], events: [] as number[] },
  ]),
);
for (let round = 0; round < ROUNDS; round++) {
  // Interleaved, the first way alternating.
  for (const [name, w] of round % 2 === 0 ? ways : [...ways].reverse()) {
    const s = samples.get(name);
    if (s === undefined) throw new Error(`no samples for ${name}`);
    s.get.push(measure(w.get, 1, SECONDS / 2));
    s.list.push(measure(w.list, 100, SECONDS / 2));
    s.events.push(measure(w.events, EVENTS, SECONDS / 2));
  }
}
const median = (xs: number[]): number => {
  const s = [...xs].sort((x, y) => x - y);
  return Number((s[Math.floor(s.length / 2)] ?? 0).toFixed(2));
};
const result = Object.fromEntries(
  [...samples].map(([k, v]) => [
    k,
    {
      get_us_per_answer: median(v.get),
      list_us_per_job: median(v.list),
      events_us_per_event: median(v.events),
    },
  ]),
);
console.log(
  JSON.stringify({
    bench: "answers",
    ...result,
    rounds: ROUNDS,
    node: process.version,
    cpu: cpus()[0]?.model.trim(),
  }),
);
