/**
 * ListRuns pages stay under the 4 MiB a gRPC client accepts by default: 100 runs whose results
 * are 60 KB each (a run carries its result twice, as a value and as JSON: 12 MB at the default
 * page size of 100) are answered to @grpc/grpc-js with its default settings in pages cut short by
 * bytes, whose tokens continue to the end with every run once. (Before, the page failed on the
 * client with RESOURCE_EXHAUSTED.) The runs are real: an SDK worker returns the results.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  EVENT_JOB_EXECUTED,
  MetronomeClient,
  Worker,
  defineHandler,
  type Scheduler,
} from "@metronome/sdk";
import { grpcJsClients, type GrpcJsClients, type Reply } from "../support/grpc-js.js";
import { startTestNode, type TestNode } from "../support/node.js";
import { createSqliteStore, type TestStore } from "../support/stores.js";

const RUNS = 100;
const RESULT_CHARS = 60_000;
const quiet = { debug() {}, info() {}, warn() {}, error() {} };

const big = defineHandler("pages.big", (_args: [], _kwargs, ctx) => ({
  run: ctx.runId,
  pad: "r".repeat(RESULT_CHARS),
}));

describe("ListRuns pages under gRPC's default 4 MiB", () => {
  let db: TestStore;
  let node: TestNode;
  let client: MetronomeClient;
  let scheduler: Scheduler;
  let worker: Worker;
  let c: GrpcJsClients;
  const runIds: string[] = [];

  beforeAll(async () => {
    db = await createSqliteStore("metronome-run-pages");
    node = await startTestNode(db.url);
    client = new MetronomeClient({ baseUrl: node.url, logger: quiet });
    scheduler = client.scheduler("run-pages");
    let executed = 0;
    let allDone: () => void = () => undefined;
    const done = new Promise<void>((resolve) => {
      allDone = resolve;
    });
    scheduler.addListener(() => {
      if (++executed === RUNS) allDone();
    }, EVENT_JOB_EXECUTED);
    await scheduler.listening();
    worker = new Worker({ baseUrl: node.url, logger: quiet, maxConcurrency: 20 });
    worker.register(big);
    await worker.start();
    await scheduler.addJob(big, "interval", { hours: 1, id: "big", maxInstances: RUNS });
    for (let i = 0; i < RUNS; i++) runIds.push((await scheduler.runJob("big")).runId);
    await done;
    c = grpcJsClients(node.port);
  }, 120_000);
  afterAll(async () => {
    c.close();
    await scheduler.shutdown();
    client.close();
    await worker.stop({ graceMs: 1000 });
    await node.stop();
    await db.drop();
  });

  it("answers @grpc/grpc-js at the default page size, in pages that continue to the end", async () => {
    const pages: Reply[][] = [];
    let page_token = "";
    for (let n = 0; n <= RUNS; n++) {
      const res = await c.run("ListRuns", { scheduler: "run-pages", job_id: "big", page_token });
      pages.push(res.runs as Reply[]);
      page_token = res.next_page_token as string;
      if (page_token === "") break;
    }
    expect(page_token).toBe("");
    // Cut short: more than one page at the default size of 100, none empty.
    expect(pages.length).toBeGreaterThan(1);
    for (const p of pages) expect(p.length).toBeGreaterThan(0);
    const runs = pages.flat();
    expect(runs.map((r) => r.run_id).sort()).toEqual([...runIds].sort());
    for (const r of runs) {
      expect(r.status).toBe("RUN_STATUS_SUCCEEDED");
      const result = JSON.parse(r.result_json as string) as { run: string; pad: string };
      expect(result.run).toBe(r.run_id);
      expect(result.pad.length).toBe(RESULT_CHARS);
    }
  });
});
