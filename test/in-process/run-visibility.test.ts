/**
 * GetRun and CancelRun name only a run's id, so a key that may not read the run's scheduler is
 * answered exactly as for a run that does not exist (NOT_FOUND, the same message): a refusal
 * would tell it that the id is a run of some other scheduler. A key that may read the run but
 * not change it is refused (PERMISSION_DENIED) — it can see the run anyway.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fromJson } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { ConflictPolicy, JobService } from "../../server/src/gen/metronome/v1/job_service_pb.js";
import { KeyService } from "../../server/src/gen/metronome/v1/key_service_pb.js";
import { RunStatus } from "../../server/src/gen/metronome/v1/run_pb.js";
import { RunService } from "../../server/src/gen/metronome/v1/run_service_pb.js";
import { TriggerSchema } from "../../server/src/gen/metronome/v1/trigger_pb.js";
import { newRunId } from "../../server/src/engine/ids.js";
import { startInProcessNode, type InProcessNode } from "../support/in-process.js";

const ADMIN_TOKEN = "run-visibility-admin";

describe("a run's existence through GetRun and CancelRun", () => {
  let n: InProcessNode;
  let runId = "";
  const runsAs = new Map<string, ReturnType<typeof runClient>>();
  const runClient = (secret: string) => n.client(RunService, { authorization: `Bearer ${secret}` });

  beforeAll(async () => {
    n = await startInProcessNode({ env: { METRONOME_AUTH_TOKENS: ADMIN_TOKEN } });
    const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
    const jobs = n.client(JobService, admin);
    await jobs.addJob({
      job: {
        id: "payroll-close",
        scheduler: "payroll",
        handler: "payroll.close",
        trigger: fromJson(TriggerSchema, { date: { runDate: "2100-01-01T00:00:00Z" } }),
      },
      conflictPolicy: ConflictPolicy.REPLACE,
    });
    runId =
      (await jobs.runJobNow({ scheduler: "payroll", jobId: "payroll-close" })).run?.runId ?? "";
    expect(runId).not.toBe("");
    const keys = n.client(KeyService, admin);
    for (const [name, scopes] of [
      ["admin", ["admin"]],
      ["other", ["write:reports"]],
      ["reader", ["read:payroll", "write:reports"]],
    ] as const)
      runsAs.set(name, runClient((await keys.createKey({ name, scopes: [...scopes] })).secret));
  });
  afterAll(async () => {
    await n.stop();
  });

  const refusal = async (p: Promise<unknown>): Promise<{ code: Code; message: string }> => {
    try {
      await p;
    } catch (err) {
      const e = ConnectError.from(err);
      return { code: e.code, message: e.rawMessage };
    }
    throw new Error("the call was answered");
  };
  const as = (name: string) => {
    const c = runsAs.get(name);
    if (c === undefined) throw new Error(`no key ${name}`);
    return c;
  };

  it("answers another scheduler's run as an unknown one, and leaves it as it was", async () => {
    const unknown = newRunId();
    const withoutRun = (m: string) => m.replace(runId, "<id>").replace(unknown, "<id>");

    const got = await refusal(as("other").getRun({ runId }));
    const gotUnknown = await refusal(as("other").getRun({ runId: unknown }));
    expect(got.code).toBe(Code.NotFound);
    expect(gotUnknown.code).toBe(Code.NotFound);
    expect(withoutRun(got.message)).toBe(withoutRun(gotUnknown.message));

    const cancelled = await refusal(as("other").cancelRun({ runId, reason: "probe" }));
    const cancelledUnknown = await refusal(as("other").cancelRun({ runId: unknown, reason: "x" }));
    expect(cancelled.code).toBe(Code.NotFound);
    expect(cancelledUnknown.code).toBe(Code.NotFound);
    expect(withoutRun(cancelled.message)).toBe(withoutRun(cancelledUnknown.message));

    const run = (await as("admin").getRun({ runId })).run;
    expect(run?.status).toBe(RunStatus.PENDING);
  });

  it("refuses a cancel to a key that may read the run but not change it", async () => {
    expect((await as("reader").getRun({ runId })).run?.runId).toBe(runId);
    const cancelled = await refusal(as("reader").cancelRun({ runId, reason: "probe" }));
    expect(cancelled.code).toBe(Code.PermissionDenied);
    expect(cancelled.message).toContain('scheduler "payroll"');
    expect((await as("admin").getRun({ runId })).run?.status).toBe(RunStatus.PENDING);
  });
});
