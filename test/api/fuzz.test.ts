/**
 * A fuzz run against a real node (embedded SQLite, firing off so that only calls change the
 * store): at least 5,000 gRPC calls per run, each either a message of a unary RPC's request
 * type made by fast-check from the proto's descriptors (test/support/fuzz-messages.ts), or the
 * encoding of a valid request with its bytes mutated. Every answer must be OK or one of
 * INVALID_ARGUMENT, RESOURCE_EXHAUSTED, NOT_FOUND, ALREADY_EXISTS, FAILED_PRECONDITION, an
 * INVALID_ARGUMENT naming the field at fault (or saying the body does not decode); never INTERNAL
 * or UNKNOWN. A refused call leaves the store as it was (its tables compared before and after).
 *
 * The calls go over node:http2 (a @grpc/grpc-js client stopped answering part-way through some
 * runs, its deadline not firing; the same requests replayed were answered). The seed is fixed
 * (FUZZ_SEED picks another); FUZZ_TRACE=<file> appends each request and its code to the file.
 */
import { create, toBinary, type DescMethod } from "@bufbuild/protobuf";
import { appendFileSync } from "node:fs";
import http2 from "node:http2";
import { status as GrpcStatus } from "@grpc/grpc-js";
import Database from "better-sqlite3";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AddJobRequestSchema,
  JobService,
  ListJobsRequestSchema,
  ModifyJobRequestSchema,
} from "../../server/src/gen/metronome/v1/job_service_pb.js";
import { RunService } from "../../server/src/gen/metronome/v1/run_service_pb.js";
import {
  ConfigureSchedulerRequestSchema,
  SchedulerService,
} from "../../server/src/gen/metronome/v1/scheduler_service_pb.js";
import {
  PreviewTriggerRequestSchema,
  TriggerService,
} from "../../server/src/gen/metronome/v1/trigger_service_pb.js";
import { messageArb, mutationArb } from "../support/fuzz-messages.js";
import { startTestNode, type TestNode } from "../support/node.js";
import { createSqliteStore, type TestStore } from "../support/stores.js";

const REQUESTS = 5000;

const ALLOWED = new Set([
  "OK",
  "INVALID_ARGUMENT",
  "RESOURCE_EXHAUSTED",
  "NOT_FOUND",
  "ALREADY_EXISTS",
  "FAILED_PRECONDITION",
]);

/** `job.trigger.any_of.triggers[1].cron.hour: …`, `job.kwargs["a"][0]: …` */
const NAMES_A_PATH = /^[a-z_]+(?:\[(?:\d+|"[^"]*")\])*(?:\.[a-z_]+(?:\[(?:\d+|"[^"]*")\])*)*: /;
const DOES_NOT_DECODE = /^the request does not decode as metronome\.v1\.\w+ \(/;

const UNARY: DescMethod[] = [SchedulerService, JobService, TriggerService, RunService].flatMap(
  (s) => s.methods.filter((m) => m.methodKind === "unary"),
);

function pathOf(method: DescMethod): string {
  return `/${method.parent.typeName}/${method.name}`;
}

const method = (service: { method: Record<string, DescMethod> }, name: string): DescMethod => {
  const m = service.method[name];
  if (!m) throw new Error(`no method ${name}`);
  return m;
};

const trigger = { kind: { case: "crontab" as const, value: { expression: "0 * * * *" } } };
/** Valid requests, encoded: the material of the byte mutations. */
const SEEDS: [DescMethod, Uint8Array][] = [
  [
    method(JobService, "addJob"),
    toBinary(
      AddJobRequestSchema,
      create(AddJobRequestSchema, {
        job: { id: "m", handler: "a.b", trigger, args: { values: [] }, kwargs: { a: 1 } },
      }),
    ),
  ],
  [
    method(JobService, "modifyJob"),
    toBinary(
      ModifyJobRequestSchema,
      create(ModifyJobRequestSchema, {
        job: { id: "x", name: "renamed" },
        updateMask: { paths: ["name"] },
      }),
    ),
  ],
  [
    method(JobService, "listJobs"),
    toBinary(ListJobsRequestSchema, create(ListJobsRequestSchema, { pageSize: 10 })),
  ],
  [
    method(SchedulerService, "configureScheduler"),
    toBinary(
      ConfigureSchedulerRequestSchema,
      create(ConfigureSchedulerRequestSchema, {
        name: "s",
        timezone: "UTC",
        jobDefaults: { maxInstances: 2 },
      }),
    ),
  ],
  [
    method(TriggerService, "previewTrigger"),
    toBinary(
      PreviewTriggerRequestSchema,
      create(PreviewTriggerRequestSchema, { trigger, count: 3 }),
    ),
  ],
];

type Case = { readonly method: DescMethod; readonly body: Uint8Array };

const generated: fc.Arbitrary<Case> = fc.oneof(
  ...UNARY.map((m) =>
    messageArb(m.input).map((msg) => ({
      method: m,
      body: toBinary(m.input, msg),
    })),
  ),
);
const mutated: fc.Arbitrary<Case> = fc.oneof(
  ...SEEDS.map(([m, bytes]) => mutationArb(bytes).map((body) => ({ method: m, body }))),
);

describe("fuzzing the API", () => {
  let store: TestStore;
  let server: TestNode;
  let session: http2.ClientHttp2Session;
  let db: Database.Database;

  beforeAll(async () => {
    store = await createSqliteStore();
    server = await startTestNode(store.url, { SCHEDULER__ENABLED: "false" });
    session = http2.connect(server.url);
    db = new Database(new URL(store.url.replace("sqlite:///", "file:///")).pathname, {
      readonly: true,
    });
  });
  afterAll(async () => {
    db.close();
    session.close();
    await server.stop();
    await store.drop();
  });

  /** What calls change: schedulers, jobs and runs, every column. */
  const dump = () =>
    ["schedulers", "jobs", "runs"].map((table) =>
      db.prepare(`SELECT * FROM ${table} ORDER BY rowid`).all(),
    );

  /** One gRPC call over node:http2: the status and message from the trailers. */
  const call = (c: Case) =>
    new Promise<{ code: string; details: string }>((resolve, reject) => {
      const frame = Buffer.alloc(5 + c.body.length);
      frame.writeUInt32BE(c.body.length, 1);
      frame.set(c.body, 5);
      const req = session.request({
        ":method": "POST",
        ":path": pathOf(c.method),
        "content-type": "application/grpc",
        te: "trailers",
        "grpc-timeout": "10S",
      });
      let headers: http2.IncomingHttpHeaders = {};
      req.on("response", (h) => {
        headers = h;
      });
      req.on("trailers", (t: http2.IncomingHttpHeaders) => {
        headers = { ...headers, ...t };
      });
      req.on("data", () => undefined);
      req.on("error", reject);
      req.on("end", () => {
        const code = Number(headers["grpc-status"] ?? 2);
        const details = decodeURIComponent(String(headers["grpc-message"] ?? ""));
        resolve({ code: GrpcStatus[code] ?? String(code), details });
      });
      req.end(frame);
    });

  it(`answers ${String(REQUESTS)} generated and mutated requests with allowed codes, refusals changing nothing`, async () => {
    // Records for the generated requests to find.
    for (const id of ["x", "job-1", "a.b"]) {
      const body = toBinary(
        AddJobRequestSchema,
        create(AddJobRequestSchema, { job: { id, handler: "a.b", trigger } }),
      );
      expect((await call({ method: method(JobService, "addJob"), body })).code).toBe("OK");
    }

    const codes = new Map<string, number>();
    let sent = 0;
    await fc.assert(
      fc.asyncProperty(fc.oneof(generated, mutated), async (c) => {
        const before = dump();
        if (process.env.FUZZ_TRACE)
          appendFileSync(
            process.env.FUZZ_TRACE,
            `${pathOf(c.method)} ${Buffer.from(c.body).toString("hex")}\n`,
          );
        const { code, details } = await call(c);
        if (process.env.FUZZ_TRACE) appendFileSync(process.env.FUZZ_TRACE, `<- ${code}\n`);
        sent++;
        codes.set(code, (codes.get(code) ?? 0) + 1);
        expect(ALLOWED.has(code), `${pathOf(c.method)} answered ${code}: ${details}`).toBe(true);
        if (code === "INVALID_ARGUMENT")
          expect(
            NAMES_A_PATH.test(details) || DOES_NOT_DECODE.test(details),
            `${pathOf(c.method)}: ${details}`,
          ).toBe(true);
        if (code !== "OK")
          expect(dump(), `${pathOf(c.method)} ${code}: ${details}`).toEqual(before);
      }),
      { numRuns: REQUESTS, endOnFailure: true, seed: Number(process.env.FUZZ_SEED ?? 20_261_204) },
    );
    expect(sent).toBeGreaterThanOrEqual(REQUESTS);
    process.stdout.write(
      `fuzz: ${String(sent)} requests, ${JSON.stringify(Object.fromEntries(codes))}\n`,
    );
  }, 600_000);
});
