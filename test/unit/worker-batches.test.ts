/**
 * Batches cut by bytes, on both sides of a worker session. The node's (encodedWithin,
 * api/convert/worker-messages.ts): parts of at most so many items and bytes, a part over the
 * budget encoded again as smaller parts, an item alone over it sent alone. The SDK worker's
 * (sdk/src/worker/session.ts): a RunResults and a heartbeat stay within MAX_MESSAGE_BYTES
 * encoded, the rest going out in further messages, and so within the node's per-message limit.
 * Before, the SDK put up to 1,000 results of any size in one RunResults and every lease in one
 * heartbeat: six 60 KB results or 10,000 leases made one message over the 320 KiB the node read.
 */
import { create, toBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import {
  SESSION_READ_MAX_BYTES,
  encodedWithin,
} from "../../server/src/api/convert/worker-messages.js";
import {
  RunResultSchema,
  SessionRequestSchema,
  SessionWelcomeSchema,
  type RunLease,
  type SessionRequest,
} from "../../sdk/src/gen/metronome/v1/worker_service_pb.js";
import { MAX_MESSAGE_BYTES, Session } from "../../sdk/src/worker/session.js";

/** What the node read on a session before it had a limit of its own. */
const OLD_READ_LIMIT = 4 * 65_536 + 65_536;

describe("the node's batches (encodedWithin)", () => {
  const encode = (calls: number[][]) => (part: readonly number[]) => {
    calls.push([...part]);
    return part;
  };
  const sum = (part: readonly number[]) => part.reduce((a, b) => a + b, 0);

  it("encodes a part within the budget once, and cuts by count", () => {
    const calls: number[][] = [];
    const items = Array.from({ length: 250 }, () => 1);
    const parts = encodedWithin(items, 100, 1_000, encode(calls), sum);
    expect(parts.map((p) => p.items.length)).toEqual([100, 100, 50]);
    expect(calls.length).toBe(3);
    expect(parts.every((p) => p.message === p.items)).toBe(true);
  });

  it("cuts a part over the budget into parts within it, in order", () => {
    const calls: number[][] = [];
    // Forty items of 120 (as forty 120 KB assignments), a budget of 300 (as 3 MiB).
    const items = Array.from({ length: 40 }, (_, i) => 120 + (i % 2));
    const parts = encodedWithin(items, 100, 300, encode(calls), sum);
    expect(parts.flatMap((p) => p.items)).toEqual(items);
    for (const p of parts) expect(sum(p.items)).toBeLessThanOrEqual(300);
    expect(parts.map((p) => p.items.length)).toEqual(Array(20).fill(2));
    // All forty, each alone (measured), then each part.
    expect(calls.length).toBe(1 + 40 + 20);
  });

  it("sends an item over the budget alone", () => {
    const parts = encodedWithin([1, 500, 1, 1], 100, 100, (p) => p, sum);
    expect(parts.map((p) => p.items)).toEqual([[1], [500], [1, 1]]);
  });
});

describe("the SDK worker's messages (Session)", () => {
  const welcomed = (): Session => {
    const s = new Session();
    s.welcome = create(SessionWelcomeSchema, { acceptsBatches: true });
    return s;
  };
  /** The messages queued so far (a lazy one is built now). */
  const drain = async (s: Session): Promise<SessionRequest[]> => {
    // Results queued in a turn go out at the end of it.
    await new Promise<void>((resolve) => setImmediate(resolve));
    s.end();
    const out: SessionRequest[] = [];
    for await (const m of s.queue) out.push(m);
    return out;
  };
  const lease = (i: number): RunLease =>
    ({
      runId: `run-${String(i).padStart(28, "0")}`,
      attempt: 1,
      leaseToken: String(i).padStart(32, "0"),
    }) as RunLease;

  it("keeps MAX_MESSAGE_BYTES under the node's limit, and under the one before it", () => {
    expect(MAX_MESSAGE_BYTES).toBeLessThan(SESSION_READ_MAX_BYTES);
    expect(MAX_MESSAGE_BYTES).toBeLessThan(OLD_READ_LIMIT);
  });

  it("cuts results ending in one turn into RunResults within MAX_MESSAGE_BYTES", async () => {
    const s = welcomed();
    const results = Array.from({ length: 6 }, (_, i) =>
      create(RunResultSchema, {
        lease: lease(i),
        outcome: {
          case: "success",
          value: { resultJson: JSON.stringify({ i, pad: "p".repeat(60_000) }) },
        },
      }),
    );
    for (const r of results) s.sendResult(r);
    const sent = await drain(s);
    expect(sent.length).toBeGreaterThan(1);
    const got = sent.flatMap((m) =>
      m.payload.case === "results"
        ? m.payload.value.results
        : m.payload.case === "result"
          ? [m.payload.value]
          : [],
    );
    expect(got.map((r) => r.lease?.runId)).toEqual(results.map((r) => r.lease?.runId));
    for (const m of sent)
      expect(toBinary(SessionRequestSchema, m).length).toBeLessThanOrEqual(MAX_MESSAGE_BYTES);
  });

  it("still sends many small results in one RunResults", async () => {
    const s = welcomed();
    for (let i = 0; i < 1_000; i++)
      s.sendResult(
        create(RunResultSchema, {
          lease: lease(i),
          outcome: { case: "success", value: { resultJson: String(i) } },
        }),
      );
    const sent = await drain(s);
    expect(sent.map((m) => m.payload.case)).toEqual(["results"]);
  });

  it("cuts a heartbeat of 10,000 leases into heartbeats within MAX_MESSAGE_BYTES", async () => {
    const s = welcomed();
    const leases = Array.from({ length: 10_000 }, (_, i) => lease(i));
    s.queueHeartbeat(() => leases);
    const sent = await drain(s);
    expect(sent.length).toBeGreaterThan(1);
    const listed = sent.flatMap((m) =>
      m.payload.case === "heartbeat" ? m.payload.value.activeLeases : [],
    );
    expect(listed.map((l) => l.runId)).toEqual(leases.map((l) => l.runId));
    for (const m of sent)
      expect(toBinary(SessionRequestSchema, m).length).toBeLessThanOrEqual(MAX_MESSAGE_BYTES);
  });

  it("sends an idle heartbeat as one empty message", async () => {
    const s = welcomed();
    s.queueHeartbeat(() => []);
    const sent = await drain(s);
    expect(sent.map((m) => m.payload.case)).toEqual(["heartbeat"]);
  });
});
