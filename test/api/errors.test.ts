/**
 * Error paths: a table of malformed requests (each gets INVALID_ARGUMENT naming the field, and
 * the stored data is unchanged), authentication and methods the server does not serve, on the
 * embedded SQLite store; and the database vanishing mid-request and coming back (UNAVAILABLE,
 * never a crash), on MariaDB behind a TCP proxy that cuts its connections.
 */
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  Health,
  HealthCheckResponse_ServingStatus,
} from "../../server/src/gen/grpc/health/v1/health_pb.js";
import { postJson, type JsonReply } from "../support/connect-json.js";
import { MYSQL_URL, createTestDatabase, describeMysql } from "../support/mysql.js";
import { startTestNode, type TestNode } from "../support/node.js";
import { TcpProxy } from "../support/proxy.js";
import { createSqliteStore, type TestStore } from "../support/stores.js";

const valid = { id: "ok", handler: "reports.daily", trigger: { cron: { hour: "2" } } };
const withJob = (job: Record<string, unknown>) => ({ job: { ...valid, ...job } });

// [description, RPC path, request body, the field the error must name]
const malformed: [string, string, unknown, string][] = [
  ["id of the wrong type", "JobService/AddJob", withJob({ id: 5 }), "metronome.v1.Job.id"],
  [
    "args not a list",
    "JobService/AddJob",
    withJob({ args: { a: 1 } }),
    "google.protobuf.ListValue",
  ],
  ["unknown field", "JobService/AddJob", withJob({ colour: "red" }), "colour"],
  ["id with unsafe characters", "JobService/AddJob", withJob({ id: "a/../b" }), "job.id"],
  ["id with a space", "JobService/AddJob", withJob({ id: "daily report" }), "job.id"],
  ["id too long", "JobService/AddJob", withJob({ id: "x".repeat(192) }), "job.id"],
  [
    "scheduler with unsafe characters",
    "JobService/AddJob",
    withJob({ scheduler: "r e p" }),
    "job.scheduler",
  ],
  ["missing handler", "JobService/AddJob", withJob({ handler: "" }), "job.handler"],
  [
    "handler with unsafe characters",
    "JobService/AddJob",
    withJob({ handler: "rm -rf" }),
    "job.handler",
  ],
  ["name with a control character", "JobService/AddJob", withJob({ name: "a\u0007b" }), "job.name"],
  ["name too long", "JobService/AddJob", withJob({ name: "名".repeat(192) }), "job.name"],
  ["missing trigger", "JobService/AddJob", withJob({ trigger: undefined }), "job.trigger"],
  ["trigger without a kind", "JobService/AddJob", withJob({ trigger: {} }), "job.trigger"],
  [
    "unknown time zone",
    "JobService/AddJob",
    withJob({ trigger: { cron: { hour: "2", timezone: "Mars/Olympus" } } }),
    "job.trigger.cron.timezone",
  ],
  [
    "hour out of range",
    "JobService/AddJob",
    withJob({ trigger: { cron: { hour: "24" } } }),
    "job.trigger.cron.hour",
  ],
  [
    "malformed crontab",
    "JobService/AddJob",
    withJob({ trigger: { crontab: { expression: "* * *" } } }),
    "job.trigger.crontab.expression",
  ],
  [
    "Feb 30 never fires",
    "JobService/AddJob",
    withJob({ trigger: { cron: { month: "2", day: "30" } } }),
    "job.trigger.cron",
  ],
  [
    "zero interval",
    "JobService/AddJob",
    withJob({ trigger: { interval: {} } }),
    "job.trigger.interval",
  ],
  [
    "end before start",
    "JobService/AddJob",
    withJob({
      trigger: {
        crontab: {
          expression: "0 * * * *",
          startDate: "2030-01-02T00:00:00Z",
          endDate: "2030-01-01T00:00:00Z",
        },
      },
    }),
    "job.trigger.crontab.end_date",
  ],
  [
    "bad sub-trigger",
    "JobService/AddJob",
    withJob({
      trigger: { anyOf: { triggers: [{ cron: { hour: "1" } }, { cron: { minute: "99" } }] } },
    }),
    "job.trigger.any_of.triggers[1].cron.minute",
  ],
  ["max_instances 0", "JobService/AddJob", withJob({ maxInstances: 0 }), "job.max_instances"],
  [
    "misfire no_limit false",
    "JobService/AddJob",
    withJob({ misfireGraceTime: { noLimit: false } }),
    "job.misfire_grace_time.no_limit",
  ],
  ["negative timeout", "JobService/AddJob", withJob({ timeout: "-5s" }), "job.timeout"],
  [
    "retry with 0 attempts",
    "JobService/AddJob",
    withJob({ retryPolicy: { maxAttempts: 0 } }),
    "job.retry_policy.max_attempts",
  ],
  [
    "empty field mask",
    "JobService/ModifyJob",
    { job: { id: "seed" }, updateMask: "" },
    "update_mask",
  ],
  [
    "unknown mask path",
    "JobService/ModifyJob",
    { job: { id: "seed" }, updateMask: "paused" },
    "update_mask",
  ],
  [
    "mask path of an immutable field",
    "JobService/ModifyJob",
    { job: { id: "seed" }, updateMask: "id" },
    "update_mask",
  ],
  [
    "mask unsetting the trigger",
    "JobService/ModifyJob",
    { job: { id: "seed" }, updateMask: "trigger" },
    "job.trigger",
  ],
  [
    "mask unsetting the handler",
    "JobService/ModifyJob",
    { job: { id: "seed" }, updateMask: "handler" },
    "job.handler",
  ],
  [
    "modify with a bad new trigger",
    "JobService/ModifyJob",
    { job: { id: "seed", trigger: { cron: { hour: "x" } } }, updateMask: "trigger" },
    "job.trigger.cron.hour",
  ],
  [
    "reschedule with a bad trigger",
    "JobService/RescheduleJob",
    { jobId: "seed", trigger: { crontab: { expression: "61 * * * *" } } },
    "trigger.crontab.expression",
  ],
  ["get with an unsafe id", "JobService/GetJob", { jobId: "../etc" }, "job_id"],
  ["page size too large", "JobService/ListJobs", { pageSize: 5000 }, "page_size"],
  [
    "preview count too large",
    "TriggerService/PreviewTrigger",
    { trigger: { cron: { hour: "1" } }, count: 101 },
    "count",
  ],
  [
    "scheduler with a bad time zone",
    "SchedulerService/ConfigureScheduler",
    { name: "default", timezone: "Nowhere" },
    "timezone",
  ],
  [
    "scheduler with max_instances 0",
    "SchedulerService/ConfigureScheduler",
    { name: "default", jobDefaults: { maxInstances: 0 } },
    "job_defaults.max_instances",
  ],
  [
    "scheduler with a bad mask",
    "SchedulerService/ConfigureScheduler",
    { name: "default", updateMask: "paused" },
    "update_mask",
  ],
];

/** Connect JSON over HTTP/1.1 to a node's `metronome.v1` services. */
const callOn =
  (node: () => TestNode) =>
  (path: string, body: unknown, headers: Record<string, string> = {}): Promise<JsonReply> =>
    postJson(node().port, `/metronome.v1.${path}`, body, headers);

/** A unary call of `path` through @grpc/grpc-js, answering the status code it ends with. */
function grpcStatusOf(port: number, path: string): Promise<string> {
  const client = new grpc.Client(`127.0.0.1:${String(port)}`, grpc.credentials.createInsecure());
  const bytes = (b: Buffer) => b;
  return new Promise<string>((resolve) => {
    client.makeUnaryRequest(path, bytes, bytes, Buffer.alloc(0), (err) => {
      resolve(grpc.status[err?.code ?? grpc.status.OK]);
    });
  }).finally(() => {
    client.close();
  });
}

describe("error paths", () => {
  let stores: TestStore[];
  let server: TestNode;
  let secured: TestNode;

  beforeAll(async () => {
    stores = [await createSqliteStore(), await createSqliteStore()];
    server = await startTestNode(stores[0]?.url ?? "");
    secured = await startTestNode(stores[1]?.url ?? "", {
      METRONOME_AUTH_TOKENS: "s3cret,other",
    });
  });
  afterAll(async () => {
    await server.stop();
    await secured.stop();
    for (const store of stores) await store.drop();
  });

  const call = callOn(() => server);
  const snapshot = async () => {
    const jobs = await call("JobService/ListJobs", { pageSize: 1000 });
    const schedulers = await call("SchedulerService/ListSchedulers", {});
    return { jobs: jobs.body, schedulers: schedulers.body };
  };

  it("rejects each malformed request naming the field, leaving the data unchanged", async () => {
    await call("JobService/AddJob", {
      job: {
        id: "seed",
        handler: "seed.job",
        trigger: { crontab: { expression: "0 1 * * *" } },
        args: [1],
      },
    });
    const before = await snapshot();
    for (const [description, path, body, field] of malformed) {
      const res = await call(path, body);
      expect.soft(res.body.code, description).toBe("invalid_argument");
      expect.soft(String(res.body.message), description).toContain(field);
    }
    // Over the payload limit: RESOURCE_EXHAUSTED, still naming the field.
    const big = await call("JobService/AddJob", withJob({ args: ["x".repeat(70_000)] }));
    expect(big.body).toMatchObject({ code: "resource_exhausted" });
    expect(String(big.body.message)).toMatch(
      /^job\.args: args and kwargs together must be at most 65536 bytes/,
    );
    expect(await snapshot()).toEqual(before);
  });

  it("requires a bearer token when tokens are configured (health stays open)", async () => {
    const get = (headers: Record<string, string>) =>
      postJson(secured.port, "/metronome.v1.JobService/ListJobs", {}, headers);
    expect((await get({})).body).toMatchObject({ code: "unauthenticated" });
    expect((await get({ authorization: "Bearer wrong" })).body).toMatchObject({
      code: "unauthenticated",
    });
    const added = await postJson(
      secured.port,
      "/metronome.v1.JobService/AddJob",
      { job: { id: "guarded", handler: "a.b", trigger: { cron: { hour: "3" } } } },
      { authorization: "Bearer s3cret" },
    );
    expect(added.body).toMatchObject({ outcome: "ADD_JOB_OUTCOME_CREATED" });
    const ok = await get({ authorization: "Bearer other" });
    expect(ok.status).toBe(200);
    expect(ok.body.jobs).toMatchObject([{ id: "guarded" }]);
    expect((await postJson(secured.port, "/grpc.health.v1.Health/Check", {})).body).toEqual({
      status: "SERVING",
    });
  });

  it("answers UNIMPLEMENTED for a method or service the server does not serve", async () => {
    expect(await grpcStatusOf(server.port, "/metronome.v1.JobService/NoSuchMethod")).toBe(
      "UNIMPLEMENTED",
    );
    expect(
      await grpcStatusOf(server.port, "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"),
    ).toBe("UNIMPLEMENTED");
    // Over HTTP/1.1 the Connect protocol says it with a bare 404.
    expect(await call("JobService/NoSuchMethod", {})).toMatchObject({ status: 404, body: {} });
  });
});

describeMysql("the database going away", () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let proxy: TcpProxy;
  let server: TestNode;

  beforeAll(async () => {
    db = await createTestDatabase();
    const target = new URL(MYSQL_URL);
    proxy = await TcpProxy.start({ host: target.hostname, port: Number(target.port || 3306) });
    const viaProxy = new URL(db.url);
    viaProxy.port = String(proxy.port);
    server = await startTestNode(viaProxy.toString());
  });
  afterAll(async () => {
    await server.stop();
    await proxy.close();
    await db.drop();
  });

  const call = callOn(() => server);
  /** Watch the health stream until it reports `status` (event-driven, no polling). */
  const healthBecomes = async (status: HealthCheckResponse_ServingStatus): Promise<void> => {
    const abort = new AbortController();
    const health = createClient(Health, createGrpcTransport({ baseUrl: server.url }));
    try {
      for await (const res of health.watch({}, { signal: abort.signal })) {
        if (res.status === status) return;
      }
    } finally {
      abort.abort();
    }
  };

  it("answers UNAVAILABLE while the database is gone, mid-request too, and recovers by itself", async () => {
    const seeded = await call("JobService/AddJob", {
      job: { id: "seed", handler: "seed.job", trigger: { crontab: { expression: "0 1 * * *" } } },
    });
    expect(seeded.body).toMatchObject({ outcome: "ADD_JOB_OUTCOME_CREATED" });
    const before = await call("JobService/GetJob", { jobId: "seed" });
    expect(before.status).toBe(200);

    // The database stops answering while a request is in flight, then the connections drop.
    const held = proxy.hold();
    const inFlight = call("JobService/AddJob", {
      job: { id: "during", handler: "a.b", trigger: { cron: { hour: "3" } } },
    });
    await held;
    proxy.cut();
    expect((await inFlight).body).toMatchObject({
      code: "unavailable",
      message: "the job store is unavailable",
    });

    // While it is gone, every store-backed RPC is UNAVAILABLE and leaks nothing of the cause.
    for (const [path, body] of [
      ["JobService/GetJob", { jobId: "seed" }],
      ["JobService/ListJobs", {}],
      ["SchedulerService/GetScheduler", {}],
    ] as const) {
      const res = await call(path, body);
      expect(res.status).toBe(503);
      expect(res.body).toEqual({ code: "unavailable", message: "the job store is unavailable" });
    }
    // The health service notices (by its background ping) and says NOT_SERVING.
    await healthBecomes(HealthCheckResponse_ServingStatus.NOT_SERVING);
    // Trigger preview needs no database.
    expect(
      (await call("TriggerService/PreviewTrigger", { trigger: { cron: { hour: "1" } }, count: 1 }))
        .status,
    ).toBe(200);

    // It comes back: the same server answers again, and nothing was lost or half-written.
    proxy.restore();
    await healthBecomes(HealthCheckResponse_ServingStatus.SERVING);
    const after = await call("JobService/GetJob", { jobId: "seed" });
    expect(after.body).toEqual(before.body);
    const during = await call("JobService/GetJob", { jobId: "during" });
    expect(["not_found", undefined]).toContain(during.body.code);
    const added = await call("JobService/AddJob", {
      job: { id: "after", handler: "a.b", trigger: { cron: { hour: "3" } } },
    });
    expect(added.body).toMatchObject({ outcome: "ADD_JOB_OUTCOME_CREATED" });
  });
});
