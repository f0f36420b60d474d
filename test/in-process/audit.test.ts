/**
 * The audit (docs/security.md): changes made with two different keys record the right actor in
 * the events (as subscribers receive them) and in the stored records (job, scheduler, run, key);
 * the bootstrap token is `env:1`; what the scheduler does by itself has no actor.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { fromJson } from "@bufbuild/protobuf";
import { EventService } from "../../server/src/gen/metronome/v1/event_service_pb.js";
import { EventType } from "../../server/src/gen/metronome/v1/event_pb.js";
import { JobService } from "../../server/src/gen/metronome/v1/job_service_pb.js";
import { KeyService } from "../../server/src/gen/metronome/v1/key_service_pb.js";
import { RunService } from "../../server/src/gen/metronome/v1/run_service_pb.js";
import { SchedulerService } from "../../server/src/gen/metronome/v1/scheduler_service_pb.js";
import { TriggerSchema } from "../../server/src/gen/metronome/v1/trigger_pb.js";
import { startInProcessNode, type InProcessNode } from "../support/in-process.js";

const TOKEN = "audit-admin-token";
const bearer = (secret: string) => ({ authorization: `Bearer ${secret}` });

let n: InProcessNode;
beforeAll(async () => {
  n = await startInProcessNode({ env: { METRONOME_AUTH_TOKENS: TOKEN } });
});
afterAll(async () => {
  await n.stop();
});

it("records who made each change, in the events and in the records", async () => {
  const keys = n.client(KeyService, bearer(TOKEN));
  const one = await keys.createKey({ name: "one", scopes: ["write:s1"] });
  const two = await keys.createKey({ name: "two", scopes: ["write:s1"] });
  const idOne = one.key?.keyId ?? "";
  const idTwo = two.key?.keyId ?? "";
  expect(one.key?.createdBy).toBe("env:1");

  const jobs1 = n.client(JobService, bearer(one.secret));
  const jobs2 = n.client(JobService, bearer(two.secret));
  const trigger = fromJson(TriggerSchema, { date: { runDate: "2100-01-01T00:00:00Z" } });
  await jobs1.addJob({ job: { id: "j", scheduler: "s1", handler: "h", trigger } });
  expect((await jobs1.getJob({ scheduler: "s1", jobId: "j" })).job?.modifiedBy).toBe(idOne);
  await jobs2.pauseJob({ scheduler: "s1", jobId: "j" });
  expect((await jobs1.getJob({ scheduler: "s1", jobId: "j" })).job?.modifiedBy).toBe(idTwo);

  await n.client(SchedulerService, bearer(one.secret)).pauseScheduler({ name: "s1" });
  const resumed = await n
    .client(SchedulerService, bearer(two.secret))
    .resumeScheduler({ name: "s1" });
  expect(resumed.scheduler?.modifiedBy).toBe(idTwo);

  const run = (await jobs1.runJobNow({ scheduler: "s1", jobId: "j" })).run;
  expect(run?.triggeredBy).toBe(idOne);
  await n.client(RunService, bearer(two.secret)).cancelRun({ runId: run?.runId ?? "" });
  await jobs2.removeJob({ scheduler: "s1", jobId: "j" });
  await keys.revokeKey({ keyId: idTwo });

  // The stored records.
  const store = n.node.store;
  expect((await store.getRun(run?.runId ?? ""))?.triggeredBy).toBe(idOne);
  expect((await store.getScheduler("s1"))?.modifiedBy).toBe(idTwo);
  const stored = await store.getKey(idTwo);
  expect([stored?.createdBy, stored?.revokedBy]).toEqual(["env:1", "env:1"]);

  // The events, as a subscriber receives them.
  await n.node.events.flush();
  const seen: [string, string][] = [];
  const stop = new AbortController();
  for await (const m of n
    .client(EventService, bearer(TOKEN))
    .subscribe({ start: { case: "afterCursor", value: 0n } }, { signal: stop.signal })) {
    for (const e of m.events)
      if (e.type !== EventType.SCHEDULER_STARTED) seen.push([EventType[e.type], e.actor]);
    if (m.live) break;
  }
  stop.abort();
  expect(seen).toEqual([
    ["KEY_CREATED", "env:1"],
    ["KEY_CREATED", "env:1"],
    ["JOB_ADDED", idOne],
    ["JOB_MODIFIED", idTwo],
    ["SCHEDULER_PAUSED", idOne],
    ["SCHEDULER_RESUMED", idTwo],
    // The manual run nobody serves: a warning, naming who asked for the run.
    ["JOB_AT_RISK", idOne],
    ["RUN_CANCELLED", idTwo],
    ["JOB_REMOVED", idTwo],
    ["KEY_REVOKED", "env:1"],
  ]);
});
