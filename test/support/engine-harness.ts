/**
 * The set-up of the engine tests that move time by hand: a real node on a store, on a manual
 * clock, its API over @grpc/grpc-js and raw worker sessions. The test moves the clock and runs
 * one engine pass (`advance`), so nothing waits on wall-clock time. `engineHarness` registers
 * the beforeAll/afterAll that start and stop it (and drop the store); read the node and the
 * clients through the harness (`restart` replaces both).
 */
import { afterAll, beforeAll, expect } from "vitest";
import { ManualClock } from "./clock.js";
import {
  grpcJsClients,
  rawWorkerSession,
  type GrpcJsClients,
  type RawSession,
  type Reply,
} from "./grpc-js.js";
import { startTestNode, type TestNode } from "./node.js";
import type { TestStore } from "./stores.js";

/** Where the manual clock starts unless told otherwise. */
export const T0 = Date.parse("2026-06-01T00:00:00Z");

/** Polls rarely (the test runs the passes) and leases long (nothing expires by itself). */
const ENV = { METRONOME_POLL_INTERVAL: "60", METRONOME_LEASE_DURATION: "600" };

export interface EngineHarness {
  readonly clock: ManualClock;
  readonly db: TestStore;
  readonly node: TestNode;
  /** The node's API over @grpc/grpc-js. */
  readonly c: GrpcJsClients;
  /** Moves the clock by `ms` and lets the engine act once. */
  readonly advance: (ms: number) => Promise<void>;
  /** A job's runs, oldest first. */
  readonly runs: (jobId: string) => Promise<Reply[]>;
  /** A raw worker session (closed after the tests), its hello not sent yet. */
  readonly session: () => RawSession;
  /** A worker session serving one handler, welcomed. */
  readonly worker: (workerId: string, handler: string, concurrency?: number) => Promise<RawSession>;
  /** The session's next message, which must be of this kind: its payload. */
  readonly next: (s: RawSession, kind: string) => Promise<Reply>;
  /**
   * Every node down: stops the node, runs `meanwhile` (move the clock), starts a new node on the
   * same store and runs one engine pass.
   */
  readonly restart: (meanwhile?: () => void) => Promise<void>;
}

export interface EngineHarnessOptions {
  /** Where the clock starts (T0). */
  readonly start?: number;
  /** Configuration besides the harness's own. */
  readonly env?: Record<string, string>;
}

export function engineHarness(
  makeStore: () => Promise<TestStore>,
  options: EngineHarnessOptions = {},
): EngineHarness {
  const clock = new ManualClock(options.start ?? T0);
  const env = { ...ENV, ...options.env };
  const sessions: RawSession[] = [];
  let db: TestStore | undefined;
  let node: TestNode | undefined;
  let c: GrpcJsClients | undefined;

  const started = <T>(value: T | undefined): T => {
    if (value === undefined)
      throw new Error("the engine harness is not started (use it in a test)");
    return value;
  };

  beforeAll(async () => {
    db = await makeStore();
    node = await startTestNode(db.url, env, clock);
    c = grpcJsClients(node.port);
  });

  afterAll(async () => {
    for (const s of sessions) s.close();
    c?.close();
    await node?.stop();
    await db?.drop();
  });

  const h: EngineHarness = {
    clock,
    get db() {
      return started(db);
    },
    get node() {
      return started(node);
    },
    get c() {
      return started(c);
    },
    advance: async (ms) => {
      clock.advance(ms);
      await h.node.node.engine.pass();
    },
    runs: async (jobId) => {
      const page = await h.c.run("ListRuns", { job_id: jobId });
      return ((page.runs ?? []) as Reply[]).reverse();
    },
    session: () => {
      const s = rawWorkerSession(h.node.port);
      sessions.push(s);
      return s;
    },
    worker: async (workerId, handler, concurrency = 5) => {
      const s = h.session();
      s.send({
        hello: {
          worker_id: workerId,
          handlers: [{ handler, max_concurrency: concurrency }],
          max_concurrency: concurrency,
        },
      });
      expect((await s.next()).payload).toBe("welcome");
      return s;
    },
    next: async (s, kind) => {
      const m = await s.next();
      expect(m.payload).toBe(kind);
      return m[kind] as Reply;
    },
    restart: async (meanwhile) => {
      h.c.close();
      await h.node.stop();
      c = undefined;
      node = undefined;
      meanwhile?.();
      node = await startTestNode(h.db.url, env, clock);
      c = grpcJsClients(node.port);
      await node.node.engine.pass();
    },
  };
  return h;
}
