/**
 * grpc.health.v1.Health/Watch needs no key and a stream lasts as long as its client wants: the
 * node bounds how many are open at once (METRONOME_MAX_HEALTH_WATCHES), across connections,
 * with RESOURCE_EXHAUSTED past it, while Check still answers. A stream that ends gives its place
 * back. Real node on port 0, gRPC clients over separate HTTP/2 connections.
 */
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  Health,
  HealthCheckResponse_ServingStatus as Status,
} from "../../server/src/gen/grpc/health/v1/health_pb.js";
import { startTestNode, type TestNode } from "../support/node.js";

const MAX = 3;

describe("Health/Watch streams on one node", () => {
  let node: TestNode;
  beforeAll(async () => {
    node = await startTestNode("sqlite:///:memory:", {
      METRONOME_MAX_HEALTH_WATCHES: String(MAX),
    });
  });
  afterAll(() => node.stop());

  /** A client on its own HTTP/2 connection (the bound is the node's, not a connection's). */
  const client = () => createClient(Health, createGrpcTransport({ baseUrl: node.url }));

  /** Opens a Watch and reads its first status; the stream stays open until `close()`. */
  async function watch() {
    const abort = new AbortController();
    const stream = client().watch({}, { signal: abort.signal })[Symbol.asyncIterator]();
    const first = await stream.next();
    return {
      first: first.done === true ? undefined : first.value.status,
      close: async () => {
        abort.abort();
        await stream.return?.();
      },
    };
  }

  /** A Watch opened and kept, or the code it failed with before its first message. */
  async function tryWatch(): Promise<Awaited<ReturnType<typeof watch>> | Code> {
    try {
      return await watch();
    } catch (err) {
      return ConnectError.from(err).code;
    }
  }

  it("refuses Watch past the bound with RESOURCE_EXHAUSTED, answers Check, and frees a place when a stream ends", async () => {
    const open = [];
    for (let i = 0; i < MAX; i++) open.push(await watch());
    expect(open.map((w) => w.first)).toEqual(Array<Status>(MAX).fill(Status.SERVING));

    const refusedStream = client().watch({})[Symbol.asyncIterator]();
    const refused = await refusedStream.next().then(
      () => undefined,
      (err: unknown) => ConnectError.from(err),
    );
    expect(refused?.code).toBe(Code.ResourceExhausted);
    expect(refused?.rawMessage).toMatch(/METRONOME_MAX_HEALTH_WATCHES: 3/);
    expect((await client().check({})).status).toBe(Status.SERVING);

    // One stream ends: its place is given back once the node has seen it go (the client's
    // cancellation reaches the node asynchronously, so ask until it answers, a bounded number
    // of times).
    await open.pop()?.close();
    let again = await tryWatch();
    for (let attempt = 0; attempt < 200 && typeof again === "number"; attempt++) {
      expect(again).toBe(Code.ResourceExhausted);
      again = await tryWatch();
    }
    if (typeof again === "number") throw new Error(`no place given back: ${Code[again]}`);
    expect(again.first).toBe(Status.SERVING);
    open.push(again);

    // Full again.
    expect(await tryWatch()).toBe(Code.ResourceExhausted);
    for (const w of open) await w.close();
  });
});
