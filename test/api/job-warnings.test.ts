/**
 * Warnings in the answers of AddJob, AddJobs, ModifyJob and RescheduleJob — a numeric
 * day_of_week in the cron field form, where 0 is Monday — named by the request's field path and
 * logged by the server, one line each; and the crontab hint of a crontab line given in a cron
 * field. @grpc/grpc-js against a node on the embedded store, whose log lines the test reads.
 */
import { status } from "@grpc/grpc-js";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { systemClock } from "../../server/src/clock.js";
import { loadConfig } from "../../server/src/config/load.js";
import { startNode, type Node } from "../../server/src/server.js";
import { grpcJsClients, type GrpcJsClients, type Reply } from "../support/grpc-js.js";

const MEANS = (days: string, names: string) =>
  `${JSON.stringify(days)} numbers the days from 0 = Monday (the cron field form, as in APScheduler 3), so it means ${JSON.stringify(names)}, not what crontab means by the same numbers (0 and 7 = Sunday). Write day names to say which days you mean (e.g. "mon-fri" for Monday to Friday), or use a crontab trigger for crontab numbering`;

describe("warnings in job answers, with @grpc/grpc-js", () => {
  let node: Node;
  let c: GrpcJsClients;
  const lines: Record<string, unknown>[] = [];

  beforeAll(async () => {
    const config = loadConfig({
      env: {
        SCHEDULER__JOBSTORE_URL: "sqlite:///:memory:",
        METRONOME_HOST: "127.0.0.1",
        METRONOME_PORT: "0",
        METRONOME_SHUTDOWN_GRACE: "1",
      },
      defaultNodeId: "test-node",
    });
    const log = pino(
      { level: "warn" },
      {
        write: (line: string) => {
          lines.push(JSON.parse(line) as Record<string, unknown>);
        },
      },
    );
    node = await startNode(config, log, systemClock);
    c = grpcJsClients(node.listener.address.port);
  });
  afterAll(async () => {
    c.close();
    await node.stop();
  });

  const warningLines = () => lines.filter((l) => l.msg === "trigger warning");
  const job = (id: string, trigger: object) => ({ id, handler: "warn.h", trigger });

  it("names the field of each numeric day_of_week, and logs each warning", async () => {
    const added = await c.job("AddJob", {
      job: job("a", { cron: { day_of_week: "1-5", hour: "9" } }),
    });
    expect(added.warnings).toEqual([`job.trigger.cron.day_of_week: ${MEANS("1-5", "tue-sat")}`]);
    expect(warningLines().at(-1)).toMatchObject({
      level: 40,
      scheduler: "default",
      jobId: "a",
      warning: `job.trigger.cron.day_of_week: ${MEANS("1-5", "tue-sat")}`,
    });

    const bulk = (await c.job("AddJobs", {
      jobs: [
        job("b0", { cron: { day_of_week: "mon-fri" } }),
        job("b1", {
          any_of: { triggers: [{ cron: { hour: "1" } }, { cron: { day_of_week: "0,6" } }] },
        }),
      ],
    })) as { results: Reply[] };
    expect(bulk.results.map((r) => r.warnings)).toEqual([
      [],
      [`jobs[1].trigger.any_of.triggers[1].cron.day_of_week: ${MEANS("0,6", "mon,sun")}`],
    ]);

    const modified = await c.job("ModifyJob", {
      job: { id: "b0", trigger: { cron: { day_of_week: "4" } } },
      update_mask: { paths: ["trigger"] },
    });
    expect(modified.warnings).toEqual([`job.trigger.cron.day_of_week: ${MEANS("4", "fri")}`]);
    // A change that leaves the trigger alone says nothing about it.
    const renamed = await c.job("ModifyJob", {
      job: { id: "b0", name: "renamed" },
      update_mask: { paths: ["name"] },
    });
    expect(renamed.warnings ?? []).toEqual([]);

    const rescheduled = await c.job("RescheduleJob", {
      job_id: "a",
      trigger: { cron: { day_of_week: "6", hour: "8" } },
    });
    expect(rescheduled.warnings).toEqual([`trigger.cron.day_of_week: ${MEANS("6", "sun")}`]);
    // Names, and crontab lines (where 1-5 is Monday to Friday), carry no warning.
    const named = await c.job("RescheduleJob", {
      job_id: "a",
      trigger: { crontab: { expression: "0 9 * * 1-5" } },
    });
    expect(named.warnings ?? []).toEqual([]);
    expect(warningLines()).toHaveLength(4);
  });

  it("answers a crontab line in a cron field with the hint to use the crontab trigger", async () => {
    const err = await c
      .job("AddJob", { job: job("tab", { cron: { minute: "0 9 * * 1-5" } }) })
      .then(
        () => null,
        (e: unknown) => e as { code: number; details: string },
      );
    expect(err?.code).toBe(status.INVALID_ARGUMENT);
    expect(decodeURIComponent(err?.details ?? "")).toBe(
      'job.trigger.cron.minute: unrecognised expression "0 9 * * 1-5"; this looks like a crontab line, which is not a cron field value: use a crontab trigger for it (Trigger.crontab; in the SDK CronTrigger.fromCrontab(...) or addJob(handler, "crontab", { expression }))',
    );
  });
});
