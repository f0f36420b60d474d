/**
 * A repeated idempotency key's answer is made without the service (api/idempotency.ts): it must
 * be a well-formed response in every protocol the port serves, marked `idempotent-replayed`.
 */
import { randomUUID } from "node:crypto";
import { Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import {
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
} from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JobService } from "../../server/src/gen/metronome/v1/job_service_pb.js";
import { startTestNode, type TestNode } from "../support/node.js";

describe("a repeated idempotency key in every protocol", () => {
  let server: TestNode;
  beforeAll(async () => {
    server = await startTestNode("sqlite:///:memory:");
  });
  afterAll(() => server.stop());

  const transports: [string, () => Transport][] = [
    ["gRPC over HTTP/2", () => createGrpcTransport({ baseUrl: server.url })],
    [
      "gRPC-Web over HTTP/1.1",
      () => createGrpcWebTransport({ baseUrl: server.url, httpVersion: "1.1" }),
    ],
    [
      "gRPC-Web JSON over HTTP/2",
      () =>
        createGrpcWebTransport({ baseUrl: server.url, httpVersion: "2", useBinaryFormat: false }),
    ],
    [
      "Connect binary over HTTP/2",
      () => createConnectTransport({ baseUrl: server.url, httpVersion: "2" }),
    ],
    [
      "Connect JSON over HTTP/1.1",
      () =>
        createConnectTransport({ baseUrl: server.url, httpVersion: "1.1", useBinaryFormat: false }),
    ],
  ];

  it.each(transports)("%s", async (name, transport) => {
    const jobs = createClient(JobService, transport());
    const jobId = name.replace(/[^A-Za-z0-9]+/g, "-");
    await jobs.addJob({
      job: {
        id: jobId,
        handler: "a.b",
        trigger: { kind: { case: "crontab", value: { expression: "0 0 1 1 *" } } },
      },
    });
    const headers = { "idempotency-key": randomUUID() };
    const replayed: (string | null)[] = [];
    const onHeader = (h: Headers): void => {
      replayed.push(h.get("idempotent-replayed"));
    };
    const first = await jobs.runJobNow({ jobId }, { headers, onHeader });
    const again = await jobs.runJobNow({ jobId }, { headers, onHeader });
    expect(again).toEqual(first);
    expect(replayed).toEqual([null, "true"]);
    const runs = await jobs.runJobNow({ jobId }); // without the key: a second run
    expect(runs.run?.runId).not.toBe(first.run?.runId);

    // A remembered refusal comes back with its code and message.
    const missing = { "idempotency-key": randomUUID() };
    const refusal = async (): Promise<ConnectError> => {
      try {
        await jobs.runJobNow({ jobId: `${jobId}-missing` }, { headers: missing });
      } catch (err) {
        return ConnectError.from(err);
      }
      throw new Error("the call succeeded");
    };
    const [a, b] = [await refusal(), await refusal()];
    expect(a.code).toBe(Code.NotFound);
    expect([b.code, b.rawMessage]).toEqual([a.code, a.rawMessage]);
  });
});
