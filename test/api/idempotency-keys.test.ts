/**
 * Idempotency keys (docs/security.md): a mutating call sent again with its `idempotency-key`
 * gets the first answer and changes nothing, on any node; concurrent calls with one key apply
 * once; a call whose change committed and whose answer was lost is never applied again. On
 * SQLite (one node), MariaDB, PostgreSQL and Redis (two nodes on one database); on a Redis
 * Cluster, keyed calls are refused.
 */
import { createHash, randomUUID } from "node:crypto";
import { create, toBinary } from "@bufbuild/protobuf";
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RunJobNowRequestSchema } from "../../server/src/gen/metronome/v1/job_service_pb.js";
import { withIdempotentCall, type IdempotentCall } from "../../server/src/lib/idempotent-call.js";
import { ANONYMOUS_PRINCIPAL } from "../../server/src/management/key-ring.js";
import { ManualClock } from "../support/clock.js";
import { grpcJsClients, type GrpcJsClients, type Reply } from "../support/grpc-js.js";
import { createTestDatabase, describeMysql } from "../support/mysql.js";
import { startTestNode, type TestNode } from "../support/node.js";
import { createPostgresDatabase, describePostgres } from "../support/postgres.js";
import { createRedisStore, describeRedis } from "../support/redis.js";
import {
  describeRedisCluster,
  startRedisCluster,
  type RedisCluster,
} from "../support/redis-cluster.js";
import { createSqliteStore, type TestStore } from "../support/stores.js";

const RUN_JOB_NOW = "metronome.v1.JobService/RunJobNow";
const DAY_MS = 86_400_000;

/** A gRPC error's status name, with its message. */
function described(err: unknown): { code: string; details: string } {
  const e = err as { code?: number; details?: string };
  return {
    code: status[e.code ?? -1] ?? "not a gRPC error",
    details: e.details ?? "",
  };
}

/** The gRPC status name of a failed call, with its message. */
async function failure(call: Promise<unknown>): Promise<{ code: string; details: string }> {
  try {
    await call;
  } catch (err) {
    return described(err);
  }
  throw new Error("the call succeeded");
}

const key = (): { "idempotency-key": string } => ({ "idempotency-key": randomUUID() });

/** A job that never fires by itself (a date far ahead); RunJobNow makes its runs. */
const farJob = (id?: string) => ({
  job: {
    ...(id === undefined ? {} : { id }),
    handler: "idempotency.test",
    trigger: { date: { run_date: { seconds: "4102444800" } } },
  },
});

function suite(createStore: () => Promise<TestStore>, nodeCount: number): void {
  let store: TestStore | undefined;
  const nodes: TestNode[] = [];
  const clients: GrpcJsClients[] = [];

  /** The clients of node `i` (modulo the nodes there are). */
  const on = (i: number): GrpcJsClients => {
    const c = clients[i % clients.length];
    if (!c) throw new Error("no clients");
    return c;
  };
  const firstNode = (): TestNode => {
    const n = nodes[0];
    if (!n) throw new Error("no node");
    return n;
  };

  const runsOf = async (jobId: string): Promise<Reply[]> =>
    ((await on(0).run("ListRuns", { job_id: jobId, page_size: 100 })).runs as
      Reply[] | undefined) ?? [];

  const newJob = async (): Promise<string> => {
    const id = `j${randomUUID().replaceAll("-", "")}`;
    await on(0).job("AddJob", farJob(id));
    return id;
  };

  beforeAll(async () => {
    store = await createStore();
    for (let i = 0; i < nodeCount; i++) {
      const node = await startTestNode(store.url, { METRONOME_NODE_ID: `node-${String(i)}` });
      nodes.push(node);
      clients.push(grpcJsClients(node.port));
    }
  }, 60_000);

  afterAll(async () => {
    for (const c of clients) c.close();
    for (const n of nodes) await n.stop();
    await store?.drop();
  }, 30_000);

  it("a repeated AddJob with the same key answers the first answer and adds one job", async () => {
    const count = async (): Promise<number> =>
      ((await on(0).job("ListJobs", { page_size: 1000 })).jobs as Reply[]).length;
    const before = await count();
    const md = key();
    // No id: each AddJob that applied would make a job of its own, under a new id.
    const first = await on(0).job("AddJob", farJob(), md);
    const again = await on(0).job("AddJob", farJob(), md);
    expect(again).toEqual(first);
    expect(await count()).toBe(before + 1);
    // A new key is a new call: a second job.
    const other = await on(0).job("AddJob", farJob(), key());
    expect((other.job as Reply).id).not.toBe((first.job as Reply).id);
    expect(await count()).toBe(before + 2);
  });

  it("AddJobs (one transaction per job, all claiming the key) applies once", async () => {
    const md = key();
    const prefix = `bulk${randomUUID().slice(0, 8)}`;
    const request = {
      jobs: Array.from({ length: 20 }, (_, i) => farJob(`${prefix}-${String(i)}`).job),
    };
    const first = await on(0).job("AddJobs", request, md);
    expect((first.results as Reply[]).map((r) => r.outcome)).toEqual(
      Array.from({ length: 20 }, () => "ADD_JOB_OUTCOME_CREATED"),
    );
    expect(await on(1).job("AddJobs", request, md)).toEqual(first);
    const listed = (await on(0).job("ListJobs", { id_prefix: prefix, page_size: 100 }))
      .jobs as Reply[];
    expect(listed).toHaveLength(20);
  });

  it("a repeat on another node gets the first answer", async () => {
    const jobId = await newJob();
    const md = key();
    const first = await on(0).job("RunJobNow", { job_id: jobId }, md);
    const again = await on(1).job("RunJobNow", { job_id: jobId }, md);
    expect(again).toEqual(first);
    expect(await runsOf(jobId)).toHaveLength(1);
  });

  it("refuses the same key with a different request or method, changing nothing", async () => {
    const jobId = await newJob();
    const md = key();
    await on(0).job("RunJobNow", { job_id: jobId }, md);
    const other = await newJob();
    const refused = await failure(on(1).job("RunJobNow", { job_id: other }, md));
    expect(refused.code).toBe("INVALID_ARGUMENT");
    expect(refused.details).toMatch(/^idempotency-key: this key was used for a different request/);
    expect(await runsOf(other)).toHaveLength(0);
    const method = await failure(on(0).job("PauseJob", { job_id: jobId }, md));
    expect(method.code).toBe("INVALID_ARGUMENT");
    expect(method.details).toContain(RUN_JOB_NOW);
    expect(((await on(0).job("GetJob", { job_id: jobId })).job as Reply).paused).toBe(false);
  });

  it("remembers a final refusal, not a retryable failure", async () => {
    const md = key();
    const missing = `j${randomUUID().replaceAll("-", "")}`;
    const first = await failure(on(0).job("RunJobNow", { job_id: missing }, md));
    expect(first.code).toBe("NOT_FOUND");
    // The job appears: the repeat still answers the first answer, and runs nothing.
    await on(0).job("AddJob", farJob(missing));
    const again = await failure(on(1).job("RunJobNow", { job_id: missing }, md));
    expect(again).toEqual(first);
    expect(await runsOf(missing)).toHaveLength(0);
  });

  it("applies concurrent calls with one key once", async () => {
    const jobId = await newJob();
    const md = key();
    const answers = await Promise.allSettled(
      Array.from({ length: 8 }, (_, i) => on(i).job("RunJobNow", { job_id: jobId }, md)),
    );
    expect(await runsOf(jobId)).toHaveLength(1);
    const ok = answers.flatMap((a) => (a.status === "fulfilled" ? [a.value] : []));
    expect(ok.length).toBeGreaterThan(0);
    for (const a of answers)
      if (a.status === "rejected") expect(described(a.reason).code).toBe("ABORTED");
    // Every answer given is the one run; a retry now gets it too.
    const runIds = new Set(ok.map((r) => (r.run as Reply).run_id));
    const [made] = await runsOf(jobId);
    expect(made?.run_id).toEqual(expect.any(String));
    expect([...runIds]).toEqual([made?.run_id]);
    const retried = await on(1).job("RunJobNow", { job_id: jobId }, md);
    expect((retried.run as Reply).run_id).toBe(made?.run_id);
    expect(await runsOf(jobId)).toHaveLength(1);
  });

  /** The record a keyed RunJobNow of `jobId` writes (the server hashes the request so). */
  const runNowCall = (jobId: string, deadlineAt: number): IdempotentCall => ({
    principal: ANONYMOUS_PRINCIPAL.actor,
    key: randomUUID(),
    method: RUN_JOB_NOW,
    requestHash: createHash("sha256")
      .update(toBinary(RunJobNowRequestSchema, create(RunJobNowRequestSchema, { jobId })))
      .digest("hex"),
    callId: randomUUID(),
    startedAt: Date.now(),
    deadlineAt,
    expiresAt: Date.now() + DAY_MS,
    settled: false,
  });

  it("never applies again a change whose COMMIT landed and whose answer was lost", async () => {
    const jobId = await newJob();
    // The first call's change commits with its key (through the node's use case, as the service
    // calls it); then its deadline passes before its answer is recorded: the answer is lost.
    const lost = runNowCall(jobId, Date.now() - 1);
    await withIdempotentCall(lost, () => firstNode().node.runs.runJobNow("default", jobId));
    expect(await runsOf(jobId)).toHaveLength(1);
    for (let i = 0; i < 2; i++) {
      const retry = await failure(
        on(i).job("RunJobNow", { job_id: jobId }, { "idempotency-key": lost.key }),
      );
      expect(retry.code).toBe("FAILED_PRECONDITION");
      expect(retry.details).toMatch(
        /committed its change .* but its answer was not recorded; it is not applied again/,
      );
    }
    expect(await runsOf(jobId)).toHaveLength(1);
  });

  it("answers ABORTED while the first call may still record its answer", async () => {
    const jobId = await newJob();
    const underWay = runNowCall(jobId, Date.now() + 60_000);
    await withIdempotentCall(underWay, () => firstNode().node.runs.runJobNow("default", jobId));
    const retry = await failure(
      on(1).job("RunJobNow", { job_id: jobId }, { "idempotency-key": underWay.key }),
    );
    expect(retry.code).toBe("ABORTED");
    expect(await runsOf(jobId)).toHaveLength(1);
  });

  it("drops expired records: retention deletes them, and the key is new again", async () => {
    const jobId = await newJob();
    const md = key();
    await on(0).job("RunJobNow", { job_id: jobId }, md);
    const records = firstNode().node.store.idempotency;
    if (!records) throw new Error("the store keeps no idempotency records");
    const principal = ANONYMOUS_PRINCIPAL.actor;
    const now = Date.now();
    expect(
      await records.getIdempotencyRecord(principal, md["idempotency-key"], now),
    ).not.toBeNull();
    // Not expired yet: nothing goes.
    expect(await records.deleteExpiredIdempotencyKeys(now, 1000)).toBe(0);
    expect(
      await records.getIdempotencyRecord(principal, md["idempotency-key"], now),
    ).not.toBeNull();
    // A day later (METRONOME_IDEMPOTENCY_RETENTION's default) it is gone.
    const later = now + DAY_MS + 1000;
    expect(await records.getIdempotencyRecord(principal, md["idempotency-key"], later)).toBeNull();
    expect(await records.deleteExpiredIdempotencyKeys(later, 1000)).toBeGreaterThan(0);
    expect(await records.getIdempotencyRecord(principal, md["idempotency-key"], now)).toBeNull();
    // The key is free: the same call applies again.
    await on(0).job("RunJobNow", { job_id: jobId }, md);
    expect(await runsOf(jobId)).toHaveLength(2);
  });

  it("refuses a malformed key, and a key on a call that changes nothing", async () => {
    const bad = await failure(on(0).job("AddJob", farJob(), { "idempotency-key": "has space" }));
    expect(bad.code).toBe("INVALID_ARGUMENT");
    expect(bad.details).toMatch(/^idempotency-key: must be 1 to 128 printable ASCII/);
    const read = await failure(on(0).job("ListJobs", { page_size: 1 }, key()));
    expect(read.code).toBe("INVALID_ARGUMENT");
    expect(read.details).toMatch(/ListJobs takes no key/);
  });
}

describe("idempotency keys on SQLite (one node)", () => {
  suite(() => createSqliteStore(), 1);
});
describeMysql("idempotency keys on MariaDB (two nodes)", () => {
  suite(() => createTestDatabase(), 2);
});
describePostgres("idempotency keys on PostgreSQL (two nodes)", () => {
  suite(() => createPostgresDatabase(), 2);
});

describeRedis("idempotency keys on Redis (two nodes)", () => {
  suite(() => createRedisStore(), 2);
});

describeRedisCluster("idempotency keys on a Redis Cluster", () => {
  let cluster: RedisCluster | undefined;
  let node: TestNode | undefined;
  let clients: GrpcJsClients | undefined;
  beforeAll(async () => {
    cluster = await startRedisCluster();
    node = await startTestNode(`${cluster.url}?prefix=metronome_idem:&shards=4`);
    clients = grpcJsClients(node.port);
  }, 60_000);
  afterAll(async () => {
    clients?.close();
    await node?.stop();
    await cluster?.stop();
  }, 30_000);

  it("refuses a keyed call with UNIMPLEMENTED and changes nothing", async () => {
    if (!clients) throw new Error("no clients");
    const refused = await failure(clients.job("AddJob", farJob("cluster-keyed"), key()));
    expect(refused.code).toBe("UNIMPLEMENTED");
    expect(refused.details).toMatch(/\(Redis Cluster\) does not support idempotency keys/);
    expect(await failure(clients.job("GetJob", { job_id: "cluster-keyed" }))).toMatchObject({
      code: "NOT_FOUND",
    });
    // Without a key the same call works.
    await clients.job("AddJob", farJob("cluster-keyed"));
  });
});

describe("idempotency keys: the engine's retention pass", () => {
  const clock = new ManualClock(Date.now());
  let store: TestStore | undefined;
  let node: TestNode | undefined;
  let clients: GrpcJsClients | undefined;
  beforeAll(async () => {
    store = await createSqliteStore();
    node = await startTestNode(store.url, { METRONOME_IDEMPOTENCY_RETENTION: "300" }, clock);
    clients = grpcJsClients(node.port);
  }, 60_000);
  afterAll(async () => {
    clients?.close();
    await node?.stop();
    await store?.drop();
  }, 30_000);

  it("deletes records once they expire, and not before", async () => {
    if (!clients || !node) throw new Error("not started");
    const records = node.node.store.idempotency;
    if (!records) throw new Error("the store keeps no idempotency records");
    const jobId = "retained";
    await clients.job("AddJob", farJob(jobId));
    const md = key();
    const started = clock.now();
    await clients.job("RunJobNow", { job_id: jobId }, md);
    const stored = () =>
      records.getIdempotencyRecord(ANONYMOUS_PRINCIPAL.actor, md["idempotency-key"], started);
    expect(await stored()).not.toBeNull();
    // A retention pass (a minute after the last) while the record is young: it stays.
    clock.advance(61_000);
    await node.node.engine.pass();
    expect(await stored()).not.toBeNull();
    // Past its 300 s, the next retention pass deletes it.
    clock.advance(240_000);
    await node.node.engine.pass();
    expect(await stored()).toBeNull();
  });
});
