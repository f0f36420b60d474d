/**
 * A partition between a node and its database, MariaDB, PostgreSQL or Redis (a TCP proxy that swallows everything, then drops the
 * connections): calls answer by their deadline — the client's, or the server's
 * METRONOME_STORE_TIMEOUT — with UNAVAILABLE or DEADLINE_EXCEEDED while the database is still
 * out of reach, and what they were writing is rolled back: no change commits after its client
 * got an error (checked on the database directly, past the proxy, once it is back).
 */
import { createClient, Code, ConnectError } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, expect, it } from "vitest";
import {
  Health,
  HealthCheckResponse_ServingStatus,
} from "../../server/src/gen/grpc/health/v1/health_pb.js";
import { JobService } from "../../server/src/gen/metronome/v1/job_service_pb.js";
import { describeEachSharedStore, type SharedTestDatabase } from "../support/shared-stores.js";
import { startTestNode, type TestNode } from "../support/node.js";
import { TcpProxy } from "../support/proxy.js";

const trigger = { kind: { case: "crontab" as const, value: { expression: "0 * * * *" } } };

describeEachSharedStore("a partition between a node and the database", (createDatabase) => {
  let db: SharedTestDatabase;
  let proxy: TcpProxy;
  let server: TestNode;

  beforeAll(async () => {
    db = await createDatabase();
    const target = new URL(db.url);
    const defaultPort = { mysql: 3306, postgres: 5432, redis: 6379, "redis-cluster": 6379 }[
      db.store
    ];
    const port = Number(target.port || defaultPort);
    proxy = await TcpProxy.start({ host: target.hostname, port });
    const viaProxy = new URL(db.url);
    viaProxy.port = String(proxy.port);
    server = await startTestNode(viaProxy.toString(), {
      METRONOME_STORE_TIMEOUT: "2",
      SCHEDULER__ENABLED: "false",
    });
  });
  afterAll(async () => {
    await server.stop();
    await proxy.close();
    await db.drop();
  });

  const jobs = () => createClient(JobService, createGrpcTransport({ baseUrl: server.url }));
  const codeOf = (p: Promise<unknown>) =>
    p.then(
      () => "OK",
      (err: unknown) => Code[ConnectError.from(err).code],
    );
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
  // Read past the proxy, on the database itself.
  const storedIds = async () =>
    (await db.rows<{ id: string }>("SELECT id FROM jobs ORDER BY id")).map((r) => r.id);

  it("answers by the deadline while the database is held, and commits nothing after", async () => {
    const client = jobs();
    await client.addJob({ job: { id: "before", handler: "a.b", trigger } });

    // The database stops answering mid-transaction.
    const held = proxy.hold();
    const byServerLimit = codeOf(
      client.addJob({ job: { id: "server-limit", handler: "a.b", trigger } }),
    );
    await held;
    const byClientDeadline = codeOf(
      client.addJob(
        { job: { id: "client-deadline", handler: "a.b", trigger } },
        { timeoutMs: 500 },
      ),
    );
    // Both answer while the database is still held (the test restores it only afterwards).
    expect(await byClientDeadline).toBe("DeadlineExceeded");
    expect(await byServerLimit).toBe("Unavailable");

    // The partition goes on (connections dropped, new ones refused), then heals.
    proxy.cut();
    expect(await codeOf(client.getJob({ jobId: "before" }))).toBe("Unavailable");
    proxy.restore();

    // Nothing of the refused calls was committed, then or later.
    expect(await storedIds()).toEqual(["before"]);
    await healthBecomes(HealthCheckResponse_ServingStatus.SERVING);
    expect(await codeOf(client.getJob({ jobId: "before" }))).toBe("OK");
    await client.addJob({ job: { id: "after", handler: "a.b", trigger } });
    expect(await storedIds()).toEqual(["after", "before"]);
  });
});
