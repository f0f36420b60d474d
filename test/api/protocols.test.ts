/**
 * The same call over each protocol the port serves, with Connect's own clients and the generated
 * code: gRPC (HTTP/2), gRPC-Web (HTTP/1.1 and HTTP/2) and Connect (binary over HTTP/2, JSON over
 * HTTP/1.1).
 */
import { createClient, type Transport } from "@connectrpc/connect";
import {
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
} from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  HealthCheckResponse_ServingStatus,
  Health,
} from "../../server/src/gen/grpc/health/v1/health_pb.js";
import { JobService } from "../../server/src/gen/metronome/v1/job_service_pb.js";
import { startTestNode, type TestNode } from "../support/node.js";

describe("every protocol on one port", () => {
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
      "gRPC-Web over HTTP/2",
      () => createGrpcWebTransport({ baseUrl: server.url, httpVersion: "2" }),
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
    const t = transport();
    const health = createClient(Health, t);
    expect((await health.check({})).status).toBe(HealthCheckResponse_ServingStatus.SERVING);
    const jobs = createClient(JobService, t);
    const id = name.replace(/[^A-Za-z0-9]+/g, "-");
    const added = await jobs.addJob({
      job: {
        id,
        handler: "a.b",
        trigger: { kind: { case: "crontab", value: { expression: "0 * * * *" } } },
      },
    });
    expect(added.job?.id).toBe(id);
    expect((await jobs.getJob({ jobId: id })).job?.handler).toBe("a.b");
  });
});
