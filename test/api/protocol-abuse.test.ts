/**
 * Hostile connections against a real node on port 0, played with raw sockets: slow HTTP/1.1
 * headers, a sniffing stage that never completes, HTTP/2 prefaces and first frames cut short,
 * idle HTTP/2 sessions, and 5,000 streams opened and reset on one connection (rapid reset). Each
 * attack's connection is closed by the server within its bound, while an honest gRPC caller on
 * another connection keeps being answered. The bounds are checked by what happened (the
 * connection closed before the attacker was done; a GOAWAY said why), never by a stopwatch; the
 * honest caller's latencies are printed for docs/security.md, not asserted.
 */
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import http2 from "node:http2";
import { JobService } from "../../server/src/gen/metronome/v1/job_service_pb.js";
import { startTestNode, type TestNode } from "../support/node.js";
import {
  EMPTY_SETTINGS,
  FrameType,
  PREFACE,
  RawConnection,
  frame,
  grpcRequestHeaders,
  rstStream,
} from "../support/raw-h2.js";
import { createSqliteStore, type TestStore } from "../support/stores.js";

const { NGHTTP2_ENHANCE_YOUR_CALM, NGHTTP2_NO_ERROR } = http2.constants;

describe("hostile connections", () => {
  let store: TestStore;
  let server: TestNode;

  beforeAll(async () => {
    store = await createSqliteStore();
    server = await startTestNode(store.url, {
      METRONOME_HEADERS_TIMEOUT: "1",
      METRONOME_REQUEST_TIMEOUT: "2",
      METRONOME_IDLE_TIMEOUT: "1",
    });
  });
  afterAll(async () => {
    await server.stop();
    await store.drop();
  });

  /**
   * Sends `bytes` one per `everyMs` until the server closes the connection; answers how many
   * it had sent by then.
   */
  async function trickle(bytes: Buffer, everyMs: number): Promise<number> {
    const conn = await RawConnection.open(server.port);
    let sent = 0;
    const timer = setInterval(() => {
      if (sent < bytes.length) conn.write(bytes.subarray(sent, ++sent));
    }, everyMs);
    await conn.closed;
    clearInterval(timer);
    return sent;
  }

  it("closes an HTTP/1.1 connection whose headers trickle in", async () => {
    const head = Buffer.from(
      `POST /metronome.v1.JobService/ListJobs HTTP/1.1\r\nHost: localhost\r\n${"x-pad: ".padEnd(400, "a")}\r\n`,
    );
    // 450 bytes at one per 50 ms would take over 20 s; the server cuts it after about 1 s.
    const sent = await trickle(head, 50);
    expect(sent).toBeLessThan(head.length);
  });

  it("closes a connection that never says which protocol it speaks", async () => {
    const conn = await RawConnection.open(server.port);
    conn.write(PREFACE.subarray(0, 5));
    await conn.closed;
    expect(conn.frames).toEqual([]);
  });

  it("closes an HTTP/2 connection whose preface is cut after 20 of 24 bytes", async () => {
    const conns = await Promise.all(
      Array.from({ length: 20 }, () => RawConnection.open(server.port)),
    );
    for (const c of conns) c.write(PREFACE.subarray(0, 20));
    await Promise.all(conns.map((c) => c.closed));
  });

  it("closes an HTTP/2 connection whose first frame is cut after 5 of its 9 header bytes", async () => {
    const conns = await Promise.all(
      Array.from({ length: 20 }, () => RawConnection.open(server.port)),
    );
    for (const c of conns) c.write(Buffer.concat([PREFACE, EMPTY_SETTINGS.subarray(0, 5)]));
    await Promise.all(conns.map((c) => c.closed));
  });

  it("closes idle HTTP/2 sessions with a GOAWAY, also after a completed call", async () => {
    const conns = await Promise.all(
      Array.from({ length: 200 }, () => RawConnection.open(server.port)),
    );
    for (const c of conns) c.write(Buffer.concat([PREFACE, EMPTY_SETTINGS]));
    await Promise.all(conns.map((c) => c.closed));
    for (const c of conns) {
      expect(c.goAwayCodes().length).toBeGreaterThan(0);
      expect(new Set(c.goAwayCodes())).toEqual(new Set([NGHTTP2_NO_ERROR]));
    }

    // A session that made a call and then stays quiet is closed too, once the call is over.
    const caller = await RawConnection.open(server.port);
    const emptyMessage = Buffer.alloc(5);
    caller.write(
      Buffer.concat([
        PREFACE,
        EMPTY_SETTINGS,
        grpcRequestHeaders(1, "/metronome.v1.JobService/ListJobs"),
        frame(FrameType.DATA, 0x1 /* END_STREAM */, 1, emptyMessage),
      ]),
    );
    await caller.closed;
    const trailers = caller.frames.filter((f) => f.type === FrameType.HEADERS && f.streamId === 1);
    expect(trailers.length).toBe(2); // the response's headers and its trailers: it was answered
    expect(caller.goAwayCodes()[0]).toBe(NGHTTP2_NO_ERROR);
  });

  it("ends 5,000 rapid open+reset pairs with a GOAWAY while other callers are answered", async () => {
    const honest = createClient(JobService, createGrpcTransport({ baseUrl: server.url }));
    await honest.addJob({
      job: {
        id: "honest",
        handler: "a.b",
        trigger: { kind: { case: "crontab", value: { expression: "0 * * * *" } } },
      },
    });

    const attacker = await RawConnection.open(server.port);
    const pairs: Buffer[] = [PREFACE, EMPTY_SETTINGS];
    for (let i = 0; i < 5000; i++) {
      const id = 2 * i + 1;
      pairs.push(grpcRequestHeaders(id, "/metronome.v1.JobService/ListJobs"), rstStream(id));
    }
    const attack = { over: false };
    void attacker.closed.then(() => {
      attack.over = true;
    });
    attacker.write(Buffer.concat(pairs));

    // The honest caller keeps calling until the attack is over (and at least 50 times).
    const latencies: number[] = [];
    for (let i = 0; i < 50 || !attack.over; i++) {
      const started = performance.now();
      const res = await honest.getJob({ jobId: "honest" });
      latencies.push(performance.now() - started);
      expect(res.job?.id).toBe("honest");
    }
    await attacker.closed;

    expect(attacker.goAwayCodes()).toEqual([NGHTTP2_ENHANCE_YOUR_CALM]);
    // The server stopped before the last pair: the GOAWAY names an earlier stream.
    expect(attacker.goAwayLastStream()).toBeLessThan(2 * 4999 + 1);

    latencies.sort((a, b) => a - b);
    const p = (q: number) =>
      latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
    process.stdout.write(
      `rapid reset: ${latencies.length} honest calls, p50 ${p(0.5).toFixed(1)} ms, p99 ${p(0.99).toFixed(1)} ms, max ${p(1).toFixed(1)} ms; last stream processed ${String(attacker.goAwayLastStream())}\n`,
    );
  });
});
