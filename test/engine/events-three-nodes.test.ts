/**
 * The event stream across nodes: three `metronome serve` processes on one database (MariaDB,
 * PostgreSQL, Redis, and a Redis Cluster, where the schedulers' events move from their shards
 * into one log) fire interval jobs to a worker on each node, while three subscribers read:
 * - A, through the SDK's EventStream on node 0, every event;
 * - B, through @grpc/grpc-js alone, runs and additions of one handler, killed twice (its call
 *   cut mid-stream) and resumed each time from the last cursor it received, on another node;
 * - C, through the SDK on node 2, the test scheduler's events, deliberately slow: it stops
 *   reading while the jobs fire (on a connection with a small HTTP/2 window), so its bounded
 *   queue overflows and it catches up from the store (the nodes keep 100 events in memory here).
 * Each subscriber's sequence up to an end marker must equal the committed log filtered by its
 * filter: no gap, no duplicate, in cursor order.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { MetronomeClient, type MetronomeEvent } from "@metronome/sdk";
import { AutoWorker } from "../support/auto-worker.js";
import {
  grpcJsClients,
  rawSubscription,
  type GrpcJsClients,
  type RawSubscription,
  type Reply,
} from "../support/grpc-js.js";
import { startServerProcess, type ServerProcess } from "../support/processes.js";
import { describeEachSharedStore, type SharedTestDatabase } from "../support/shared-stores.js";

const HANDLER = "ev.run";
const OTHER = "ev.other";
const JOBS = 150;
const MARKER = "end-marker";

interface LogRow {
  cursor: number;
  type: string;
  scheduler: string | null;
  handler: string | null;
  jobId: string | null;
}

describeEachSharedStore(
  "events with three nodes firing",
  (createDatabase) => {
    let db: SharedTestDatabase;
    const servers: ServerProcess[] = [];
    const clients: GrpcJsClients[] = [];
    const workers: AutoWorker[] = [];
    const sdkClients: MetronomeClient[] = [];
    const raw: RawSubscription[] = [];

    beforeAll(async () => {
      db = await createDatabase("metronome_events_nodes");
      for (let i = 0; i < 3; i++) {
        servers.push(
          await startServerProcess(`ev-node-${String(i)}`, db.url, {
            env: {
              METRONOME_POLL_INTERVAL: "0.1",
              METRONOME_SHUTDOWN_GRACE: "1",
              METRONOME_EVENT_BUFFER: "100",
              METRONOME_EVENT_SUBSCRIBER_QUEUE: "20",
            },
            timeoutMs: 60_000,
          }),
        );
      }
      for (const s of servers) clients.push(grpcJsClients(s.port));
    }, 120_000);

    afterAll(async () => {
      for (const r of raw) r.cancel();
      for (const c of sdkClients) c.close();
      for (const w of workers) await w.stop();
      for (const c of clients) c.close();
      await Promise.all(servers.map((s) => (s.running() ? s.stop() : Promise.resolve())));
      await db.drop();
    }, 60_000);

    const sdk = (node: number, windowBytes?: number): MetronomeClient => {
      const baseUrl = `http://127.0.0.1:${String(servers[node]?.port)}`;
      const c = new MetronomeClient({
        ...(windowBytes === undefined
          ? { baseUrl }
          : {
              transport: createGrpcTransport({
                baseUrl,
                nodeOptions: { settings: { initialWindowSize: windowBytes } },
              }),
            }),
        logger: { debug() {}, info() {}, warn() {}, error() {} },
      });
      sdkClients.push(c);
      return c;
    };

    it("each subscriber's sequence equals the committed log filtered, killed, slow or not", async () => {
      for (const [i, s] of servers.entries()) {
        for (const handler of [HANDLER, OTHER]) {
          const w = new AutoWorker(s.port, handler, {
            workMs: 5,
            concurrency: 50,
            id: `w${String(i)}-${handler}`,
          });
          await w.start();
          workers.push(w);
        }
      }

      // A: everything, from the start of the log.
      const a = sdk(0).subscribe({ afterCursor: 0 });
      const aEvents: MetronomeEvent[] = [];
      let aOfEv = 0;
      let onAOfEv: { n: number; resolve: () => void } | undefined;
      const aDone = (async () => {
        for await (const e of a) {
          aEvents.push(e);
          if ("scheduler" in e && e.scheduler === "ev") aOfEv++;
          if (onAOfEv !== undefined && aOfEv >= onAOfEv.n) onAOfEv.resolve();
          if (e.type === "job_added" && e.jobId === MARKER) break;
        }
      })();

      // C: the test scheduler only, reading 5 events and then nothing until the jobs are done.
      const c = sdk(2, 1024).subscribe({ afterCursor: 0, filter: { schedulers: ["ev"] } });
      const cEvents: MetronomeEvent[] = [];
      let release: () => void = () => undefined;
      const gate = new Promise<void>((resolve) => (release = resolve));
      const cDone = (async () => {
        for await (const e of c) {
          cEvents.push(e);
          if (cEvents.length === 5) await gate;
          if (e.type === "job_added" && e.jobId === MARKER) break;
        }
      })();

      // B: job_added, job_submitted and job_executed of HANDLER, through grpc-js.
      const bFilter = {
        handlers: [HANDLER],
        types: ["EVENT_TYPE_JOB_ADDED", "EVENT_TYPE_JOB_SUBMITTED", "EVENT_TYPE_JOB_EXECUTED"],
      };
      const bEvents: Reply[] = [];
      let b = rawSubscription(servers[1]?.port ?? 0, { after_cursor: "0", filter: bFilter });
      raw.push(b);

      for (let i = 0; i < JOBS; i++)
        await (clients[i % 3] as GrpcJsClients).job("AddJob", {
          job: {
            scheduler: "ev",
            id: `j${String(i)}`,
            handler: i % 2 === 0 ? HANDLER : OTHER,
            trigger: { interval: { seconds: 1 } },
          },
        });

      // B reads until it has seen runs, is cut off, and resumes on the next node; twice.
      const executed = (events: Reply[]) =>
        events.filter((e) => e.type === "EVENT_TYPE_JOB_EXECUTED").length;
      for (const [round, node] of [
        [1, 2],
        [2, 0],
      ] as const) {
        const target = round * 50;
        while (executed(bEvents) < target) {
          const m = await b.next();
          bEvents.push(...(m.events as Reply[]));
        }
        const resumeAt = b.cursor;
        b.cancel(); // as a crashed subscriber's connection ends: whatever was in flight is lost
        b = rawSubscription(servers[node]?.port ?? 0, { after_cursor: resumeAt, filter: bFilter });
        raw.push(b);
      }
      while (executed(bEvents) < 150) bEvents.push(...((await b.next()).events as Reply[]));
      // C has not read for a while: far more than its queue, its connection's buffers and the
      // nodes' memory hold has been committed for it meanwhile.
      await new Promise<void>((resolve) => {
        if (aOfEv >= 1500) resolve();
        else onAOfEv = { n: 1500, resolve };
      });

      // The jobs stop; a marker that every filter matches closes the comparison.
      await clients[0]?.job("RemoveAllJobs", { scheduler: "ev" });
      await clients[1]?.job("AddJob", {
        job: { scheduler: "ev", id: MARKER, handler: HANDLER, trigger: { interval: { hours: 1 } } },
      });
      release();
      const markerSeen = (events: Reply[]) =>
        events.some((e) => e.type === "EVENT_TYPE_JOB_ADDED" && e.job_id === MARKER);
      while (!markerSeen(bEvents)) bEvents.push(...((await b.next()).events as Reply[]));
      await Promise.all([aDone, cDone]);

      const markerAt = Number(aEvents[aEvents.length - 1]?.cursor);
      // The committed log up to the marker, as the store holds it.
      const log: LogRow[] = (await db.eventLog()).events.filter((e) => e.cursor <= markerAt);
      const cursors = (xs: readonly object[]) =>
        xs.map((x) => Number((x as { cursor: unknown }).cursor));

      // Work happened on every node, and the log is what A saw.
      expect(log.filter((r) => r.type === "job_executed").length).toBeGreaterThanOrEqual(150);
      expect(cursors(aEvents)).toEqual(cursors(log));
      const bWanted = log.filter(
        (r) =>
          r.handler === HANDLER && ["job_added", "job_submitted", "job_executed"].includes(r.type),
      );
      const bSeen = bEvents.slice(
        0,
        bEvents.findIndex((e) => e.job_id === MARKER && e.type === "EVENT_TYPE_JOB_ADDED") + 1,
      );
      expect(cursors(bSeen)).toEqual(cursors(bWanted));
      expect(cursors(cEvents)).toEqual(cursors(log.filter((r) => r.scheduler === "ev")));
      // C did fall behind its queue of 20, and the log it missed had left the memory of 100.
      expect(servers[2]?.output()).toContain("a subscriber fell behind");
      expect(cEvents.length).toBeGreaterThan(1500);
    }, 120_000);
  },
  { cluster: true },
);
