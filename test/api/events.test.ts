/**
 * EventService.Subscribe through @grpc/grpc-js alone (proto-loader reading proto/), against a
 * real node on SQLite and on MariaDB: management changes arrive as events, a subscriber resumes
 * from its cursor without a gap or a duplicate, filters narrow on the server, bad requests are
 * INVALID_ARGUMENT or OUT_OF_RANGE, and (on MariaDB, whose transactions can commit out of order)
 * an event whose transaction commits late is not skipped.
 */
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { status } from "@grpc/grpc-js";
import {
  EventService,
  type SubscribeResponse,
} from "../../server/src/gen/metronome/v1/event_service_pb.js";
import mysql from "mysql2/promise";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../support/clock.js";
import {
  grpcJsClients,
  iso,
  rawSubscription,
  type GrpcJsClients,
  type RawSubscription,
  type Reply,
} from "../support/grpc-js.js";
import { createTestDatabase, describeEachStore, describeMysql } from "../support/mysql.js";
import { startTestNode, type TestNode } from "../support/node.js";
import type { TestStore } from "../support/stores.js";

const NOW = Date.parse("2026-03-02T08:00:00.000Z");

describeEachStore("Subscribe over @grpc/grpc-js", (createStore) => {
  let db: TestStore;
  let server: TestNode;
  let c: GrpcJsClients;
  const clock = new ManualClock(NOW);
  const open: RawSubscription[] = [];

  const subscribe = (request: object): RawSubscription => {
    const s = rawSubscription(server.port, request);
    open.push(s);
    return s;
  };
  const types = (events: Reply[]) => events.map((e) => e.type);
  const addJob = (id: string, extra: object = {}) =>
    c.job("AddJob", {
      job: { id, handler: "h.events", trigger: { interval: { seconds: 30 } }, ...extra },
    });

  beforeAll(async () => {
    db = await createStore();
    server = await startTestNode(db.url, {}, clock);
    c = grpcJsClients(server.port);
  });
  afterAll(async () => {
    for (const s of open) s.cancel();
    c.close();
    await server.stop();
    await db.drop();
  });

  // Filtered on the scheduler: the node's own scheduler_started may commit at any moment.
  const mine = { schedulers: ["default"] };

  it("streams each management change once it commits, with its fields", async () => {
    const sub = subscribe({ from_now: true, filter: mine });
    const first = await sub.next();
    expect(first).toMatchObject({ events: [], live: true });

    await addJob("e1", { args: { values: [{ numberValue: 1 }] } });
    await c.job("ModifyJob", {
      job: { id: "e1", name: "renamed" },
      update_mask: { paths: ["name"] },
    });
    await c.job("PauseJob", { job_id: "e1" });
    await c.job("ResumeJob", { job_id: "e1" });
    await c.scheduler("PauseScheduler", { name: "default" });
    await c.scheduler("ResumeScheduler", { name: "default" });
    await c.job("RemoveJob", { job_id: "e1" });
    await addJob("e2");
    await c.job("RemoveAllJobs", { scheduler: "default" });

    const events = await sub.events((got) => got.length >= 9);
    expect(types(events)).toEqual([
      "EVENT_TYPE_JOB_ADDED",
      "EVENT_TYPE_JOB_MODIFIED",
      "EVENT_TYPE_JOB_MODIFIED",
      "EVENT_TYPE_JOB_MODIFIED",
      "EVENT_TYPE_SCHEDULER_PAUSED",
      "EVENT_TYPE_SCHEDULER_RESUMED",
      "EVENT_TYPE_JOB_REMOVED",
      "EVENT_TYPE_JOB_ADDED",
      "EVENT_TYPE_ALL_JOBS_REMOVED",
    ]);
    const cursors = events.map((e) => BigInt(e.cursor as string));
    for (let i = 1; i < cursors.length; i++)
      expect(cursors[i]).toBeGreaterThan(cursors[i - 1] ?? 0n);
    expect(Number(cursors[0])).toBeGreaterThan(Number(first.cursor));
    expect(events[0]).toMatchObject({
      type: "EVENT_TYPE_JOB_ADDED",
      scheduler: "default",
      job_id: "e1",
      handler: "h.events",
      node_id: "test-node",
      run_id: "",
    });
    expect(iso(events[0]?.time)).toBe(new Date(NOW).toISOString());
    expect(events[6]).toMatchObject({ type: "EVENT_TYPE_JOB_REMOVED", reason: "removed" });
    expect(events[8]).toMatchObject({ scheduler: "default", job_id: "" });
  }, 20_000);

  it("resumes after a cursor with every later event exactly once, in order", async () => {
    const all = subscribe({ from_now: true, filter: mine });
    const start = (await all.next()).cursor as string;
    for (let i = 0; i < 20; i++) await addJob(`r${String(i)}`);
    const everything = await all.events((got) => got.length >= 20);

    // A subscriber that reads 7 events, goes away, and comes back after the 7th.
    const first = subscribe({ after_cursor: start, filter: mine });
    const part = await first.events((got) => got.length >= 7);
    first.cancel();
    const resumeAt = part[6]?.cursor as string;
    const second = subscribe({ after_cursor: resumeAt, filter: mine });
    const rest = await second.events((got) => got.length >= 13);
    const seen = [...part.slice(0, 7), ...rest].map((e) => e.cursor);
    expect(seen).toEqual(everything.map((e) => e.cursor));
    expect(new Set(seen).size).toBe(20);
  }, 20_000);

  it("narrows on the server by scheduler, job id, handler and type", async () => {
    const byJob = subscribe({ from_now: true, filter: { job_ids: ["f2"] } });
    const byType = subscribe({
      from_now: true,
      filter: { types: ["EVENT_TYPE_JOB_REMOVED"], schedulers: ["filtered"] },
    });
    const byHandler = subscribe({ from_now: true, filter: { handlers: ["h.special"] } });
    await Promise.all([byJob.next(), byType.next(), byHandler.next()]);
    for (const id of ["f1", "f2", "f3"])
      await c.job("AddJob", {
        job: {
          scheduler: "filtered",
          id,
          handler: id === "f3" ? "h.special" : "h.events",
          trigger: { interval: { seconds: 30 } },
        },
      });
    for (const id of ["f1", "f2", "f3"])
      await c.job("RemoveJob", { scheduler: "filtered", job_id: id });

    const jobEvents = await byJob.events((got) => got.length >= 2);
    expect(jobEvents.map((e) => [e.type, e.job_id])).toEqual([
      ["EVENT_TYPE_JOB_ADDED", "f2"],
      ["EVENT_TYPE_JOB_REMOVED", "f2"],
    ]);
    const removed = await byType.events((got) => got.length >= 3);
    expect(removed.map((e) => e.job_id)).toEqual(["f1", "f2", "f3"]);
    const special = await byHandler.events((got) => got.length >= 2);
    expect(special.map((e) => [e.type, e.job_id])).toEqual([
      ["EVENT_TYPE_JOB_ADDED", "f3"],
      ["EVENT_TYPE_JOB_REMOVED", "f3"],
    ]);
  }, 20_000);

  it("a Connect JSON subscriber gets the same events as a binary one", async () => {
    const binary = subscribe({ from_now: true, filter: { job_ids: ["json1", "json2"] } });
    await binary.next();
    const json = createClient(
      EventService,
      createConnectTransport({ baseUrl: server.url, httpVersion: "1.1", useBinaryFormat: false }),
    );
    const abort = new AbortController();
    const stream = json.subscribe(
      { filter: { jobIds: ["json1", "json2"] }, start: { case: "fromNow", value: true } },
      { signal: abort.signal },
    );
    const iter = stream[Symbol.asyncIterator]();
    const nextMessage = async (): Promise<SubscribeResponse> => {
      const r: IteratorResult<SubscribeResponse, unknown> = await iter.next();
      if (r.done === true) throw new Error("the stream ended");
      return r.value;
    };
    expect((await nextMessage()).live).toBe(true);
    await addJob("json1");
    await addJob("json2");
    const got: string[] = [];
    while (got.length < 2) {
      for (const e of (await nextMessage()).events) got.push(`${e.jobId}@${String(e.cursor)}`);
    }
    abort.abort();
    await iter.return?.();
    const fromBinary = await binary.events((events) => events.length >= 2);
    expect(got).toEqual(fromBinary.map((e) => `${String(e.job_id)}@${String(e.cursor)}`));
  });

  it("rejects bad filters and cursors with the field named", async () => {
    const fails = async (request: object) => {
      const s = subscribe(request);
      try {
        await s.next();
        return "OK";
      } catch (err) {
        const e = err as { code: number; details: string };
        return `${status[e.code]}: ${e.details}`;
      }
    };
    expect(await fails({ filter: { types: ["EVENT_TYPE_UNSPECIFIED"] } })).toMatch(
      /^INVALID_ARGUMENT: filter\.types\[0\]/,
    );
    expect(await fails({ filter: { job_ids: ["bad id!"] } })).toMatch(
      /^INVALID_ARGUMENT: filter\.job_ids\[0\]/,
    );
    expect(
      await fails({
        filter: { schedulers: Array.from({ length: 101 }, (_, i) => `s${String(i)}`) },
      }),
    ).toMatch(/^INVALID_ARGUMENT: filter\.schedulers/);
    expect(await fails({ after_cursor: "-1" })).toMatch(/^INVALID_ARGUMENT: after_cursor/);
    expect(await fails({ after_cursor: "999999999" })).toMatch(/^OUT_OF_RANGE: .*newer/);
  });

  it("answers OUT_OF_RANGE for a cursor older than the retention, never a gap", async () => {
    const live = subscribe({ from_now: true });
    const before = (await live.next()).cursor as string;
    await addJob("old1");
    await addJob("old2");
    await live.events((got) => got.length >= 2);
    // Resuming from the start still works while nothing was deleted…
    const replay = subscribe({ after_cursor: "0" });
    expect((await replay.events((got) => got.length >= 1)).length).toBeGreaterThan(0);
    replay.cancel();
    // …then every event so far ages out (the retention is counted on the node's clock).
    clock.advance(8 * 24 * 3600_000);
    expect(await server.node.events.prune(clock.now() - 7 * 24 * 3600_000)).toBeGreaterThan(0);
    const late = subscribe({ after_cursor: before });
    await expect(late.next()).rejects.toMatchObject({ code: status.OUT_OF_RANGE });
  });
});

describe("commit order", () => {
  describeMysql("an event whose transaction commits after later ones", () => {
    let db: Awaited<ReturnType<typeof createTestDatabase>>;
    let server: TestNode;
    let c: GrpcJsClients;

    beforeAll(async () => {
      db = await createTestDatabase();
      server = await startTestNode(db.url);
      c = grpcJsClients(server.port);
    });
    afterAll(async () => {
      c.close();
      await server.stop();
      await db.drop();
    });

    it("is delivered with a later cursor, to live and resuming subscribers alike", async () => {
      // Only job events: the node's own scheduler_started may commit at any moment.
      const filter = { types: ["EVENT_TYPE_JOB_ADDED"] };
      const live = rawSubscription(server.port, { from_now: true, filter });
      const start = (await live.next()).cursor as string;
      // A transaction takes an event id first and holds it uncommitted…
      const held = await mysql.createConnection(db.url);
      try {
        await held.query("START TRANSACTION");
        const late = {
          type: "job_added",
          time: Date.now(),
          scheduler: "default",
          jobId: "late",
          runId: null,
          handler: "h.late",
          data: { nodeId: "held" },
        };
        await held.query("INSERT INTO `event_log` (`count`, `time`, `events`) VALUES (1, ?, ?)", [
          late.time,
          JSON.stringify([late]),
        ]);
        const [[{ id: heldId }]] = (await held.query(
          "SELECT LAST_INSERT_ID() AS id",
        )) as unknown as [[{ id: number }]];
        // …while later transactions (higher ids) commit and are delivered.
        for (const id of ["a", "b", "c"])
          await c.job("AddJob", {
            job: { id, handler: "h.early", trigger: { interval: { seconds: 30 } } },
          });
        const early = await live.events((got) => got.length >= 3);
        expect(early.map((e) => e.job_id)).toEqual(["a", "b", "c"]);
        // Now the held transaction commits: its event is not lost behind the later cursors.
        await held.query("COMMIT");
        server.node.events.sequenceSoon();
        const after = await live.events((got) => got.length >= 1);
        expect(after.map((e) => [e.job_id, e.node_id])).toEqual([["late", "held"]]);
        expect(BigInt(after[0]?.cursor as string)).toBeGreaterThan(
          BigInt(early[2]?.cursor as string),
        );
        // The held row was inserted before the others (a lower id) and sequenced after them.
        const [rows] = (await held.query(
          "SELECT `id`, `cursor` FROM `event_log` WHERE `id` >= ? ORDER BY `cursor`",
          [heldId],
        )) as unknown as [{ id: number; cursor: number }[]];
        expect(rows.length).toBeGreaterThanOrEqual(4);
        expect(rows[rows.length - 1]?.id).toBe(heldId);
        // A subscriber resuming from before all of it reads the same sequence.
        const again = rawSubscription(server.port, { after_cursor: start, filter });
        const replay = await again.events((got) => got.length >= 4);
        again.cancel();
        expect(replay.map((e) => e.cursor)).toEqual([...early, ...after].map((e) => e.cursor));
      } finally {
        live.cancel();
        await held.end();
      }
    }, 20_000);
  });
});
