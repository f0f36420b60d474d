import { describe, expect, it } from "vitest";
import { create, toBinary } from "@bufbuild/protobuf";
import { ConnectError, Code } from "@connectrpc/connect";
import { checkEnvelopes } from "../../server/src/api/adapter.js";
import {
  SessionRequestSchema,
  RunResultsSchema,
} from "../../server/src/gen/metronome/v1/worker_service_pb.js";

/** A gRPC envelope: flags byte, 4-byte length, message. */
function envelope(message: Uint8Array, flags = 0): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt8(flags, 0);
  head.writeUInt32BE(message.length, 1);
  return Buffer.concat([head, message]);
}

/** A worker message carrying `n` results (a few KB for n in the hundreds). */
function results(n: number): Uint8Array {
  const batch = create(RunResultsSchema, {
    results: Array.from({ length: n }, (_, i) => ({
      lease: { runId: `run-${String(i)}`, attempt: 1, leaseToken: `token-${String(i)}` },
    })),
  });
  return toBinary(
    SessionRequestSchema,
    create(SessionRequestSchema, { payload: { case: "results", value: batch } }),
  );
}

/** `bytes` cut into chunks of the given sizes (the rest as the last chunk). */
function cut(bytes: Buffer, sizes: readonly number[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  let at = 0;
  for (const n of sizes) {
    if (at >= bytes.length) break;
    out.push(bytes.subarray(at, at + n));
    at += n;
  }
  if (at < bytes.length) out.push(bytes.subarray(at));
  return out;
}

async function* from(chunks: readonly Uint8Array[]): AsyncGenerator<Uint8Array> {
  for (const c of chunks) {
    await Promise.resolve();
    yield c;
  }
}

async function passed(chunks: readonly Uint8Array[]): Promise<{ out: Buffer; yields: number }> {
  const parts: Uint8Array[] = [];
  for await (const part of checkEnvelopes(from(chunks), SessionRequestSchema, undefined, 1 << 24))
    parts.push(part);
  return { out: Buffer.concat(parts), yields: parts.length };
}

describe("checkEnvelopes: the binary request check of streamed messages", () => {
  const stream = Buffer.concat([
    envelope(results(300)),
    envelope(results(1)),
    envelope(new Uint8Array(0)),
    envelope(results(40)),
  ]);

  it.each([
    ["one chunk", [stream.length]],
    ["byte by byte", Array.from({ length: stream.length }, () => 1)],
    ["a header split over two chunks", [3, 4, 1000]],
    ["16 KB frames", Array.from({ length: 8 }, () => 16_384)],
    ["odd sizes", [7, 4_093, 5, 1, 12_000, 2]],
  ])("passes every byte on unchanged, in order: %s", async (_, sizes) => {
    const { out, yields } = await passed(cut(stream, sizes));
    expect(out.equals(stream)).toBe(true);
    // Whole envelopes only: never more yields than envelopes.
    expect(yields).toBeLessThanOrEqual(4);
  });

  it("ends the call with INVALID_ARGUMENT at a message that does not decode, passing nothing of it on", async () => {
    const bad = Buffer.from([0x0a, 0x05, 0x01]); // a length-delimited field cut short
    const body = Buffer.concat([envelope(results(10)), envelope(bad), envelope(results(2))]);
    const seen: Uint8Array[] = [];
    const err = await (async () => {
      try {
        for await (const part of checkEnvelopes(
          from(cut(body, [100, 100, 100])),
          SessionRequestSchema,
          undefined,
          1 << 24,
        ))
          seen.push(part);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toBe(Code.InvalidArgument);
    expect((err as ConnectError).rawMessage).toMatch(
      /does not decode as metronome\.v1\.SessionRequest/,
    );
    // What was passed on is whole envelopes before the bad one (none, or the first).
    const passedOn = Buffer.concat(seen);
    expect([0, envelope(results(10)).length]).toContain(passedOn.length);
    expect(body.subarray(0, passedOn.length).equals(passedOn)).toBe(true);
  });

  it("hands an incomplete last envelope on for Connect to refuse", async () => {
    const whole = envelope(results(5));
    const body = Buffer.concat([whole, whole.subarray(0, 9)]);
    const { out } = await passed(cut(body, [6, 50, 3]));
    expect(out.equals(body)).toBe(true);
  });
});
