/**
 * Request bodies that do not decode as their message (truncated, wrong wire types, invalid
 * UTF-8 in a string) answer INVALID_ARGUMENT in every binary protocol: gRPC (a grpc-js client
 * sending raw bytes), gRPC-Web and Connect over HTTP/1.1 (node:http) — never INTERNAL — and
 * change nothing; compressed (gzip) as well as plain. The same holds for a stream's messages
 * (a worker session's, first or later; a subscription's request), which Connect decodes as the
 * service reads them.
 */
import http from "node:http";
import { gzipSync } from "node:zlib";
import * as grpc from "@grpc/grpc-js";
import { create, toBinary } from "@bufbuild/protobuf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SessionRequestSchema } from "../../server/src/gen/metronome/v1/worker_service_pb.js";
import { postJson } from "../support/connect-json.js";
import { startTestNode, type TestNode } from "../support/node.js";
import { createSqliteStore, type TestStore } from "../support/stores.js";

// [description, the bytes of an AddJobRequest that is not one]
const BODIES: [string, Buffer][] = [
  ["08 05: field 1 (job, a message) as a varint", Buffer.from([0x08, 0x05])],
  ["job with a fixed32 wire type", Buffer.from([0x0d, 0, 0, 0, 0])],
  ["job's length past the end", Buffer.from([0x0a, 0x10, 0x0a])],
  ["job.id with invalid UTF-8", Buffer.from([0x0a, 0x04, 0x0a, 0x02, 0xff, 0xfe])],
  ["a varint that never ends", Buffer.from([0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])],
  ["field number 0", Buffer.from([0x00, 0x01])],
];

const ADD_JOB = "/metronome.v1.JobService/AddJob";
const SESSION = "/metronome.v1.WorkerService/Session";
const SUBSCRIBE = "/metronome.v1.EventService/Subscribe";

// [description, bytes that are no message of any type]
const NO_MESSAGE: [string, Buffer][] = [
  ["a varint that never ends", Buffer.from([0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])],
  ["field number 0", Buffer.from([0x00, 0x01])],
  ["field 1's length past the end", Buffer.from([0x0a, 0x10, 0x0a])],
];

const identity = (b: Buffer) => b;

/** The end-of-stream message of a Connect streaming response body (flags 0x02): its JSON. */
function endOfStream(body: Buffer): unknown {
  let at = 0;
  while (at + 5 <= body.length) {
    const flags = body.readUInt8(at);
    const length = body.readUInt32BE(at + 1);
    const message = body.subarray(at + 5, at + 5 + length);
    if ((flags & 0x02) !== 0) return JSON.parse(message.toString()) as unknown;
    at += 5 + length;
  }
  throw new Error(`no end-of-stream message in ${body.toString("hex")}`);
}

function envelope(bytes: Buffer, compressed = false): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt8(compressed ? 1 : 0, 0);
  head.writeUInt32BE(bytes.length, 1);
  return Buffer.concat([head, bytes]);
}

/** A POST over HTTP/1.1: the status, the headers and the body. */
function post(
  port: number,
  path: string,
  contentType: string,
  body: Buffer,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: "127.0.0.1",
        port,
        path,
        method: "POST",
        headers: { "content-type": contentType, ...headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks),
          });
        });
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

describe("request bodies that do not decode", () => {
  let store: TestStore;
  let server: TestNode;
  let client: grpc.Client;
  /** Sends every message gzip-compressed (grpc-encoding: gzip). */
  let gzipClient: grpc.Client;

  beforeAll(async () => {
    store = await createSqliteStore();
    server = await startTestNode(store.url);
    const address = `127.0.0.1:${String(server.port)}`;
    client = new grpc.Client(address, grpc.credentials.createInsecure());
    gzipClient = new grpc.Client(address, grpc.credentials.createInsecure(), {
      "grpc.default_compression_algorithm": grpc.compressionAlgorithms.gzip,
    });
  });
  afterAll(async () => {
    client.close();
    gzipClient.close();
    await server.stop();
    await store.drop();
  });

  const jobsNow = async () =>
    (await postJson(server.port, "/metronome.v1.JobService/ListJobs", {})).body;

  it.each(
    BODIES.flatMap(([what, bytes]): [string, Buffer, boolean][] => [
      [what, bytes, false],
      [`${what}, gzip-compressed`, bytes, true],
    ]),
  )("gRPC: %s → INVALID_ARGUMENT", async (_, bytes, gzip) => {
    const before = await jobsNow();
    const caller = gzip ? gzipClient : client;
    const status = await new Promise<grpc.ServiceError | null>((resolve) => {
      caller.makeUnaryRequest(
        ADD_JOB,
        (b: Buffer) => b,
        (b: Buffer) => b,
        bytes,
        (err) => {
          resolve(err);
        },
      );
    });
    expect(grpc.status[status?.code ?? grpc.status.OK]).toBe("INVALID_ARGUMENT");
    expect(status?.details).toMatch(
      /^the request does not decode as metronome\.v1\.AddJobRequest \(.+\)$/,
    );
    expect(await jobsNow()).toEqual(before);
  });

  it.each(BODIES)("Connect over HTTP/1.1: %s → invalid_argument", async (_, bytes) => {
    const res = await post(server.port, ADD_JOB, "application/proto", bytes);
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body.toString()) as unknown).toMatchObject({ code: "invalid_argument" });
  });

  it.each(BODIES)("Connect over HTTP/1.1, gzip: %s → invalid_argument", async (_, bytes) => {
    const res = await post(server.port, ADD_JOB, "application/proto", gzipSync(bytes), {
      "content-encoding": "gzip",
    });
    expect(res.status).toBe(400);
    const answer = JSON.parse(res.body.toString()) as { code?: string; message?: string };
    expect(answer.code).toBe("invalid_argument");
    expect(answer.message).toMatch(/^the request does not decode as metronome\.v1\.AddJobRequest/);
  });

  it.each(BODIES)("gRPC-Web over HTTP/1.1: %s → status 3", async (_, bytes) => {
    const res = await post(server.port, ADD_JOB, "application/grpc-web+proto", envelope(bytes));
    const trailers = res.body.toString("latin1");
    expect(`${String(res.headers["grpc-status"])} ${trailers}`).toMatch(/grpc-status:? ?3\b/);
  });

  it.each(BODIES)("gRPC-Web over HTTP/1.1, gzip: %s → status 3", async (_, bytes) => {
    const res = await post(
      server.port,
      ADD_JOB,
      "application/grpc-web+proto",
      envelope(gzipSync(bytes), true),
      { "grpc-encoding": "gzip" },
    );
    const trailers = res.body.toString("latin1");
    expect(`${String(res.headers["grpc-status"])} ${trailers}`).toMatch(/grpc-status:? ?3\b/);
  });

  it("a valid binary request next to them is answered", async () => {
    // AddJobRequest{job: Job{id: "v", handler: "a.b", trigger: Trigger{crontab{expression}}}}
    const expression = Buffer.from("0 * * * *");
    const crontab = Buffer.concat([Buffer.from([0x0a, expression.length]), expression]);
    const trigger = Buffer.concat([Buffer.from([0x12, crontab.length]), crontab]);
    const job = Buffer.concat([
      Buffer.from([0x0a, 1]),
      Buffer.from("v"),
      Buffer.from([0x22, 3]),
      Buffer.from("a.b"),
      Buffer.from([0x2a, trigger.length]),
      trigger,
    ]);
    const res = await post(
      server.port,
      ADD_JOB,
      "application/proto",
      Buffer.concat([Buffer.from([0x0a, job.length]), job]),
    );
    expect(res.status).toBe(200);
  });

  /** The error a bidi Session stream ends with after `messages` were written (answers awaited). */
  const sessionError = (messages: Buffer[]) =>
    new Promise<grpc.ServiceError>((resolve) => {
      const call = client.makeBidiStreamRequest(SESSION, identity, identity);
      const queue = [...messages];
      const writeNext = () => {
        const next = queue.shift();
        if (next !== undefined) call.write(next);
      };
      // After the hello, the next message waits for the welcome.
      call.on("data", writeNext);
      call.on("error", resolve);
      call.on("end", () => {
        resolve(
          Object.assign(new Error("the stream ended without an error"), {
            code: grpc.status.OK,
            details: "",
            metadata: new grpc.Metadata(),
          }),
        );
      });
      writeNext();
    });

  const HELLO = Buffer.from(
    toBinary(
      SessionRequestSchema,
      create(SessionRequestSchema, {
        payload: {
          case: "hello",
          value: { workerId: "w-1", handlers: [{ handler: "a.b", maxConcurrency: 1 }] },
        },
      }),
    ),
  );

  it.each(
    NO_MESSAGE.flatMap(([what, bytes]): [string, string, Buffer[]][] => [
      ["first message", what, [bytes]],
      ["message after its hello", what, [HELLO, bytes]],
    ]),
  )("gRPC: a worker session's %s, %s → INVALID_ARGUMENT", async (_, __, messages) => {
    const err = await sessionError(messages);
    expect(grpc.status[err.code]).toBe("INVALID_ARGUMENT");
    expect(err.details).toMatch(
      /^the request does not decode as metronome\.v1\.SessionRequest \(.+\)$/,
    );
  });

  it.each(NO_MESSAGE)("gRPC: a subscription's request, %s → INVALID_ARGUMENT", async (_, bytes) => {
    const err = await new Promise<grpc.ServiceError>((resolve) => {
      const call = client.makeServerStreamRequest(SUBSCRIBE, identity, identity, bytes);
      call.on("data", () => undefined);
      call.on("error", resolve);
    });
    expect(grpc.status[err.code]).toBe("INVALID_ARGUMENT");
    expect(err.details).toMatch(
      /^the request does not decode as metronome\.v1\.SubscribeRequest \(.+\)$/,
    );
  });

  it.each(NO_MESSAGE)(
    "Connect streaming over HTTP/1.1: a subscription's request, %s → invalid_argument",
    async (_, bytes) => {
      const res = await post(server.port, SUBSCRIBE, "application/connect+proto", envelope(bytes));
      expect(res.status).toBe(200);
      expect(endOfStream(res.body)).toMatchObject({
        error: {
          code: "invalid_argument",
          message: expect.stringMatching(
            /^the request does not decode as metronome\.v1\.SubscribeRequest \(/,
          ) as unknown,
        },
      });
    },
  );

  it.each(NO_MESSAGE)(
    "gRPC-Web over HTTP/1.1: a subscription's request, %s → status 3",
    async (_, bytes) => {
      const res = await post(server.port, SUBSCRIBE, "application/grpc-web+proto", envelope(bytes));
      const trailers = res.body.toString("latin1");
      expect(`${String(res.headers["grpc-status"])} ${trailers}`).toMatch(/grpc-status:? ?3\b/);
    },
  );

  it("a worker session whose messages decode is welcomed", async () => {
    const welcomed = await new Promise<boolean>((resolve, reject) => {
      const call = client.makeBidiStreamRequest(SESSION, identity, identity);
      call.on("data", () => {
        call.cancel();
        resolve(true);
      });
      call.on("error", (err: grpc.ServiceError) => {
        if (err.code !== grpc.status.CANCELLED) reject(err);
      });
      call.write(HELLO);
    });
    expect(welcomed).toBe(true);
  });
});
