/**
 * Error paths that need a real server: methods the server does not serve (gRPC over HTTP/2 and
 * Connect over HTTP/1.1), on the embedded SQLite store; and the database vanishing mid-request
 * and coming back (UNAVAILABLE, never a crash), on MariaDB and on PostgreSQL behind a TCP proxy that cuts its
 * connections. Malformed requests and bearer tokens: test/in-process/errors.test.ts.
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
import { createTestDatabase, describeMysql } from "../support/mysql.js";
import { createPostgresDatabase, describePostgres } from "../support/postgres.js";
import { createRedisStore, describeRedis } from "../support/redis.js";
import { startTestNode, type TestNode } from "../support/node.js";
import { TcpProxy } from "../support/proxy.js";
import { createSqliteStore, type TestStore } from "../support/stores.js";

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

describe("methods the server does not serve", () => {
  let store: TestStore;
  let server: TestNode;

  beforeAll(async () => {
    store = await createSqliteStore();
    server = await startTestNode(store.url);
  });
  afterAll(async () => {
    await server.stop();
    await store.drop();
  });

  const call = callOn(() => server);

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

describeMysql("the database going away on MariaDB", () => {
  theDatabaseGoingAway(() => createTestDatabase());
});

describePostgres("the database going away on PostgreSQL", () => {
  theDatabaseGoingAway(() => createPostgresDatabase());
});

describeRedis("the database going away on Redis", () => {
  theDatabaseGoingAway(() => createRedisStore());
});

function theDatabaseGoingAway(
  createDatabase: () => Promise<{ url: string; drop(): Promise<void> }>,
): void {
  let db: { url: string; drop(): Promise<void> };
  let proxy: TcpProxy;
  let server: TestNode;

  beforeAll(async () => {
    db = await createDatabase();
    const target = new URL(db.url);
    const defaults: Record<string, number> = { "mysql:": 3306, "redis:": 6379 };
    const port = Number(target.port || (defaults[target.protocol] ?? 5432));
    proxy = await TcpProxy.start({ host: target.hostname, port });
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
}
