/**
 * Warnings in the answers of AddJob, AddJobs, ModifyJob and RescheduleJob — a numeric
 * day_of_week in the cron field form, where 0 is Monday — named by the request's field path and
 * logged by the server, one line each; and the crontab hint of a crontab line given in a cron
 * field. Connect JSON to a node in process (test/support/in-process.ts), whose log lines the
 * test reads.
 */
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startInProcessNode, type InProcessNode } from "../support/in-process.js";

const MEANS = (days: string, names: string) =>
  `${JSON.stringify(days)} numbers the days from 0 = Monday (the cron field form, as in APScheduler 3), so it means ${JSON.stringify(names)}, not what crontab means by the same numbers (0 and 7 = Sunday). Write day names to say which days you mean (e.g. "mon-fri" for Monday to Friday), or use a crontab trigger for crontab numbering`;

type Reply = Record<string, unknown>;

describe("warnings in job answers", () => {
  let node: InProcessNode;
  const lines: Record<string, unknown>[] = [];

  beforeAll(async () => {
    const log = pino(
      { level: "warn" },
      {
        write: (line: string) => {
          lines.push(JSON.parse(line) as Record<string, unknown>);
        },
      },
    );
    node = await startInProcessNode({ log });
  });
  afterAll(() => node.stop());

  const call = async (method: string, body: unknown): Promise<Reply> =>
    (await node.postJson(`/metronome.v1.JobService/${method}`, body)).body;
  const warningLines = () => lines.filter((l) => l.msg === "trigger warning");
  const job = (id: string, trigger: object) => ({ id, handler: "warn.h", trigger });

  it("names the field of each numeric day_of_week, and logs each warning", async () => {
    const added = await call("AddJob", {
      job: job("a", { cron: { dayOfWeek: "1-5", hour: "9" } }),
    });
    expect(added.warnings).toEqual([`job.trigger.cron.day_of_week: ${MEANS("1-5", "tue-sat")}`]);
    expect(warningLines().at(-1)).toMatchObject({
      level: 40,
      scheduler: "default",
      jobId: "a",
      warning: `job.trigger.cron.day_of_week: ${MEANS("1-5", "tue-sat")}`,
    });

    const bulk = (await call("AddJobs", {
      jobs: [
        job("b0", { cron: { dayOfWeek: "mon-fri" } }),
        job("b1", {
          anyOf: { triggers: [{ cron: { hour: "1" } }, { cron: { dayOfWeek: "0,6" } }] },
        }),
      ],
    })) as { results: Reply[] };
    expect(bulk.results.map((r) => r.warnings ?? [])).toEqual([
      [],
      [`jobs[1].trigger.any_of.triggers[1].cron.day_of_week: ${MEANS("0,6", "mon,sun")}`],
    ]);

    const modified = await call("ModifyJob", {
      job: { id: "b0", trigger: { cron: { dayOfWeek: "4" } } },
      updateMask: "trigger",
    });
    expect(modified.warnings).toEqual([`job.trigger.cron.day_of_week: ${MEANS("4", "fri")}`]);
    // A change that leaves the trigger alone says nothing about it.
    const renamed = await call("ModifyJob", {
      job: { id: "b0", name: "renamed" },
      updateMask: "name",
    });
    expect(renamed.warnings ?? []).toEqual([]);

    const rescheduled = await call("RescheduleJob", {
      jobId: "a",
      trigger: { cron: { dayOfWeek: "6", hour: "8" } },
    });
    expect(rescheduled.warnings).toEqual([`trigger.cron.day_of_week: ${MEANS("6", "sun")}`]);
    // Names, and crontab lines (where 1-5 is Monday to Friday), carry no warning.
    const named = await call("RescheduleJob", {
      jobId: "a",
      trigger: { crontab: { expression: "0 9 * * 1-5" } },
    });
    expect(named.warnings ?? []).toEqual([]);
    expect(warningLines()).toHaveLength(4);
  });

  it("answers a crontab line in a cron field with the hint to use the crontab trigger", async () => {
    const err = await call("AddJob", { job: job("tab", { cron: { minute: "0 9 * * 1-5" } }) });
    expect(err).toEqual({
      code: "invalid_argument",
      message:
        'job.trigger.cron.minute: unrecognised expression "0 9 * * 1-5"; this looks like a crontab line, which is not a cron field value: use a crontab trigger for it (Trigger.crontab; in the SDK CronTrigger.fromCrontab(...) or addJob(handler, "crontab", { expression }))',
    });
  });
});
