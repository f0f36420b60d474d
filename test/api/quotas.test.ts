/**
 * A rate limit's refusal as clients that know nothing of Metronome see it, against a real node
 * on HTTP/2: @grpc/grpc-js gets RESOURCE_EXHAUSTED with `retry-after` and the standard
 * google.rpc.RetryInfo and QuotaFailure details in `grpc-status-details-bin`; the SDK's
 * ResourceExhaustedError carries the delay (`retryAfterMs`). The server's clock is moved by hand.
 */
import { fromBinary } from "@bufbuild/protobuf";
import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";
import { AnySchema, durationMs, type Any } from "@bufbuild/protobuf/wkt";
import { status, type ServiceError } from "@grpc/grpc-js";
import { MetronomeClient, ResourceExhaustedError, retryDelayOf } from "@metronome/sdk";
import { afterAll, beforeAll, expect, it } from "vitest";
import {
  QuotaFailureSchema,
  RetryInfoSchema,
} from "../../server/src/gen/google/rpc/error_details_pb.js";
import { ManualClock } from "../support/clock.js";
import { grpcJsClients, type GrpcJsClients } from "../support/grpc-js.js";
import { startTestNode, type TestNode } from "../support/node.js";
import { createSqliteStore, type TestStore } from "../support/stores.js";

const TOKEN = "quota-token";
const clock = new ManualClock(Date.UTC(2030, 0, 1));
let db: TestStore;
let server: TestNode;
let grpc: GrpcJsClients;

beforeAll(async () => {
  db = await createSqliteStore("metronome-quotas");
  server = await startTestNode(
    db.url,
    {
      METRONOME_AUTH_TOKENS: TOKEN,
      METRONOME_RATE_PER_KEY: "0.5",
      METRONOME_BURST_PER_KEY: "1",
    },
    clock,
  );
  grpc = grpcJsClients(server.port);
});
afterAll(async () => {
  grpc.close();
  await server.stop();
  await db.drop();
});

/** The `details` of a google.rpc.Status (field 3, repeated Any), read off the wire. */
function statusDetails(bin: Buffer): Any[] {
  const reader = new BinaryReader(bin);
  const details: Any[] = [];
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag();
    if (field === 3 && wireType === WireType.LengthDelimited)
      details.push(fromBinary(AnySchema, reader.bytes()));
    else reader.skip(wireType);
  }
  return details;
}

it("@grpc/grpc-js sees RESOURCE_EXHAUSTED, retry-after and google.rpc.RetryInfo", async () => {
  clock.advance(60_000);
  const auth = { authorization: `Bearer ${TOKEN}` };
  await grpc.scheduler("ListSchedulers", {}, auth);
  const err = (await grpc.scheduler("ListSchedulers", {}, auth).then(
    () => {
      throw new Error("the call succeeded");
    },
    (e: unknown) => e,
  )) as ServiceError;
  expect(err.code).toBe(status.RESOURCE_EXHAUSTED);
  // grpc-message encoded as the gRPC spec says (api/grpc-message.ts): grpc-js reads it as sent.
  expect(err.details).toBe(
    "too many requests from env:1 (0.5 requests per second, burst 1): retry in 2.000 s",
  );
  expect(err.metadata.get("retry-after")).toEqual(["2"]);
  const [bin] = err.metadata.get("grpc-status-details-bin");
  if (!(bin instanceof Buffer)) throw new Error("no grpc-status-details-bin");
  const details = statusDetails(bin);
  expect(details.map((d) => d.typeUrl)).toEqual([
    "type.googleapis.com/google.rpc.RetryInfo",
    "type.googleapis.com/google.rpc.QuotaFailure",
  ]);
  const retry = fromBinary(RetryInfoSchema, details[0]?.value ?? new Uint8Array());
  expect(retry.retryDelay && durationMs(retry.retryDelay)).toBe(2000);
  const failure = fromBinary(QuotaFailureSchema, details[1]?.value ?? new Uint8Array());
  expect(failure.violations.map((v) => [v.subject, v.description])).toEqual([
    ["env:1", "0.5 requests per second, burst 1"],
  ]);
  // The health service is never limited.
  expect(await grpc.health("Check", {})).toMatchObject({ status: "SERVING" });
  clock.advance(2000);
  await grpc.scheduler("ListSchedulers", {}, auth);
});

it("the SDK's ResourceExhaustedError carries the delay", async () => {
  clock.advance(60_000);
  const client = new MetronomeClient({ baseUrl: server.url, token: TOKEN });
  try {
    const s = client.scheduler("sdk");
    await s.getJobs();
    const err = await s.getJobs().then(
      () => {
        throw new Error("the call succeeded");
      },
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ResourceExhaustedError);
    expect((err as ResourceExhaustedError).retryAfterMs).toBe(2000);
    expect(retryDelayOf(err)).toBe(2000);
    clock.advance(2000);
    expect(await s.getJobs()).toEqual([]);
  } finally {
    client.close();
  }
});
