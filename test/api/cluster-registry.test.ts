/**
 * ListNodes and ListWorkers on a three-node cluster (real `metronome serve` processes on one
 * MariaDB database) with SDK workers connected to two of the nodes: every node answers for the
 * whole cluster, a run in progress shows as a slot in use, and a node killed with SIGKILL drops
 * out (with its workers) once its node lease runs out. Waits are polls of the API.
 */
import { timestampMs, type Timestamp } from "@bufbuild/protobuf/wkt";
import { MetronomeClient, Worker } from "@metronome/sdk";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createTestDatabase, describeMysql } from "../support/mysql.js";
import { startServerProcess, type ServerProcess } from "../support/processes.js";

const ms = (t: Timestamp | undefined): number => (t === undefined ? Number.NaN : timestampMs(t));

/** Node records outlive their last refresh by this long (refreshed every third). */
const NODE_LEASE_S = 1.5;
const quiet = {
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  debug: () => undefined,
};

/** Calls `read` until `done` accepts its value (polling the API), or fails after `timeoutMs`. */
async function poll<T>(
  read: () => Promise<T>,
  done: (v: T) => boolean,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T = await read();
  while (!done(last)) {
    if (Date.now() > deadline)
      throw new Error(
        `not reached in ${timeoutMs} ms; last: ${JSON.stringify(last, (_k, v: unknown) => (typeof v === "bigint" ? String(v) : v))}`,
      );
    await new Promise((r) => setTimeout(r, 100));
    last = await read();
  }
  return last;
}

describeMysql("the cluster registry on three nodes", () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>> | undefined;
  const servers: ServerProcess[] = [];
  const clients: MetronomeClient[] = [];
  const workers: Worker[] = [];
  let release: () => void = () => undefined;

  beforeAll(async () => {
    const { url } = (db = await createTestDatabase());
    const started = await Promise.allSettled(
      ["node-a", "node-b", "node-c"].map((name) =>
        startServerProcess(name, url, {
          timeoutMs: 40_000,
          env: { METRONOME_NODE_LEASE: String(NODE_LEASE_S) },
        }),
      ),
    );
    for (const s of started) if (s.status === "fulfilled") servers.push(s.value);
    const failed = started.find((s) => s.status === "rejected");
    if (failed) throw failed.reason;
    for (const s of servers)
      clients.push(
        new MetronomeClient({ baseUrl: `http://127.0.0.1:${String(s.port)}`, logger: quiet }),
      );
    const [a, b] = servers as [ServerProcess, ServerProcess];
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const wa = new Worker({
      baseUrl: `http://127.0.0.1:${String(a.port)}`,
      workerId: "w-a",
      logger: quiet,
      maxConcurrency: 4,
    });
    wa.register("cluster.hold", () => held, { concurrency: 2 });
    wa.register("cluster.other", () => undefined);
    workers.push(wa);
    for (const id of ["w-b1", "w-b2"]) {
      const w = new Worker({
        baseUrl: `http://127.0.0.1:${String(b.port)}`,
        workerId: id,
        logger: quiet,
      });
      w.register("cluster.other", () => undefined);
      workers.push(w);
    }
    await Promise.all(workers.map((w) => w.start()));
  }, 60_000);

  afterAll(async () => {
    release();
    for (const c of clients) c.close();
    await Promise.all(workers.map((w) => w.stop()));
    await Promise.allSettled(servers.map((s) => s.stop()));
    await db?.drop();
  }, 40_000);

  it("every node lists the three nodes and the workers of two of them", async () => {
    for (const client of clients) {
      const { nodes } = await poll(
        () => client.cluster.listNodes({}),
        (r) =>
          r.nodes.length === 3 &&
          r.nodes.every(
            (n) => n.workerSessions === (n.nodeId === "node-a" ? 1 : n.nodeId === "node-b" ? 2 : 0),
          ),
      );
      expect(nodes.map((n) => n.nodeId)).toEqual(["node-a", "node-b", "node-c"]);
      for (const [i, n] of nodes.entries()) {
        expect(n.address).toBe(`127.0.0.1:${String(servers[i]?.port)}`);
        expect(n.role).toBe("scheduler");
        expect(n.state).toBe("serving");
        expect(n.version).toMatch(/^\d+\.\d+\.\d+/);
        const started = ms(n.startedAt);
        const seen = ms(n.lastSeen);
        expect(seen).toBeGreaterThanOrEqual(started);
        expect(ms(n.expiresAt) - seen).toBe(NODE_LEASE_S * 1000);
      }
      const { workers: listed } = await client.cluster.listWorkers({});
      expect(listed.map((w) => [w.nodeId, w.worker?.workerId])).toEqual([
        ["node-a", "w-a"],
        ["node-b", expect.stringMatching(/^w-b[12]$/)],
        ["node-b", expect.stringMatching(/^w-b[12]$/)],
      ]);
      const wa = listed[0];
      expect(wa?.worker?.maxConcurrency).toBe(4);
      expect(wa?.worker?.handlers.map((h) => [h.handler, h.maxConcurrency]).sort()).toEqual([
        ["cluster.hold", 2],
        ["cluster.other", 0],
      ]);
      expect(wa?.sdk).toMatch(/metronome/i);
      expect(wa?.draining).toBe(false);
      expect(ms(wa?.lastHeartbeat)).toBeGreaterThanOrEqual(ms(wa?.connectedAt));
      // Filters: by node, by handler.
      expect((await client.cluster.listWorkers({ nodeId: "node-b" })).workers).toHaveLength(2);
      const hold = await client.cluster.listWorkers({ handler: "cluster.hold" });
      expect(hold.workers.map((w) => w.worker?.workerId)).toEqual(["w-a"]);
    }
  });

  it("a run in progress is a slot in use of its worker, and a run in flight of its node", async () => {
    const [client] = clients as [MetronomeClient];
    await client.jobs.addJob({
      job: {
        id: "hold",
        handler: "cluster.hold",
        trigger: { kind: { case: "interval", value: { hours: 1 } } },
      },
    });
    await client.jobs.runJobNow({ jobId: "hold" });
    const { workers: listed } = await poll(
      () => client.cluster.listWorkers({ nodeId: "node-a" }),
      (r) => r.workers[0]?.slotsInUse === 1,
    );
    expect(listed).toHaveLength(1);
    const { nodes } = await client.cluster.listNodes({});
    expect(nodes.map((n) => n.runsInFlight)).toEqual([1, 0, 0]);
    release();
    await poll(
      () => client.cluster.listWorkers({ nodeId: "node-a" }),
      (r) => r.workers[0]?.slotsInUse === 0,
    );
  });

  it("a node killed with SIGKILL drops out with its workers after its lease", async () => {
    const [, b] = servers as [ServerProcess, ServerProcess];
    const [client] = clients as [MetronomeClient];
    await b.kill();
    const { nodes } = await poll(
      () => client.cluster.listNodes({}),
      (r) => !r.nodes.some((n) => n.nodeId === "node-b"),
    );
    expect(nodes.map((n) => n.nodeId)).toEqual(["node-a", "node-c"]);
    const { workers: listed } = await client.cluster.listWorkers({});
    expect(listed.map((w) => w.worker?.workerId)).toEqual(["w-a"]);
  });

  it("a node stopped with SIGTERM removes its record at once", async () => {
    const c = servers[2] as ServerProcess;
    const [client] = clients as [MetronomeClient];
    expect(await c.stop()).toEqual({ code: 0, signal: null });
    const { nodes } = await client.cluster.listNodes({});
    expect(nodes.map((n) => n.nodeId)).toEqual(["node-a"]);
  });
});
