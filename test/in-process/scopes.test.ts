/**
 * Every RPC × every scope (docs/security.md, api/access.ts), through the router and its
 * interceptor in process: without a valid key UNAUTHENTICATED; with a key whose scopes do not
 * cover the call PERMISSION_DENIED and nothing changed in the store; with one that does, the
 * call goes through (whatever the service then answers). The RPCs are read from the services
 * the router serves, so a new RPC without a rule here (and in access.ts) fails this file.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code, ConnectError, type Client } from "@connectrpc/connect";
import { fromJson } from "@bufbuild/protobuf";
import { TriggerSchema, type Trigger } from "../../server/src/gen/metronome/v1/trigger_pb.js";
import { SERVICES } from "../../server/src/api/router.js";
import { Health } from "../../server/src/gen/grpc/health/v1/health_pb.js";
import { ClusterService } from "../../server/src/gen/metronome/v1/cluster_service_pb.js";
import { EventService } from "../../server/src/gen/metronome/v1/event_service_pb.js";
import { ConflictPolicy, JobService } from "../../server/src/gen/metronome/v1/job_service_pb.js";
import { KeyService } from "../../server/src/gen/metronome/v1/key_service_pb.js";
import { RunService } from "../../server/src/gen/metronome/v1/run_service_pb.js";
import { SchedulerService } from "../../server/src/gen/metronome/v1/scheduler_service_pb.js";
import { TriggerService } from "../../server/src/gen/metronome/v1/trigger_service_pb.js";
import {
  WorkerService,
  type SessionRequest,
} from "../../server/src/gen/metronome/v1/worker_service_pb.js";
import { startInProcessNode, type InProcessNode } from "../support/in-process.js";

const ADMIN_TOKEN = "bootstrap-admin-token";

/** The scope sets tried on every RPC (`none`: no credentials at all; `bogus`: a wrong secret). */
const SCOPES = {
  none: null,
  bogus: null,
  admin: ["admin"],
  "read:s1": ["read:s1"],
  "write:s1": ["write:s1"],
  "events:s1": ["events:s1"],
  "worker:h1": ["worker:h1"],
  "worker:h*": ["worker:h*"],
  "read:s2": ["read:s2"],
  "write:s2": ["write:s2"],
  "events:s2": ["events:s2"],
  "read:*": ["read:*"],
  "worker:x": ["worker:x"],
} as const;
type ScopeCase = keyof typeof SCOPES;

const ALL_KEYS: readonly ScopeCase[] = (Object.keys(SCOPES) as ScopeCase[]).filter(
  (s) => s !== "none" && s !== "bogus",
);
const WRITE_S1: readonly ScopeCase[] = ["admin", "write:s1"];
const READ_S1: readonly ScopeCase[] = ["admin", "read:s1", "write:s1", "read:*"];
const ANY_READ: readonly ScopeCase[] = [
  "admin",
  "read:s1",
  "write:s1",
  "read:s2",
  "write:s2",
  "read:*",
];

interface Fixture {
  runId: string;
  spareKeyId: string;
}

interface Clients {
  readonly schedulers: Client<typeof SchedulerService>;
  readonly jobs: Client<typeof JobService>;
  readonly triggers: Client<typeof TriggerService>;
  readonly runs: Client<typeof RunService>;
  readonly workers: Client<typeof WorkerService>;
  readonly events: Client<typeof EventService>;
  readonly cluster: Client<typeof ClusterService>;
  readonly keys: Client<typeof KeyService>;
  readonly health: Client<typeof Health>;
}

interface Case {
  /** Who may make the call ("none" too for the health service). */
  readonly allowed: readonly (ScopeCase | "none")[];
  /**
   * Keys refused as if the record did not exist (NOT_FOUND, as for an unknown id): a call that
   * names only a run's id must not tell a key that cannot read the run's scheduler that it exists.
   */
  readonly hidden?: readonly ScopeCase[];
  readonly call: (c: Clients, f: Fixture) => Promise<unknown>;
}

const dateTrigger = (iso: string): Trigger => fromJson(TriggerSchema, { date: { runDate: iso } });
const job = {
  id: "j1",
  scheduler: "s1",
  handler: "jobs.h",
  trigger: dateTrigger("2100-01-01T00:00:00Z"),
};

/** Reads a stream's first message, then ends it. */
async function first(stream: AsyncIterable<unknown>): Promise<void> {
  const it = stream[Symbol.asyncIterator]();
  try {
    await it.next();
  } finally {
    await it.return?.();
  }
}

async function* hello(handler: string): AsyncIterable<SessionRequest> {
  yield {
    $typeName: "metronome.v1.SessionRequest",
    payload: {
      case: "hello",
      value: {
        $typeName: "metronome.v1.WorkerHello",
        workerId: "w",
        handlers: [{ $typeName: "metronome.v1.HandlerRegistration", handler, maxConcurrency: 1 }],
        maxConcurrency: 1,
        labels: {},
        resumedLeases: [],
        acceptsEarly: false,
        acceptsBatches: false,
      },
    },
  } as unknown as SessionRequest;
  await new Promise(() => undefined); // the session stays open until the test ends it
}

const CASES: Record<string, Case> = {
  "grpc.health.v1.Health/Check": {
    allowed: ["none", "bogus", ...ALL_KEYS],
    call: (c) => c.health.check({}),
  },
  "grpc.health.v1.Health/Watch": {
    allowed: ["none", "bogus", ...ALL_KEYS],
    call: (c) => first(c.health.watch({})),
  },
  "grpc.health.v1.Health/List": {
    allowed: ["none", "bogus", ...ALL_KEYS],
    call: (c) => c.health.list({}),
  },
  "metronome.v1.SchedulerService/ConfigureScheduler": {
    allowed: WRITE_S1,
    call: (c) => c.schedulers.configureScheduler({ name: "s1", timezone: "Europe/Paris" }),
  },
  "metronome.v1.SchedulerService/GetScheduler": {
    allowed: READ_S1,
    call: (c) => c.schedulers.getScheduler({ name: "s1" }),
  },
  "metronome.v1.SchedulerService/ListSchedulers": {
    allowed: ANY_READ,
    call: (c) => c.schedulers.listSchedulers({}),
  },
  "metronome.v1.SchedulerService/PauseScheduler": {
    allowed: WRITE_S1,
    call: (c) => c.schedulers.pauseScheduler({ name: "s1" }),
  },
  "metronome.v1.SchedulerService/ResumeScheduler": {
    allowed: WRITE_S1,
    call: (c) => c.schedulers.resumeScheduler({ name: "s1" }),
  },
  "metronome.v1.JobService/AddJob": {
    allowed: WRITE_S1,
    call: (c) => c.jobs.addJob({ job: { ...job, id: "added" } }),
  },
  "metronome.v1.JobService/AddJobs": {
    allowed: WRITE_S1,
    call: (c) => c.jobs.addJobs({ jobs: [{ ...job, id: "bulk" }] }),
  },
  "metronome.v1.JobService/GetJob": {
    allowed: READ_S1,
    call: (c) => c.jobs.getJob({ scheduler: "s1", jobId: "j1" }),
  },
  "metronome.v1.JobService/ListJobs": {
    allowed: READ_S1,
    call: (c) => c.jobs.listJobs({ scheduler: "s1" }),
  },
  "metronome.v1.JobService/ModifyJob": {
    allowed: WRITE_S1,
    call: (c) =>
      c.jobs.modifyJob({ job: { ...job, name: "renamed" }, updateMask: { paths: ["name"] } }),
  },
  "metronome.v1.JobService/RescheduleJob": {
    allowed: WRITE_S1,
    call: (c) =>
      c.jobs.rescheduleJob({
        scheduler: "s1",
        jobId: "j1",
        trigger: dateTrigger("2100-01-01T01:00:00Z"),
      }),
  },
  "metronome.v1.JobService/PauseJob": {
    allowed: WRITE_S1,
    call: (c) => c.jobs.pauseJob({ scheduler: "s1", jobId: "j1" }),
  },
  "metronome.v1.JobService/ResumeJob": {
    allowed: WRITE_S1,
    call: (c) => c.jobs.resumeJob({ scheduler: "s1", jobId: "j1" }),
  },
  "metronome.v1.JobService/RemoveJob": {
    allowed: WRITE_S1,
    call: (c) => c.jobs.removeJob({ scheduler: "s1", jobId: "j1" }),
  },
  "metronome.v1.JobService/RemoveAllJobs": {
    allowed: WRITE_S1,
    call: (c) => c.jobs.removeAllJobs({ scheduler: "s1" }),
  },
  "metronome.v1.JobService/RunJobNow": {
    allowed: WRITE_S1,
    call: (c) => c.jobs.runJobNow({ scheduler: "s1", jobId: "j1" }),
  },
  "metronome.v1.TriggerService/PreviewTrigger": {
    allowed: ALL_KEYS,
    call: (c) =>
      c.triggers.previewTrigger({
        trigger: fromJson(TriggerSchema, { crontab: { expression: "0 9 * * *" } }),
        count: 1,
      }),
  },
  "metronome.v1.RunService/ListRuns": {
    allowed: READ_S1,
    call: (c) => c.runs.listRuns({ scheduler: "s1" }),
  },
  "metronome.v1.RunService/GetRun": {
    allowed: READ_S1,
    hidden: ["read:s2", "write:s2"],
    call: (c, f) => c.runs.getRun({ runId: f.runId }),
  },
  "metronome.v1.RunService/CancelRun": {
    allowed: WRITE_S1,
    hidden: ["write:s2"],
    call: (c, f) => c.runs.cancelRun({ runId: f.runId, reason: "test" }),
  },
  "metronome.v1.WorkerService/Session": {
    allowed: ["admin", "worker:h1", "worker:h*"],
    call: (c) => first(c.workers.session(hello("h1"))),
  },
  "metronome.v1.EventService/Subscribe": {
    allowed: ["admin", "events:s1"],
    call: (c) => first(c.events.subscribe({ filter: { schedulers: ["s1"] } })),
  },
  "metronome.v1.ClusterService/ListWorkers": {
    allowed: ["admin"],
    call: (c) => c.cluster.listWorkers({}),
  },
  "metronome.v1.ClusterService/ListNodes": {
    allowed: ["admin"],
    call: (c) => c.cluster.listNodes({}),
  },
  "metronome.v1.KeyService/CreateKey": {
    allowed: ["admin"],
    call: (c) => c.keys.createKey({ name: "made", scopes: ["read:s1"] }),
  },
  "metronome.v1.KeyService/ListKeys": { allowed: ["admin"], call: (c) => c.keys.listKeys({}) },
  "metronome.v1.KeyService/RevokeKey": {
    allowed: ["admin"],
    call: (c, f) => c.keys.revokeKey({ keyId: f.spareKeyId }),
  },
};

describe("every RPC × every scope", () => {
  let n: InProcessNode;
  const secrets = new Map<ScopeCase, string>();
  const admin = (): Clients => clientsWith({ authorization: `Bearer ${ADMIN_TOKEN}` });
  const clientsWith = (headers: Record<string, string>): Clients => ({
    schedulers: n.client(SchedulerService, headers),
    jobs: n.client(JobService, headers),
    triggers: n.client(TriggerService, headers),
    runs: n.client(RunService, headers),
    workers: n.client(WorkerService, headers),
    events: n.client(EventService, headers),
    cluster: n.client(ClusterService, headers),
    keys: n.client(KeyService, headers),
    health: n.client(Health, headers),
  });

  beforeAll(async () => {
    n = await startInProcessNode({ env: { METRONOME_AUTH_TOKENS: ADMIN_TOKEN } });
    const keys = n.client(KeyService, { authorization: `Bearer ${ADMIN_TOKEN}` });
    for (const [name, scopes] of Object.entries(SCOPES)) {
      if (scopes === null) continue;
      const made = await keys.createKey({ name, scopes: [...scopes] });
      secrets.set(name as ScopeCase, made.secret);
    }
    // A real key's id with a wrong secret.
    const real = secrets.get("admin") ?? "";
    secrets.set("bogus", `${real.slice(0, real.length - 4)}AAAA`);
  });
  afterAll(async () => {
    await n.stop();
  });

  /** The fixture a call may need: job j1 in s1 (far future), a pending run of it, a key. */
  async function fixture(rpc: string): Promise<Fixture> {
    const c = admin();
    await c.schedulers.resumeScheduler({ name: "s1" });
    await c.jobs.addJob({ job, conflictPolicy: ConflictPolicy.REPLACE });
    const runId = rpc.includes("RunService/")
      ? ((await c.jobs.runJobNow({ scheduler: "s1", jobId: "j1" })).run?.runId ?? "")
      : "";
    const spareKeyId = rpc.endsWith("/RevokeKey")
      ? ((await c.keys.createKey({ name: "spare", scopes: ["read:s1"] })).key?.keyId ?? "")
      : "";
    return { runId, spareKeyId };
  }

  /** What a refused call must leave as it was (worker session events aside). */
  async function snapshot(): Promise<string> {
    const s = n.node.store;
    await n.node.events.flush();
    const state = await s.logState();
    const read = await s.readEvents(0, state.last, 100_000);
    return JSON.stringify({
      schedulers: await s.listSchedulers(),
      jobs: (await s.listJobs({ orderBy: "id", pageSize: 1000 })).items,
      runs: await s.listRuns({ scheduler: "s1", statuses: [], limit: 1000 }),
      keys: await s.listKeys(),
      events: read.events.filter((e) => !e.type.startsWith("worker_")),
    });
  }

  it("has a case for every RPC the router serves, and access.ts a rule for each", async () => {
    const { ACCESS } = await import("../../server/src/api/access.js");
    const served = [...SERVICES, Health].flatMap((s) =>
      s.methods.map((m) => `${s.typeName}/${m.name}`),
    );
    expect(Object.keys(CASES).sort()).toEqual([...served].sort());
    expect(Object.keys(ACCESS).sort()).toEqual([...served].sort());
  });

  const codeOf = async (p: Promise<unknown>): Promise<Code | "OK"> => {
    try {
      await p;
      return "OK";
    } catch (err) {
      return ConnectError.from(err).code;
    }
  };

  for (const [rpc, kase] of Object.entries(CASES)) {
    it(rpc, async () => {
      const seen: string[] = [];
      for (const scope of Object.keys(SCOPES) as ScopeCase[]) {
        const f = await fixture(rpc);
        const headers: Record<string, string> =
          scope === "none" ? {} : { authorization: `Bearer ${secrets.get(scope) ?? ""}` };
        const before = await snapshot();
        const code = await codeOf(
          Promise.race([
            kase.call(clientsWith(headers), f),
            // Streams answer their first message at once; a session is ended by the test.
            new Promise((resolve) => setTimeout(resolve, 2000, "open")),
          ]),
        );
        const allowed = kase.allowed.includes(scope);
        if (allowed) {
          expect([Code.Unauthenticated, Code.PermissionDenied], `${rpc} as ${scope}`).not.toContain(
            code,
          );
        } else if (scope === "none" || scope === "bogus") {
          expect(code, `${rpc} as ${scope}`).toBe(Code.Unauthenticated);
          expect(await snapshot(), `${rpc} as ${scope} changed the store`).toBe(before);
        } else {
          const hidden = kase.hidden?.includes(scope) === true;
          expect(code, `${rpc} as ${scope}`).toBe(hidden ? Code.NotFound : Code.PermissionDenied);
          expect(await snapshot(), `${rpc} as ${scope} changed the store`).toBe(before);
        }
        seen.push(scope);
      }
      expect(seen).toHaveLength(Object.keys(SCOPES).length);
    });
  }
});
