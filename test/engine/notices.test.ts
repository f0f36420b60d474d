/**
 * Nodes on PostgreSQL wake each other (LISTEN/NOTIFY) instead of waiting for their next poll:
 * three `metronome serve` processes that poll only once a minute. Node A fires nothing (an API
 * node), B fires, C fires nothing. A job added through A is claimed by B as soon as it is due
 * (B hears "jobs"), and the run B creates for a handler only C's worker serves goes out through C
 * (C hears "runs"). Both arrive well within the test's time limit, which is shorter than the
 * poll: without the notices neither would arrive before it.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { AutoWorker } from "../support/auto-worker.js";
import { grpcJsClients, type GrpcJsClients, timestamp as ts } from "../support/grpc-js.js";
import { createPostgresDatabase, describePostgres } from "../support/postgres.js";
import { startServerProcess, type ServerProcess } from "../support/processes.js";

describePostgres("nodes wake each other on PostgreSQL", () => {
  let db: Awaited<ReturnType<typeof createPostgresDatabase>>;
  const servers: ServerProcess[] = [];
  const clients: GrpcJsClients[] = [];
  const workers: AutoWorker[] = [];

  beforeAll(async () => {
    db = await createPostgresDatabase("metronome_notices");
    for (const [name, firing] of [
      ["a", "false"],
      ["b", "true"],
      ["c", "false"],
    ] as const) {
      servers.push(
        await startServerProcess(`notices-${name}`, db.url, {
          env: { METRONOME_POLL_INTERVAL: "60", SCHEDULER__ENABLED: firing },
          timeoutMs: 60_000,
        }),
      );
    }
    for (const s of servers) clients.push(grpcJsClients(s.port));
  }, 120_000);

  afterAll(async () => {
    for (const w of workers) await w.stop();
    for (const c of clients) c.close();
    await Promise.all(servers.map((s) => s.stop()));
    await db.drop();
  }, 60_000);

  it("a job added on an API node fires on the firing node, and its run goes out on a third", async () => {
    const [a, b, c] = servers as [ServerProcess, ServerProcess, ServerProcess];
    const onB = new AutoWorker(b.port, "notices.b", { id: "wb" });
    const onC = new AutoWorker(c.port, "notices.c", { id: "wc" });
    for (const w of [onB, onC]) {
      await w.start();
      workers.push(w);
    }
    const api = clients[0] as GrpcJsClients;
    const due = Date.now() + 1000;
    for (const [id, handler] of [
      ["to-b", "notices.b"],
      ["to-c", "notices.c"],
    ])
      await api.job("AddJob", {
        job: { id, handler, trigger: { date: { run_date: ts(due) } } },
      });
    // The poll is a minute; the test's limit is 30 s.
    await onB.until(() => onB.received.length > 0);
    await onC.until(() => onC.received.length > 0);
    expect(onB.received.map((r) => r.jobId)).toEqual(["to-b"]);
    expect(onC.received.map((r) => r.jobId)).toEqual(["to-c"]);
    expect(a.running() && b.running() && c.running()).toBe(true);
  }, 30_000);
});
