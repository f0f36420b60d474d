/**
 * SCHEDULER__ENABLED=false: a node that serves the API (and worker sessions) but never claims
 * due jobs. Embedded SQLite store, manual clock.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../support/clock.js";
import { grpcJsClients, type GrpcJsClients, type Reply } from "../support/grpc-js.js";
import { startTestNode, type TestNode } from "../support/node.js";

const T0 = Date.parse("2026-06-01T00:00:00Z");

describe("an API-only node (SCHEDULER__ENABLED=false)", () => {
  const clock = new ManualClock(T0);
  let dir: string;
  let node: TestNode;
  let c: GrpcJsClients;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "metronome-api-only-"));
    node = await startTestNode(
      `sqlite:///${join(dir, "metronome.db")}`,
      { SCHEDULER__ENABLED: "false" },
      clock,
    );
    c = grpcJsClients(node.port);
  });

  afterAll(async () => {
    c.close();
    await node.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("fires nothing, however late its jobs are, but still takes manual runs", async () => {
    await c.job("AddJob", {
      job: { id: "idle", handler: "h.idle", trigger: { interval: { seconds: 10 } } },
    });
    clock.advance(60_000);
    await node.node.engine.pass();
    expect((await c.run("ListRuns", { job_id: "idle" })).runs ?? []).toEqual([]);
    const job = (await c.job("GetJob", { job_id: "idle" })).job as Reply;
    expect(Number((job.next_run_time as Reply).seconds) * 1000).toBe(T0 + 10_000);
    const run = (await c.job("RunJobNow", { job_id: "idle" })).run as Reply;
    expect(run).toMatchObject({ manual: true, status: "RUN_STATUS_PENDING" });
  });
});
