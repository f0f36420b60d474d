/**
 * A job whose fires cannot run is said where the user looks: Job.worker_count in AddJob,
 * GetJob and ListJobs (from the live worker sessions of every node), a job_at_risk event ahead
 * of a fire that cannot run (no worker for its handler, or its scheduler paused) at most once
 * per job and reason per hour, and one log line per unserved handler. Real nodes over
 * @grpc/grpc-js, raw worker sessions, a manual clock; on SQLite and on MariaDB (where two nodes
 * share the worker sessions through the store).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Clock } from "../../server/src/clock.js";
import { systemClock } from "../../server/src/clock.js";
import { loadConfig } from "../../server/src/config/load.js";
import { AT_RISK_REPEAT_MS } from "../../server/src/engine/at-risk.js";
import { startNode, type Node } from "../../server/src/server.js";
import { ManualClock } from "../support/clock.js";
import {
  grpcJsClients,
  msOf,
  rawSubscription,
  rawWorkerSession,
  timestamp as ts,
  type GrpcJsClients,
  type RawSession,
  type RawSubscription,
  type Reply,
} from "../support/grpc-js.js";
import { createTestDatabase, describeMysql } from "../support/mysql.js";

const T0 = Date.parse("2026-06-01T00:00:00Z");
const S = 1000;
const NO_WORKER = "no connected worker serves the handler";
const PAUSED = "the scheduler is paused";

/** A node in this process whose log lines the test reads. */
interface LoggedNode {
  readonly node: Node;
  readonly port: number;
  readonly lines: Record<string, unknown>[];
  stop(): Promise<void>;
}

async function startLoggedNode(
  storeUrl: string,
  nodeId: string,
  clock: Clock,
  env: Record<string, string> = {},
): Promise<LoggedNode> {
  const config = loadConfig({
    env: {
      SCHEDULER__JOBSTORE_URL: storeUrl,
      METRONOME_HOST: "127.0.0.1",
      METRONOME_PORT: "0",
      METRONOME_SHUTDOWN_GRACE: "1",
      METRONOME_NODE_ID: nodeId,
      ...env,
    },
  });
  const lines: Record<string, unknown>[] = [];
  const log = pino(
    { level: "info" },
    {
      write: (line: string) => {
        lines.push(JSON.parse(line) as Record<string, unknown>);
      },
    },
  );
  const node = await startNode(config, log, clock);
  return { node, port: node.listener.address.port, lines, stop: () => node.stop() };
}

interface TestStore {
  readonly url: string;
  drop(): Promise<void>;
}

function sqliteStore(): Promise<TestStore> {
  const dir = mkdtempSync(join(tmpdir(), "metronome-at-risk-"));
  return Promise.resolve({
    url: `sqlite:///${join(dir, "metronome.db")}`,
    drop: () => {
      rmSync(dir, { recursive: true, force: true });
      return Promise.resolve();
    },
  });
}

describe("fires at risk on the embedded SQLite store", () => {
  atRisk(sqliteStore);
});

describeMysql("fires at risk on MariaDB", () => {
  atRisk(() => createTestDatabase("metronome_at_risk"));
});

function atRisk(makeStore: () => Promise<TestStore>): void {
  let db: TestStore;
  let n: LoggedNode;
  let c: GrpcJsClients;
  const clock = new ManualClock(T0);
  const open: { close(): void }[] = [];

  beforeAll(async () => {
    db = await makeStore();
    n = await startLoggedNode(db.url, "node-1", clock, {
      METRONOME_POLL_INTERVAL: "60",
      METRONOME_LEASE_DURATION: "600",
    });
    c = grpcJsClients(n.port);
  });
  afterAll(async () => {
    for (const o of open) o.close();
    c.close();
    await n.stop();
    await db.drop();
  });

  const subscribe = (filter: object): RawSubscription => {
    const sub = rawSubscription(n.port, { from_now: true, filter });
    open.push({
      close: () => {
        sub.cancel();
      },
    });
    return sub;
  };
  /** The next `count` events of a subscription. */
  const events = async (sub: RawSubscription, count: number) =>
    (await sub.events((got) => got.length >= count)).slice(0, count);

  const worker = async (id: string, handler: string): Promise<RawSession> => {
    const s = rawWorkerSession(n.port);
    open.push(s);
    s.send({ hello: { worker_id: id, handlers: [{ handler }], max_concurrency: 1 } });
    expect((await s.next()).payload).toBe("welcome");
    return s;
  };
  const count = async (id: string, scheduler = "default") =>
    ((await c.job("GetJob", { scheduler, job_id: id })).job as Reply).worker_count;

  it("worker_count says whether a worker serves the handler, and flips with the sessions", async () => {
    const connected = subscribe({
      types: ["EVENT_TYPE_WORKER_CONNECTED", "EVENT_TYPE_WORKER_DISCONNECTED"],
      handlers: ["count.h"],
    });
    expect(await connected.next()).toMatchObject({ live: true });
    const added = await c.job("AddJob", {
      job: { id: "counted", handler: "count.h", trigger: { cron: { hour: "3" } } },
    });
    expect(added.job).toMatchObject({ id: "counted", worker_count: 0 });
    // The unserved handler is logged once, naming it and the consequence.
    const logged = () =>
      n.lines.filter(
        (l) => l.handler === "count.h" && /no connected worker serves/.test(String(l.msg)),
      );
    expect(logged()).toHaveLength(1);
    expect(logged()[0]?.msg).toBe(
      "no connected worker serves handler count.h: runs of its jobs wait, and are recorded as missed once their misfire grace passes, until a worker registers it",
    );
    await c.job("AddJob", {
      job: { id: "counted2", handler: "count.h", trigger: { cron: { hour: "4" } } },
    });
    expect(logged()).toHaveLength(1);

    const w1 = await worker("w-count-1", "count.h");
    await events(connected, 1);
    expect(await count("counted")).toBe(1);
    const w2 = await worker("w-count-2", "count.h");
    await events(connected, 1);
    const listed = (await c.job("ListJobs", { id_prefix: "counted" })).jobs as Reply[];
    expect(listed.map((j) => [j.id, j.worker_count])).toEqual([
      ["counted", 2],
      ["counted2", 2],
    ]);
    // A draining worker takes no more runs: it no longer counts (the drain is handled before
    // the server answers the result sent after it).
    w2.send({ drain: {} });
    w2.send({ result: { lease: { run_id: "none", attempt: 1, lease_token: "x" }, success: {} } });
    expect((await w2.next()).payload).toBe("result_rejected");
    expect(await count("counted")).toBe(1);
    expect(await w2.end()).toBe(0);
    expect(await w1.end()).toBe(0);
    await events(connected, 2);
    expect(await count("counted")).toBe(0);
  });

  it("job_at_risk comes ahead of a fire no worker can run, once per job and hour, again after a worker served it", async () => {
    const sub = subscribe({
      job_ids: ["risky", "marker"],
      types: ["EVENT_TYPE_JOB_AT_RISK", "EVENT_TYPE_JOB_ADDED"],
    });
    expect(await sub.next()).toMatchObject({ live: true });
    const start = clock.now();
    await c.job("AddJob", {
      job: {
        id: "risky",
        handler: "risky.h",
        trigger: { interval: { seconds: 10, start_date: ts(start + 10 * S) } },
        // The late runs it is handed below are still running at +60 s: with max_instances 1, that
        // fire time would be skipped (docs/guarantees.md), not handed out after them.
        max_instances: 10,
      },
    });
    const [added] = await events(sub, 1);
    expect(added?.type).toBe("EVENT_TYPE_JOB_ADDED");

    // The claim, 2 s ahead of the fire time, sees no worker for the handler.
    clock.set(start + 9 * S);
    await n.node.engine.pass();
    const [risk] = await events(sub, 1);
    expect(risk).toMatchObject({
      type: "EVENT_TYPE_JOB_AT_RISK",
      scheduler: "default",
      job_id: "risky",
      handler: "risky.h",
      reason: NO_WORKER,
      node_id: "node-1",
      manual: false,
    });
    expect(risk?.run_id).not.toBe("");
    expect(msOf(risk?.scheduled_time as Reply)).toBe(start + 10 * S);
    const run = (await c.run("GetRun", { run_id: risk?.run_id })).run as Reply;
    expect(run).toMatchObject({ job_id: "risky", status: "RUN_STATUS_PENDING" });

    // The next fire times, within the hour: no second event (the marker job's comes next).
    for (let t = 19; t <= 49; t += 10) {
      clock.set(start + t * S);
      await n.node.engine.pass();
    }
    await c.job("AddJob", {
      job: { id: "marker", handler: "risky.h", trigger: { cron: { hour: "3" } } },
    });
    expect((await events(sub, 1))[0]).toMatchObject({
      type: "EVENT_TYPE_JOB_ADDED",
      job_id: "marker",
    });

    // A worker serves the handler for one fire; after it leaves, the next fire warns again.
    const w = await worker("w-risky", "risky.h");
    clock.set(start + 59 * S); // the claim of the fire at +60 s finds the worker
    await n.node.engine.pass();
    clock.set(start + 60 * S);
    await n.node.engine.pass();
    // It is handed the runs still waiting (+10 s … +50 s, within their grace), then +60 s.
    for (;;) {
      const m = await w.next();
      if (m.payload !== "assignment") continue;
      const a = m.assignment as Reply;
      w.send({ result: { lease: a.lease, success: {} } });
      if (msOf(a.scheduled_time as Reply) === start + 60 * S) break;
    }
    expect(await w.end()).toBe(0);
    clock.set(start + 69 * S);
    await n.node.engine.pass();
    const [again] = await events(sub, 1);
    expect(again).toMatchObject({ type: "EVENT_TYPE_JOB_AT_RISK", reason: NO_WORKER });
    expect(msOf(again?.scheduled_time as Reply)).toBe(start + 70 * S);

    // And once an hour while nothing changes.
    clock.set(start + 69 * S + AT_RISK_REPEAT_MS);
    await n.node.engine.pass();
    const [hourly] = await events(sub, 1);
    expect(hourly).toMatchObject({ type: "EVENT_TYPE_JOB_AT_RISK", job_id: "risky" });
    expect(msOf(hourly?.scheduled_time as Reply)).toBeGreaterThan(start + AT_RISK_REPEAT_MS);
    await c.job("RemoveJob", { job_id: "risky" });
  });

  it("job_at_risk for jobs due in a paused scheduler, and for a manual run no worker serves", async () => {
    const sub = subscribe({ schedulers: ["quiet"], types: ["EVENT_TYPE_JOB_AT_RISK"] });
    expect(await sub.next()).toMatchObject({ live: true });
    const start = clock.now();
    await c.job("AddJob", {
      job: {
        scheduler: "quiet",
        id: "held",
        handler: "quiet.h",
        trigger: { interval: { seconds: 30, start_date: ts(start + 30 * S) } },
      },
    });
    await c.scheduler("PauseScheduler", { name: "quiet" });
    clock.set(start + 29 * S);
    await n.node.engine.pass();
    const [paused] = await events(sub, 1);
    expect(paused).toMatchObject({
      type: "EVENT_TYPE_JOB_AT_RISK",
      scheduler: "quiet",
      job_id: "held",
      handler: "quiet.h",
      run_id: "",
      reason: PAUSED,
    });
    expect(msOf(paused?.scheduled_time as Reply)).toBe(start + 30 * S);

    // A paused scheduler creates no runs, manual ones included: RunJobNow is refused.
    await expect(c.job("RunJobNow", { scheduler: "quiet", job_id: "held" })).rejects.toMatchObject({
      code: 9, // FAILED_PRECONDITION
    });
    await c.scheduler("ResumeScheduler", { name: "quiet" });
    const { run: second } = (await c.job("RunJobNow", { scheduler: "quiet", job_id: "held" })) as {
      run: Reply;
    };
    // Resumed, the job's own fire time (due now) may be claimed first: it has no worker either.
    const after = await sub.events((got) => got.some((e) => e.run_id === second.run_id));
    for (const e of after)
      expect(e).toMatchObject(
        e.run_id === second.run_id
          ? { job_id: "held", manual: true, reason: NO_WORKER }
          : { job_id: "held", manual: false, reason: NO_WORKER },
      );
    await c.job("RemoveAllJobs", { scheduler: "quiet" });
  });
}

describeMysql("worker_count across two nodes on MariaDB", () => {
  let db: TestStore;
  let a: LoggedNode;
  let b: LoggedNode;
  let ca: GrpcJsClients;
  let cb: GrpcJsClients;
  const open: { close(): void }[] = [];

  beforeAll(async () => {
    db = await createTestDatabase("metronome_at_risk_nodes");
    a = await startLoggedNode(db.url, "node-a", systemClock);
    b = await startLoggedNode(db.url, "node-b", systemClock);
    ca = grpcJsClients(a.port);
    cb = grpcJsClients(b.port);
  });
  afterAll(async () => {
    for (const o of open) o.close();
    ca.close();
    cb.close();
    await a.stop();
    await b.stop();
    await db.drop();
  });

  it("a worker on one node counts in the answers of the other, until it leaves", async () => {
    await ca.job("AddJob", {
      job: { id: "shared", handler: "shared.h", trigger: { cron: { hour: "3" } } },
    });
    // Node b's subscription sees the worker events once they are committed, with the session.
    const sub = rawSubscription(b.port, {
      from_now: true,
      filter: {
        handlers: ["shared.h"],
        types: ["EVENT_TYPE_WORKER_CONNECTED", "EVENT_TYPE_WORKER_DISCONNECTED"],
      },
    });
    open.push({
      close: () => {
        sub.cancel();
      },
    });
    expect(await sub.next()).toMatchObject({ live: true });
    const get = async (c: GrpcJsClients) =>
      ((await c.job("GetJob", { job_id: "shared" })).job as Reply).worker_count;
    expect([await get(ca), await get(cb)]).toEqual([0, 0]);

    const w = rawWorkerSession(a.port);
    open.push(w);
    w.send({
      hello: { worker_id: "w-shared", handlers: [{ handler: "shared.h" }], max_concurrency: 1 },
    });
    expect((await w.next()).payload).toBe("welcome");
    await sub.events((got) => got.length >= 1);
    expect([await get(ca), await get(cb)]).toEqual([1, 1]);
    // AddJob's answer counts it too, on the node that has it and on the other one.
    const add = async (c: GrpcJsClients, id: string) =>
      (
        (
          await c.job("AddJob", {
            job: { id, handler: "shared.h", trigger: { cron: { hour: "3" } } },
          })
        ).job as Reply
      ).worker_count;
    expect([await add(ca, "added-on-a"), await add(cb, "added-on-b")]).toEqual([1, 1]);
    const bulk = (await cb.job("AddJobs", {
      jobs: [{ id: "bulk-on-b", handler: "shared.h", trigger: { cron: { hour: "3" } } }],
    })) as { results: { job: Reply }[] };
    expect(bulk.results.map((r) => r.job.worker_count)).toEqual([1]);

    expect(await w.end()).toBe(0);
    await sub.events((got) => got.length >= 1);
    expect([await get(ca), await get(cb)]).toEqual([0, 0]);
  });
});
