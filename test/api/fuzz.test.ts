/**
 * A fuzz run against a real node (embedded SQLite, firing off so that only calls change the
 * store): at least 5,000 gRPC calls per run, each either a message of a unary RPC's request
 * type made by fast-check from the proto's descriptors (test/support/fuzz-messages.ts), or the
 * encoding of a valid request with its bytes mutated. Every answer must be OK or one of
 * INVALID_ARGUMENT, RESOURCE_EXHAUSTED, NOT_FOUND, ALREADY_EXISTS, FAILED_PRECONDITION, an
 * INVALID_ARGUMENT naming the field at fault (or saying the body does not decode); never INTERNAL
 * or UNKNOWN. A refused call leaves the store as it was (its tables compared before and after).
 */
import { create, toBinary, type DescMethod } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
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
  let client: grpc.Client;
  let db: Database.Database;

  beforeAll(async () => {
    store = await createSqliteStore();
    server = await startTestNode(store.url, { SCHEDULER__ENABLED: "false" });
    client = new grpc.Client(`127.0.0.1:${String(server.port)}`, grpc.credentials.createInsecure());
    db = new Database(new URL(store.url.replace("sqlite:///", "file:///")).pathname, {
      readonly: true,
    });
  });
  afterAll(async () => {
    db.close();
    client.close();
    await server.stop();
    await store.drop();
  });

  /** What calls change: schedulers, jobs and runs, every column. */
  const dump = () =>
    ["schedulers", "jobs", "runs"].map((table) =>
      db.prepare(`SELECT * FROM ${table} ORDER BY rowid`).all(),
    );

  const call = (c: Case) =>
    new Promise<{ code: string; details: string }>((resolve) => {
      client.makeUnaryRequest(
        pathOf(c.method),
        (b: Buffer) => b,
        (b: Buffer) => b,
        Buffer.from(c.body),
        new grpc.Metadata(),
        // A call that takes this long is a finding (it fails the property as DEADLINE_EXCEEDED).
        { deadline: Date.now() + 10_000 },
        (err) => {
          // connect-node percent-encodes grpc-message beyond what grpc-js decodes (`:` is %3A).
          const details = decodeURIComponent(err?.details ?? "");
          resolve({ code: grpc.status[err?.code ?? grpc.status.OK], details });
        },
      );
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
        const { code, details } = await call(c);
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
      { numRuns: REQUESTS, endOnFailure: true },
    );
    expect(sent).toBeGreaterThanOrEqual(REQUESTS);
    process.stdout.write(
      `fuzz: ${String(sent)} requests, ${JSON.stringify(Object.fromEntries(codes))}\n`,
    );
  }, 600_000);
});
