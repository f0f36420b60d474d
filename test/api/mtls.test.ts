/**
 * mTLS identities (docs/security.md): a node with TLS, a client CA and an identities file, and
 * no bootstrap token (client certificates turn authentication on by themselves). Certificates
 * are made here with openssl: a server CA, a client CA, and a CA the node does not trust.
 *
 * - a mapped certificate gets exactly its entry's scopes: its URI name's entry, not its common
 *   name's (precedence); an allowed call works, a forbidden one is PERMISSION_DENIED and changes
 *   nothing; its changes record the actor `cert:<identity>` (job, event);
 * - an unmapped certificate, one from another CA (with a mapped common name), no certificate and
 *   no token: UNAUTHENTICATED, over Connect and @grpc/grpc-js;
 * - a certificate and a bearer token: the token decides alone;
 * - the SDK: a client and a worker session with certificates (the worker's scope allows its
 *   handlers, and a handler it does not allow is refused).
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as grpc from "@grpc/grpc-js";
import { fromJson } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import { Http2SessionManager, createGrpcTransport } from "@connectrpc/connect-node";
import {
  MetronomeClient,
  PermissionDeniedError,
  UnauthenticatedError,
  Worker,
  defineHandler,
} from "@metronome/sdk";
import { EventService } from "../../server/src/gen/metronome/v1/event_service_pb.js";
import { EventType } from "../../server/src/gen/metronome/v1/event_pb.js";
import { JobService } from "../../server/src/gen/metronome/v1/job_service_pb.js";
import { KeyService } from "../../server/src/gen/metronome/v1/key_service_pb.js";
import { TriggerSchema } from "../../server/src/gen/metronome/v1/trigger_pb.js";
import {
  certificateFolder,
  type CertificateFolder,
  type KeyPair,
} from "../support/certificates.js";
import { grpcJsClients } from "../support/grpc-js.js";
import { startTestNode, type TestNode } from "../support/node.js";

const quiet = { debug() {}, info() {}, warn() {}, error() {} };
const trigger = fromJson(TriggerSchema, { date: { runDate: "2100-01-01T00:00:00Z" } });
const job = (scheduler: string, id: string, handler = "h") => ({
  job: { id, scheduler, handler, trigger },
});

let certs: CertificateFolder;
let serverCa: KeyPair;
let node: TestNode;
let url: string;
/** Client certificates, by who holds them. */
const held: Record<string, KeyPair> = {};
const sessions: Http2SessionManager[] = [];

/** A gRPC transport over TLS presenting `cert` (none when undefined). */
function transport(cert: KeyPair | undefined): Transport {
  const manager = new Http2SessionManager(url, undefined, {
    ca: serverCa.cert,
    ...(cert === undefined ? {} : { cert: cert.cert, key: cert.key }),
  });
  sessions.push(manager);
  return createGrpcTransport({ baseUrl: url, sessionManager: manager });
}

const jobsAs = (who: string | undefined) =>
  createClient(JobService, transport(who === undefined ? undefined : held[who]));

async function codeOf(call: Promise<unknown>): Promise<Code | "OK"> {
  try {
    await call;
    return "OK";
  } catch (err) {
    return ConnectError.from(err).code;
  }
}

beforeAll(async () => {
  certs = certificateFolder();
  const serverAuthority = certs.authority("server-ca");
  serverCa = serverAuthority;
  const server = serverAuthority.server();
  const clients = certs.authority("client-ca");
  const rogue = certs.authority("rogue-ca");
  held.billing = clients.client(
    "billing",
    "/CN=billing-svc",
    "URI:spiffe://example.org/billing,DNS:billing.internal",
  );
  held.worker = clients.client("worker", "/CN=reports", "DNS:Reports-Worker.internal");
  held.ops = clients.client("ops", "/O=Example/CN=ops");
  held.stranger = clients.client("stranger", "/CN=stranger", "email:stranger@example.org");
  // The admin's common name on a certificate whose SAN name is not in the file: the CA vouches
  // for SAN names, the requester may choose the common name, so it counts for nothing.
  held.spoof = clients.client("spoof", "/CN=ops", "URI:spiffe://example.org/unknown");
  // Another CA's certificate with the admin's common name.
  held.rogue = rogue.client("rogue", "/CN=ops");

  const identities = join(certs.dir, "identities.json");
  writeFileSync(
    identities,
    JSON.stringify({
      "uri:spiffe://example.org/billing": ["write:billing"],
      // The billing certificate's common name: never used, its URI name comes first.
      "cn:billing-svc": ["read:*"],
      // DNS names are compared in lower case.
      "dns:reports-worker.internal": ["worker:reports.*"],
      "cn:ops": ["admin"],
    }),
  );
  node = await startTestNode("sqlite:///:memory:", {
    METRONOME_TLS_CERT: server.certFile,
    METRONOME_TLS_KEY: server.keyFile,
    METRONOME_TLS_CLIENT_CA: clients.certFile,
    METRONOME_TLS_CLIENT_IDENTITIES: identities,
  });
  // localhost, not 127.0.0.1: TLS clients send the host name (SNI), which may not be an address.
  url = `https://localhost:${String(node.port)}`;
});

afterAll(async () => {
  for (const s of sessions) s.abort();
  await node.stop();
  certs.remove();
});

describe("a mapped certificate", () => {
  it("gets exactly its entry's scopes, and a refused call changes nothing", async () => {
    const billing = jobsAs("billing");
    await billing.addJob(job("billing", "invoice"));
    expect((await billing.getJob({ scheduler: "billing", jobId: "invoice" })).job?.id).toBe(
      "invoice",
    );
    // write:billing only: its common name's read:* does not apply.
    expect(await codeOf(billing.addJob(job("other", "sneaky")))).toBe(Code.PermissionDenied);
    expect(await codeOf(billing.listJobs({ scheduler: "other" }))).toBe(Code.PermissionDenied);
    expect(await node.node.store.getJob("other", "sneaky")).toBeNull();
    // The admin certificate sees nothing in "other" either.
    expect((await jobsAs("ops").listJobs({ scheduler: "other" })).jobs).toEqual([]);
  });

  it("records cert:<identity> as the actor of its changes", async () => {
    const billing = jobsAs("billing");
    await billing.addJob(job("billing", "audited"));
    await billing.pauseJob({ scheduler: "billing", jobId: "audited" });
    const stored = await node.node.store.getJob("billing", "audited");
    expect(stored?.modifiedBy).toBe("cert:uri:spiffe://example.org/billing");

    await node.node.events.flush();
    const seen: [string, string][] = [];
    const stop = new AbortController();
    const events = createClient(EventService, transport(held.ops));
    for await (const m of events.subscribe(
      { start: { case: "afterCursor", value: 0n } },
      { signal: stop.signal },
    )) {
      for (const e of m.events) if (e.jobId === "audited") seen.push([EventType[e.type], e.actor]);
      if (m.live) break;
    }
    stop.abort();
    expect(seen).toEqual([
      ["JOB_ADDED", "cert:uri:spiffe://example.org/billing"],
      ["JOB_MODIFIED", "cert:uri:spiffe://example.org/billing"],
    ]);
  });
});

describe("no identity", () => {
  it("an unmapped certificate (a mapped common name beside SAN names included), another CA's, none at all: UNAUTHENTICATED (Connect)", async () => {
    for (const who of ["stranger", "spoof", "rogue", undefined]) {
      const err = await jobsAs(who)
        .listJobs({ scheduler: "billing" })
        .then(
          () => undefined,
          (e: unknown) => ConnectError.from(e),
        );
      expect(err?.code, String(who)).toBe(Code.Unauthenticated);
      expect(err?.rawMessage, String(who)).toMatch(
        who === "stranger"
          ? /identities \("email:stranger@example\.org"\) have no scopes/
          : who === "spoof"
            ? /identities \("uri:spiffe:\/\/example\.org\/unknown"\) have no scopes/
            : who === "rogue"
              ? /not trusted/
              : /no bearer token and no client certificate/,
      );
    }
  });

  it("the same over @grpc/grpc-js, and a mapped certificate works there", async () => {
    const tls = (pair: KeyPair | undefined) =>
      grpc.credentials.createSsl(serverCa.cert, pair?.key ?? null, pair?.cert ?? null);
    const codes: Record<string, number | "OK"> = {};
    for (const who of ["billing", "stranger", "rogue", "none"]) {
      const clients = grpcJsClients(node.port, tls(held[who]));
      try {
        await clients.job("ListJobs", { scheduler: "billing" });
        codes[who] = "OK";
      } catch (err) {
        codes[who] = (err as grpc.ServiceError).code;
      } finally {
        clients.close();
      }
    }
    expect(codes).toEqual({
      billing: "OK",
      stranger: grpc.status.UNAUTHENTICATED,
      rogue: grpc.status.UNAUTHENTICATED,
      none: grpc.status.UNAUTHENTICATED,
    });
  });
});

describe("a certificate and a bearer token", () => {
  it("the token decides alone: its scopes, not the certificate's; a bad token fails", async () => {
    // API keys work without bootstrap tokens: an admin certificate makes one.
    const keys = createClient(KeyService, transport(held.ops));
    const created = await keys.createKey({ name: "reader", scopes: ["read:other"] });
    expect(created.key?.createdBy).toBe("cert:cn:ops");
    const withKey = { headers: { authorization: `Bearer ${created.secret}` } };

    const billing = jobsAs("billing");
    expect(await codeOf(billing.listJobs({ scheduler: "other" }, withKey))).toBe("OK");
    expect(await codeOf(billing.addJob(job("billing", "by-key"), withKey))).toBe(
      Code.PermissionDenied,
    );
    expect(await node.node.store.getJob("billing", "by-key")).toBeNull();
    const bad = { headers: { authorization: "Bearer not-a-key" } };
    expect(await codeOf(billing.listJobs({ scheduler: "billing" }, bad))).toBe(
      Code.Unauthenticated,
    );
  });
});

describe("the SDK", () => {
  it("a client presents its certificate (tls option)", async () => {
    const client = new MetronomeClient({
      baseUrl: url,
      tls: { ca: serverCa.cert, cert: held.billing?.cert, key: held.billing?.key },
      logger: quiet,
    });
    try {
      const got = await client.jobs.getJob({ scheduler: "billing", jobId: "invoice" });
      expect(got.job?.modifiedBy).toBe("cert:uri:spiffe://example.org/billing");
    } finally {
      client.close();
    }
  });

  it("a worker session with a worker certificate executes its runs", async () => {
    let ran!: (runId: string) => void;
    const executed = new Promise<string>((resolve) => {
      ran = resolve;
    });
    const worker = new Worker({
      baseUrl: url,
      tls: { ca: serverCa.cert, cert: held.worker?.cert, key: held.worker?.key },
      logger: quiet,
      workerId: "mtls-worker",
    });
    worker.register(
      defineHandler("reports.daily", (_args, _kwargs, ctx) => {
        ran(ctx.runId);
        return "done";
      }),
    );
    try {
      await worker.start();
      const ops = jobsAs("ops");
      await ops.addJob(job("reports", "daily", "reports.daily"));
      const run = (await ops.runJobNow({ scheduler: "reports", jobId: "daily" })).run;
      expect(run?.triggeredBy).toBe("cert:cn:ops");
      expect(await executed).toBe(run?.runId);
    } finally {
      await worker.stop({ graceMs: 1000 });
    }
  });

  it("a worker certificate cannot serve other handlers; no certificate cannot start", async () => {
    const refused = async (cert: KeyPair | undefined, handler: string) => {
      const worker = new Worker({
        baseUrl: url,
        tls: {
          ca: serverCa.cert,
          ...(cert === undefined ? {} : { cert: cert.cert, key: cert.key }),
        },
        logger: quiet,
        workerId: "mtls-refused",
      });
      worker.register(defineHandler(handler, () => "never"));
      try {
        return await worker.start().then(
          () => "OK" as const,
          (err: unknown) => err,
        );
      } finally {
        await worker.stop({ graceMs: 0 });
      }
    };
    const denied = await refused(held.worker, "billing.charge");
    expect(denied).toBeInstanceOf(PermissionDeniedError);
    expect(String(denied)).toContain("hello.handlers[0].handler");
    expect(await refused(undefined, "reports.daily")).toBeInstanceOf(UnauthenticatedError);
  });
});
