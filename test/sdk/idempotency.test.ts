/**
 * The SDK's `idempotencyKey` option: a change retried with its key is applied once and answers
 * the first answer — also when the first answer was lost on the way back (a fault injected
 * between the client and the node drops it after the server answered).
 */
import { randomUUID } from "node:crypto";
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InvalidArgumentError, MetronomeClient, UnavailableError } from "@metronome/sdk";
import { startTestNode, type TestNode } from "../support/node.js";
import { createSqliteStore, type TestStore } from "../support/stores.js";

const quiet = { debug() {}, info() {}, warn() {}, error() {} };

describe("the SDK's idempotency keys", () => {
  let db: TestStore;
  let node: TestNode;
  let client: MetronomeClient;
  /** Answers of these methods to drop (the call reached the server, its answer is lost). */
  const lose = new Set<string>();

  beforeAll(async () => {
    db = await createSqliteStore();
    node = await startTestNode(db.url);
    const faults: Interceptor = (next) => async (req) => {
      const res = await next(req);
      if (lose.delete(req.method.name))
        throw new ConnectError("injected: the answer was lost", Code.Unavailable);
      return res;
    };
    client = new MetronomeClient({
      transport: createGrpcTransport({ baseUrl: node.url, interceptors: [faults] }),
      logger: quiet,
    });
  });
  afterAll(async () => {
    client.close();
    await node.stop();
    await db.drop();
  });

  it("addJob without an id, retried with its key after a lost answer, adds one job", async () => {
    const s = client.scheduler("idem-add");
    const idempotencyKey = randomUUID();
    const add = () => s.addJob("idem.noop", "interval", { hours: 1, idempotencyKey });
    lose.add("AddJob");
    await expect(add()).rejects.toBeInstanceOf(UnavailableError);
    const job = await add();
    expect(await add()).toEqual(job);
    expect((await s.getJobs()).map((j) => j.id)).toEqual([job.id]);
  });

  it("runJob, pauseJob and the scheduler's pause take a key", async () => {
    const s = client.scheduler("idem-run");
    const job = await s.addJob("idem.noop", "interval", { hours: 1, id: "j" });
    const key = { idempotencyKey: randomUUID() };
    lose.add("RunJobNow");
    await expect(s.runJob(job.id, key)).rejects.toBeInstanceOf(UnavailableError);
    const run = await s.runJob(job.id, key);
    expect(await s.runJob(job.id, key)).toEqual(run);
    expect(await s.getRuns({ jobId: job.id })).toHaveLength(1);
    // Without a key, each call is a new change.
    await s.runJob(job.id);
    expect(await s.getRuns({ jobId: job.id })).toHaveLength(2);

    const paused = await s.pauseJob(job.id, { idempotencyKey: randomUUID() });
    expect(paused.paused).toBe(true);
    await s.pause({ idempotencyKey: randomUUID() });
    await s.resume({ idempotencyKey: randomUUID() });
    // The same key for another change is refused, naming the header.
    const refused = s.removeJob(job.id, key);
    await expect(refused).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(refused).rejects.toThrow(/^idempotency-key: this key was used for/);
    expect((await s.getJob(job.id))?.id).toBe(job.id);
  });
});
