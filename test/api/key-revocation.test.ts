/**
 * Revoking an API key takes effect on every node within 5 s, open streams included
 * (docs/security.md): two nodes on one MariaDB database; a worker session and an event
 * subscription opened with a key through node B end with UNAUTHENTICATED once the key is revoked
 * through node A, and node B refuses the key's next call.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { EventService } from "../../server/src/gen/metronome/v1/event_service_pb.js";
import { JobService } from "../../server/src/gen/metronome/v1/job_service_pb.js";
import { KeyService } from "../../server/src/gen/metronome/v1/key_service_pb.js";
import {
  WorkerService,
  type SessionRequest,
} from "../../server/src/gen/metronome/v1/worker_service_pb.js";
import { createTestDatabase, describeMysql } from "../support/mysql.js";
import { startTestNode, type TestNode } from "../support/node.js";

const TOKEN = "revocation-admin-token";

async function* hello(stop: AbortSignal): AsyncIterable<SessionRequest> {
  yield {
    $typeName: "metronome.v1.SessionRequest",
    payload: {
      case: "hello",
      value: {
        $typeName: "metronome.v1.WorkerHello",
        workerId: "w-revoked",
        handlers: [
          { $typeName: "metronome.v1.HandlerRegistration", handler: "h1", maxConcurrency: 1 },
        ],
        maxConcurrency: 1,
        labels: {},
        resumedLeases: [],
        acceptsEarly: false,
        acceptsBatches: false,
      },
    },
  } as unknown as SessionRequest;
  await new Promise((resolve) => {
    stop.addEventListener("abort", resolve);
  });
}

/** Reads a stream until it ends; answers its error code and when it ended. */
async function endOf(
  stream: AsyncIterable<unknown>,
  opened: () => void,
): Promise<{ code: Code | "OK"; at: number }> {
  try {
    for await (const message of stream) if (message !== undefined) opened();
    return { code: "OK", at: performance.now() };
  } catch (err) {
    return { code: ConnectError.from(err).code, at: performance.now() };
  }
}

describeMysql("revoking a key on one node ends its streams on another", () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let a: TestNode;
  let b: TestNode;

  beforeAll(async () => {
    db = await createTestDatabase("metronome_revoke");
    a = await startTestNode(db.url, { METRONOME_AUTH_TOKENS: TOKEN, METRONOME_NODE_ID: "node-a" });
    b = await startTestNode(db.url, { METRONOME_AUTH_TOKENS: TOKEN, METRONOME_NODE_ID: "node-b" });
  });
  afterAll(async () => {
    await b.stop();
    await a.stop();
    await db.drop();
  });

  it("ends the worker session and the subscription within 5 s", async () => {
    const admin = { authorization: `Bearer ${TOKEN}` };
    const keysA = createClient(
      KeyService,
      createGrpcTransport({
        baseUrl: a.url,
        interceptors: [
          (next) => (req) => {
            req.header.set("authorization", admin.authorization);
            return next(req);
          },
        ],
      }),
    );
    const made = await keysA.createKey({
      name: "worker",
      scopes: ["worker:h1", "events:s1", "read:s1"],
    });
    const viaB = createGrpcTransport({
      baseUrl: b.url,
      interceptors: [
        (next) => (req) => {
          req.header.set("authorization", `Bearer ${made.secret}`);
          return next(req);
        },
      ],
    });
    // The key works on node B (read once by id: B has not refreshed since it was made).
    await createClient(JobService, viaB).listJobs({ scheduler: "s1" });

    const stop = new AbortController();
    let sessionOpen!: () => void;
    let subscriptionOpen!: () => void;
    const sessionOpened = new Promise<void>((r) => (sessionOpen = r));
    const subscriptionOpened = new Promise<void>((r) => (subscriptionOpen = r));
    const session = endOf(
      createClient(WorkerService, viaB).session(hello(stop.signal)),
      sessionOpen,
    );
    const subscription = endOf(
      createClient(EventService, viaB).subscribe({ filter: { schedulers: ["s1"] } }),
      subscriptionOpen,
    );
    await Promise.all([sessionOpened, subscriptionOpened]);

    const revokedAt = performance.now();
    const revoked = await keysA.revokeKey({ keyId: made.key?.keyId ?? "" });
    expect(revoked.key?.revokedBy).toBe("env:1");
    const [s, e] = await Promise.all([session, subscription]);
    stop.abort();
    expect(s.code).toBe(Code.Unauthenticated);
    expect(e.code).toBe(Code.Unauthenticated);
    expect(s.at - revokedAt).toBeLessThan(5000);
    expect(e.at - revokedAt).toBeLessThan(5000);
    // And the key's next call on node B is refused.
    await expect(
      createClient(JobService, viaB).listJobs({ scheduler: "s1" }),
    ).rejects.toMatchObject({
      code: Code.Unauthenticated,
    });
  });
});
