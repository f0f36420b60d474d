/**
 * A node cut off from PostgreSQL in the middle of a claim (a network partition: no reset, no
 * close, nothing gets through either way) must not keep the jobs it locked: the server ends its
 * session once it sat idle in its transaction for the store's limit
 * (`idle_in_transaction_session_timeout`), so another node claims them; and the cut-off node's
 * call fails UNAVAILABLE at its deadline instead of waiting for ever.
 *
 * The shared TcpProxy passes a close on (PostgreSQL would then roll back at once): this file's
 * proxy is silent both ways once the partition begins.
 */
import { once } from "node:events";
import net from "node:net";
import pg from "pg";
import { afterAll, afterEach, beforeAll, expect, it } from "vitest";
import type { Job } from "../../server/src/domain/jobs.js";
import { withDeadline } from "../../server/src/lib/deadline.js";
import { isUnavailable } from "../../server/src/store/errors.js";
import type { PlanFn } from "../../server/src/store/port.js";
import { PostgresStore } from "../../server/src/store/postgres/store.js";
import { job, pendingRun, S, T0 } from "./contract/fixtures.js";
import { createPostgresDatabase, describePostgres } from "../support/postgres.js";

/** The idle-in-transaction limit of both nodes' sessions here (the default is 30 s). */
const IDLE_LIMIT_MS = 1500;

/** A job's next_run_time becomes one run; the job moves a minute on. */
const plan: PlanFn = (j: Job) => {
  const at = j.nextRunTime ?? 0;
  return { runs: [pendingRun(j, at)], nextRunTime: at + 60 * S };
};

/** The locking statement of a claim (sql/firing/claim-due-jobs.ts) as it goes on the wire. */
const CLAIM = /FROM "jobs" WHERE[^]*FOR UPDATE SKIP LOCKED/;

/**
 * Forwards both ways until a client sends a claim's locking statement; the answer to it still
 * comes back, and from the client's next message on nothing is forwarded either way and no close
 * is passed on (`partitioned` resolves then).
 */
class PartitionProxy {
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();
  private state: "open" | "locked" | "partitioned" = "open";
  readonly partitioned: Promise<void>;
  private began: () => void = () => undefined;

  private constructor(target: { host: string; port: number }) {
    this.partitioned = new Promise((resolve) => {
      this.began = resolve;
    });
    this.server = net.createServer((client) => {
      const upstream = net.connect(target);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on("error", () => undefined);
      }
      // Before the partition a close goes through; after it, neither side hears of the other.
      client.on("close", () => {
        if (this.state !== "partitioned") upstream.destroy();
      });
      upstream.on("close", () => {
        if (this.state !== "partitioned") client.destroy();
      });
      let tail = "";
      client.on("data", (chunk: Buffer) => {
        if (this.state === "locked") {
          this.state = "partitioned";
          this.began();
        }
        if (this.state === "partitioned") return;
        const seen = tail + chunk.toString("latin1");
        tail = seen.slice(-200);
        upstream.write(chunk);
        if (CLAIM.test(seen)) this.state = "locked";
      });
      upstream.on("data", (chunk: Buffer) => {
        if (this.state !== "partitioned") client.write(chunk);
      });
    });
  }

  static async start(target: { host: string; port: number }): Promise<PartitionProxy> {
    const proxy = new PartitionProxy(target);
    proxy.server.listen(0, "127.0.0.1");
    await once(proxy.server, "listening");
    return proxy;
  }

  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => {
      this.server.close(() => {
        resolve();
      });
    });
  }
}

describePostgres("PostgreSQL: a node partitioned mid-claim", () => {
  let db: Awaited<ReturnType<typeof createPostgresDatabase>>;
  let b: PostgresStore;
  let a: PostgresStore | undefined;
  let proxy: PartitionProxy | undefined;
  let probe: pg.Client | undefined;

  beforeAll(async () => {
    db = await createPostgresDatabase();
    b = PostgresStore.open(db.url, { idleInTransactionTimeoutMs: IDLE_LIMIT_MS });
    await b.migrate();
  });

  afterEach(async () => {
    await probe?.end().catch(() => undefined);
    probe = undefined;
    await proxy?.close();
    proxy = undefined;
    // A's connections hang on the silent proxy: its pools are dropped without waiting for them.
    void a?.close().catch(() => undefined);
    a = undefined;
  });

  afterAll(async () => {
    await b.close();
    await db.drop();
  });

  /** Node A's store, through a fresh partitioning proxy. */
  async function nodeA(): Promise<{ store: PostgresStore; partitioned: Promise<void> }> {
    const url = new URL(db.url);
    const p = await PartitionProxy.start({ host: url.hostname, port: Number(url.port || 5432) });
    proxy = p;
    url.host = `127.0.0.1:${String(p.port)}`;
    a = PostgresStore.open(url.toString(), { idleInTransactionTimeoutMs: IDLE_LIMIT_MS });
    return { store: a, partitioned: p.partitioned };
  }

  /**
   * Waits, on a connection of its own, for the row lock on the job (the server frees it when it
   * ends the partitioned session), 10 s at most: then the lock wait fails.
   */
  async function rowLockFreed(scheduler: string, id: string): Promise<void> {
    probe = new pg.Client({ connectionString: db.url });
    probe.on("error", () => undefined);
    await probe.connect();
    await probe.query("SET lock_timeout = '10s'");
    await probe.query("BEGIN");
    await probe.query('SELECT 1 FROM "jobs" WHERE "scheduler" = $1 AND "id" = $2 FOR UPDATE', [
      scheduler,
      id,
    ]);
    await probe.query("ROLLBACK");
  }

  it("the server ends the cut-off claim's session: another node claims the job; the cut-off call fails UNAVAILABLE at its deadline", async () => {
    const s = "partition-claim";
    await b.insertJob(job("fires", { scheduler: s, nextRunTime: T0 }));
    const { store: nodeAStore, partitioned } = await nodeA();

    const started = Date.now();
    const claimA = withDeadline(started + 3000, () =>
      nodeAStore.claimDueJobs({ horizon: T0, limit: 10, plan }),
    ).then(
      () => "claimed",
      (err: unknown) => err,
    );
    expect(await Promise.race([partitioned.then(() => "partitioned"), claimA])).toBe("partitioned");

    // The job is locked by A's transaction until the server ends A's session.
    expect((await b.claimDueJobs({ horizon: T0, limit: 10, plan })).jobs).toBe(0);
    await rowLockFreed(s, "fires");
    const claimedB = await b.claimDueJobs({ horizon: T0, limit: 10, plan });
    expect(claimedB.jobs).toBe(1);
    expect(claimedB.runs.map((r) => [r.jobId, r.scheduledTime])).toEqual([["fires", T0]]);

    const failure = await claimA;
    expect(isUnavailable(failure)).toBe(true);
    expect((await b.getJob(s, "fires"))?.nextRunTime).toBe(T0 + 60 * S);
  });
});
