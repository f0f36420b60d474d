/**
 * A run already due, waiting for a worker, when its job is modified (SQLite, manual clock):
 * runs copy the job's definition when they are made (args, kwargs, timeout, retry policy,
 * max_instances, and their expiry from misfire_grace_time), and ModifyJob re-plans only runs
 * prepared ahead (fire time not yet come). The waiting run keeps what it was made with: it goes
 * to the worker that comes later with the old args and timeout, and the new grace does not
 * expire it. docs/guarantees.md says so ("A run already due … stays").
 */
import { describe, expect, it } from "vitest";
import { engineHarness, T0 } from "../support/engine-harness.js";
import { duration as dur, msOf, timestamp as ts, type Reply } from "../support/grpc-js.js";
import { createSqliteStore } from "../support/stores.js";

const S = 1000;

describe("a run waiting for a worker when its job is modified", () => {
  const h = engineHarness(() => createSqliteStore("waiting-run-settings"));

  it("keeps the args, timeout and (absent) grace it was made with", async () => {
    await h.c.job("AddJob", {
      job: {
        id: "w",
        handler: "h.w",
        trigger: { interval: { seconds: 3600, start_date: ts(T0 + 10 * S) } },
        args: { values: [{ stringValue: "old" }] },
        timeout: dur(5 * S),
        misfire_grace_time: { no_limit: true },
      },
    });
    await h.advance(15 * S); // due at +10 s, no worker: it waits
    expect((await h.runs("w")).map((r) => r.status)).toEqual(["RUN_STATUS_PENDING"]);

    await h.c.job("ModifyJob", {
      job: {
        id: "w",
        args: { values: [{ stringValue: "new" }] },
        timeout: dur(60 * S),
        misfire_grace_time: { duration: dur(5 * S) },
      },
      update_mask: { paths: ["args", "timeout", "misfire_grace_time"] },
    });
    // Past the new grace (fire time + 5 s) the run still waits: its expiry was made without one.
    await h.advance(30 * S);
    const [waiting] = await h.runs("w");
    expect(waiting).toMatchObject({ status: "RUN_STATUS_PENDING" });
    expect(msOf(waiting?.scheduled_time as Reply)).toBe(T0 + 10 * S);

    const s = await h.worker("w-w", "h.w");
    await h.advance(0);
    const a = await h.next(s, "assignment");
    expect((a.args as Reply).values).toEqual([{ stringValue: "old", kind: "stringValue" }]);
    expect(msOf(a.timeout as Reply)).toBe(5 * S);
  });
});
