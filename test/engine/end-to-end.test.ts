/**
 * End to end with real processes: a `metronome serve` process, on the embedded SQLite store and
 * on MariaDB, and two worker processes built on the TypeScript SDK. Date, interval and cron jobs fire at their instants,
 * args and kwargs arrive intact, results and errors are recorded, and a worker killed mid-run
 * has its run retried on the other worker once its lease expires. Real time is used with short
 * intervals; every wait has a generous deadline and no assertion depends on speed.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import {
  grpcJsClients,
  list,
  struct,
  unvalue,
  type GrpcJsClients,
  type Reply,
  timestamp as ts,
  msOf,
} from "../support/grpc-js.js";
import { describeEachStore } from "../support/mysql.js";
import { startServerProcess, type ServerProcess } from "../support/processes.js";
import type { TestStore } from "../support/stores.js";
import { startWorkerProcess, type WorkerProcess } from "../support/worker-process.js";

const LEASE_S = 2;

describeEachStore(
  "end to end: server and SDK worker processes",
  (createStore) => {
    let db: TestStore;
    let server: ServerProcess;
    let c: GrpcJsClients;
    const workers: WorkerProcess[] = [];

    beforeAll(async () => {
      db = await createStore();
      server = await startServerProcess("e2e-node", db.url, {
        env: { METRONOME_LEASE_DURATION: String(LEASE_S), METRONOME_POLL_INTERVAL: "0.2" },
        timeoutMs: 60_000,
      });
      c = grpcJsClients(server.port);
      for (const id of ["worker-a", "worker-b"]) {
        workers.push(
          await startWorkerProcess({
            url: `http://127.0.0.1:${String(server.port)}`,
            handlers: ["e2e.echo", "e2e.fail", "e2e.fatal", "e2e.sleep"],
            concurrency: 4,
            id,
          }),
        );
      }
    }, 120_000);

    afterAll(async () => {
      await Promise.all(workers.map((w) => w.stop()));
      c.close();
      await server.stop();
      await db.drop();
    }, 60_000);

    async function runsOf(jobId: string): Promise<Reply[]> {
      const page = await c.run("ListRuns", { job_id: jobId });
      return ((page.runs ?? []) as Reply[]).reverse();
    }

    /** Polls ListRuns until `enough` holds for the job's runs. */
    async function waitForRuns(jobId: string, enough: (rs: Reply[]) => boolean): Promise<Reply[]> {
      const deadline = Date.now() + 30_000;
      for (;;) {
        const rs = await Promise.race([runsOf(jobId), server.crashed]);
        if (enough(rs)) return rs;
        if (Date.now() > deadline) throw new Error(`runs of ${jobId}: ${JSON.stringify(rs)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }

    const finished = (n: number) => (rs: Reply[]) =>
      rs.filter((r) => !["RUN_STATUS_PENDING", "RUN_STATUS_RUNNING"].includes(String(r.status)))
        .length >= n;

    const executions = () => workers.flatMap((w) => w.executions());

    it("a date job fires at its instant with args and kwargs intact; the result is recorded", async () => {
      const runDate = Date.now() + 1500;
      const args = ["report", 42, 2.5, true, null, ["nested", { deep: 1 }]];
      const kwargs = { user: "u-1", 数据: { list: [1, 2] }, flag: false };
      await c.job("AddJob", {
        job: {
          id: "date-echo",
          handler: "e2e.echo",
          trigger: { date: { run_date: ts(runDate) } },
          args: list(args),
          kwargs: struct(kwargs),
        },
      });
      const [run] = await waitForRuns("date-echo", finished(1));
      expect(run).toMatchObject({ status: "RUN_STATUS_SUCCEEDED", attempt: 1 });
      expect(msOf(run?.scheduled_time as Reply)).toBe(runDate);
      expect(unvalue(run?.result as Reply)).toEqual({ args, kwargs });
      const exec = executions().find((e) => e.runId === run?.run_id);
      expect(exec?.started).toBeGreaterThanOrEqual(runDate);
      expect(exec?.scheduledTime).toBe(runDate);
    });

    it("an interval job fires on its grid, once per fire time", async () => {
      const start = Math.ceil((Date.now() + 1000) / 1000) * 1000;
      await c.job("AddJob", {
        job: {
          id: "every-second",
          handler: "e2e.echo",
          trigger: { interval: { seconds: 1, start_date: ts(start) } },
        },
      });
      const rs = await waitForRuns("every-second", finished(3));
      await c.job("RemoveJob", { job_id: "every-second" });
      const times = rs.slice(0, 3).map((r) => msOf(r.scheduled_time as Reply));
      expect(times).toEqual([start, start + 1000, start + 2000]);
      for (const r of rs.slice(0, 3)) expect(r.status).toBe("RUN_STATUS_SUCCEEDED");
      const started = executions().filter((e) => e.jobId === "every-second");
      expect(new Set(started.map((e) => e.scheduledTime)).size).toBe(started.length); // no duplicates
      for (const e of started) expect(e.started).toBeGreaterThanOrEqual(e.scheduledTime);
    });

    it("a cron job fires at the seconds its fields name", async () => {
      await c.job("AddJob", {
        job: { id: "cron-even", handler: "e2e.echo", trigger: { cron: { second: "*/2" } } },
      });
      const rs = await waitForRuns("cron-even", finished(2));
      await c.job("RemoveJob", { job_id: "cron-even" });
      const [a, b] = rs.map((r) => msOf(r.scheduled_time as Reply));
      expect((a ?? 1) % 2000).toBe(0);
      expect((b ?? 0) - (a ?? 0)).toBe(2000);
    });

    it("a handler's error is recorded with its message and type", async () => {
      await c.job("AddJob", {
        job: {
          id: "fails",
          handler: "e2e.fail",
          trigger: { cron: { hour: "0", minute: "0" } },
          kwargs: struct({ message: "upstream said 503" }),
        },
      });
      await c.job("RunJobNow", { job_id: "fails" });
      const [run] = await waitForRuns("fails", finished(1));
      expect(run).toMatchObject({
        status: "RUN_STATUS_FAILED",
        error: { message: "upstream said 503", type: "Error" },
      });
      expect(String((run?.error as Reply).stack)).toContain("upstream said 503");
    });

    it("an error the handler marks as not retryable fails the run despite its retry policy", async () => {
      await c.job("AddJob", {
        job: {
          id: "fatal",
          handler: "e2e.fatal",
          trigger: { cron: { hour: "0", minute: "0" } },
          retry_policy: { max_attempts: 5 },
        },
      });
      await c.job("RunJobNow", { job_id: "fatal" });
      const [run] = await waitForRuns("fatal", finished(1));
      expect(run).toMatchObject({
        status: "RUN_STATUS_FAILED",
        attempt: 1,
        error: { type: "NonRetryableError", non_retryable: true },
      });
    });

    it("a worker killed mid-run: the run is retried on the other worker after its lease expires", async () => {
      await c.job("AddJob", {
        job: {
          id: "long",
          handler: "e2e.sleep",
          trigger: { cron: { hour: "0", minute: "0" } },
          kwargs: struct({ ms: 600_000 }),
          retry_policy: { max_attempts: 2, initial_backoff: { seconds: "0" } },
        },
      });
      const run = (await c.job("RunJobNow", { job_id: "long" })).run as Reply;
      const runId = String(run.run_id);
      const [running] = await waitForRuns("long", (rs) => rs[0]?.status === "RUN_STATUS_RUNNING");
      // When the server started the first attempt (and its lease), as it recorded it.
      const firstStarted = msOf((running as Reply).started_at as Reply);
      await (async () => {
        for (;;) {
          const e = executions().find((x) => x.runId === runId);
          if (e) return e;
          await new Promise((r) => setTimeout(r, 50));
        }
      })();
      const victim = workers.find((w) => w.executions().some((e) => e.runId === runId));
      if (!victim) throw new Error("no worker ran it");
      await victim.kill();
      workers.splice(workers.indexOf(victim), 1);
      const survivor = workers[0] as WorkerProcess;
      const retried = await (async () => {
        const deadline = Date.now() + 30_000;
        for (;;) {
          const e = survivor.executions().find((x) => x.runId === runId && x.attempt === 2);
          if (e) return e;
          if (Date.now() > deadline) throw new Error("the run was not retried");
          await new Promise((r) => setTimeout(r, 100));
        }
      })();
      expect(retried.attempt).toBe(2);
      // Not before the first attempt's lease expired, as the server recorded both starts (arrival
      // times in the worker processes drift under load): never two attempts at once.
      const now = (await c.run("GetRun", { run_id: runId })).run as Reply;
      expect(msOf(now.started_at as Reply) - firstStarted).toBeGreaterThanOrEqual(LEASE_S * 1000);
      expect(now).toMatchObject({
        status: "RUN_STATUS_RUNNING",
        attempt: 2,
        error: { type: "LeaseExpired" },
      });
      await c.run("CancelRun", { run_id: runId, reason: "done testing" });
      expect(((await c.run("GetRun", { run_id: runId })).run as Reply).status).toBe(
        "RUN_STATUS_CANCELLED",
      );
    });

    it("a graceful stop lets a running handler finish and report before the worker exits", async () => {
      const survivor = workers[0] as WorkerProcess;
      await c.job("AddJob", {
        job: {
          id: "long-stop",
          handler: "e2e.sleep",
          trigger: { cron: { hour: "0", minute: "0" } },
          kwargs: struct({ ms: 1500 }),
        },
      });
      const run = (await c.job("RunJobNow", { job_id: "long-stop" })).run as Reply;
      await waitForRuns("long-stop", (rs) => rs[0]?.status === "RUN_STATUS_RUNNING");
      // RUNNING is recorded when the run is leased; stop only once the handler has started (an
      // assignment still in flight when a worker with nothing running closes is left to expire).
      const deadline = Date.now() + 30_000;
      while (!survivor.executions().some((e) => e.runId === run.run_id)) {
        if (Date.now() > deadline) throw new Error("the handler did not start");
        await new Promise((r) => setTimeout(r, 50));
      }
      await survivor.stop(); // SIGTERM: drain, let the handler finish, report, exit
      workers.splice(workers.indexOf(survivor), 1);
      const done = (await c.run("GetRun", { run_id: run.run_id })).run as Reply;
      expect(done).toMatchObject({ status: "RUN_STATUS_SUCCEEDED", attempt: 1 });
      expect(unvalue(done.result as Reply)).toBe("slept");
    });
  },
  { cluster: true },
);
