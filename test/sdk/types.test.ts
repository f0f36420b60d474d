/**
 * Type tests of the SDK: checked by the compiler (`npm run typecheck`, part of `npm test`).
 * Each `@ts-expect-error` line must be a type error — if the SDK ever accepts one of these
 * mistakes, the directive is unused and the type check fails. The calls are never executed.
 */
import { describe, expectTypeOf, it } from "vitest";
import type { Worker } from "@metronome/sdk";
import {
  CronTrigger,
  DateTrigger,
  IntervalTrigger,
  defineHandler,
  type Job,
  type MetronomeEvent,
  type Scheduler,
} from "@metronome/sdk";
import { runHandler } from "@metronome/sdk/testing";

const processUser = defineHandler(
  "users.process",
  ([userId]: [string], { action = "default" }: { action?: string }) => `${userId}:${action}`,
);
const noArgs = defineHandler("reports.daily", () => "done");
const needsKwargs = defineHandler(
  "mail.send",
  (_args: [], { to }: { to: string; cc?: string[] }) => to,
);

/** Type checks only: never called. */
async function checks(scheduler: Scheduler, worker: Worker): Promise<void> {
  // ---- handler arguments ----
  const job = await scheduler.addJob(processUser, "cron", {
    hour: 3,
    args: ["user123"],
    kwargs: { action: "sync" },
  });
  expectTypeOf(job.args).toEqualTypeOf<[string]>();
  expectTypeOf(job).toExtend<Job>();
  // @ts-expect-error args are required: the handler takes a user id
  await scheduler.addJob(processUser, "cron", { hour: 3 });
  // @ts-expect-error a number where the handler takes a string
  await scheduler.addJob(processUser, "cron", { hour: 3, args: [42] });
  // @ts-expect-error one argument too many
  await scheduler.addJob(processUser, "cron", { hour: 3, args: ["u", "v"] });
  // @ts-expect-error an unknown keyword argument
  await scheduler.addJob(processUser, "cron", { hour: 3, args: ["u"], kwargs: { verb: "x" } });
  // @ts-expect-error a keyword argument of the wrong type
  await scheduler.addJob(processUser, "cron", { hour: 3, args: ["u"], kwargs: { action: 1 } });
  await scheduler.addJob(processUser, new CronTrigger({ hour: 3 }), { args: ["u"] });
  // @ts-expect-error options with args are required after a trigger object too
  await scheduler.addJob(processUser, new CronTrigger({ hour: 3 }));
  await scheduler.addJob(needsKwargs, "interval", {
    minutes: 5,
    kwargs: { to: "ops@example.com" },
  });
  // @ts-expect-error required kwargs missing
  await scheduler.addJob(needsKwargs, "interval", { minutes: 5 });
  // keyword form
  await scheduler.addJob({
    func: processUser,
    trigger: new IntervalTrigger({ minutes: 5 }),
    args: ["u"],
  });
  await scheduler.addJob({
    func: processUser,
    trigger: new IntervalTrigger({ minutes: 5 }),
    // @ts-expect-error keyword form checks args too
    args: [1],
  });

  // ---- string-mode fields per trigger kind ----
  await scheduler.addJob(noArgs, "cron", { hour: 2, minute: 30, id: "daily_report" });
  await scheduler.addJob(noArgs, "cron", { dayOfWeek: "mon-fri", hour: "*" });
  await scheduler.addJob(noArgs, "interval", { seconds: 30 });
  await scheduler.addJob(noArgs, "date", { runDate: new Date() });
  // @ts-expect-error cron has `hour`, not `hours`
  await scheduler.addJob(noArgs, "cron", { hours: 2 });
  // @ts-expect-error interval has `minutes`, not `minute`
  await scheduler.addJob(noArgs, "interval", { minute: 5 });
  // @ts-expect-error a date trigger needs its runDate
  await scheduler.addJob(noArgs, "date", { id: "x" });
  // @ts-expect-error no such trigger kind
  await scheduler.addJob(noArgs, "weekly", { hour: 2 });
  // @ts-expect-error a misspelt job option
  await scheduler.addJob(noArgs, "cron", { hour: 2, replace_existing: true });
  // @ts-expect-error a cron value must be a number or a string
  new CronTrigger({ hour: true });
  // @ts-expect-error a date trigger's runDate is an instant
  new DateTrigger({ runDate: {} });
  await scheduler.rescheduleJob("daily_report", "cron", { hour: 3, minute: 0 });
  // @ts-expect-error reschedule's string mode is checked too
  await scheduler.rescheduleJob("daily_report", "cron", { hours: 3 });

  // ---- the "crontab" kind: a crontab line, 0 and 7 = Sunday ----
  const weekdays = await scheduler.addJob(noArgs, "crontab", {
    expression: "0 9 * * 1-5",
    timezone: "Europe/Paris",
    jitter: 5,
    id: "weekdays",
    replaceExisting: true,
  });
  expectTypeOf(weekdays.warnings).toEqualTypeOf<readonly string[]>();
  expectTypeOf(weekdays.workerCount).toEqualTypeOf<number | undefined>();
  await scheduler.addJob(processUser, "crontab", { expression: "@daily", args: ["u"] });
  await scheduler.rescheduleJob("weekdays", "crontab", { expression: "30 8 * * mon-fri" });
  // @ts-expect-error a crontab trigger needs its expression
  await scheduler.addJob(noArgs, "crontab", { id: "x" });
  // @ts-expect-error the expression is one string, not cron fields
  await scheduler.addJob(noArgs, "crontab", { expression: "0 9 * * *", hour: 9 });
  // @ts-expect-error the expression is a string
  await scheduler.addJob(noArgs, "crontab", { expression: 5 });
  // @ts-expect-error crontab's string mode is checked in rescheduleJob too
  await scheduler.rescheduleJob("weekdays", "crontab", { minute: 0 });
  // @ts-expect-error args are still checked against the handler
  await scheduler.addJob(processUser, "crontab", { expression: "@daily", args: [1] });

  // ---- scheduledJob checks its options against the handler it decorates ----
  const decorated = scheduler.scheduledJob(new CronTrigger({ hour: 3 }), {
    args: ["user123"],
    kwargs: { action: "sync" },
    name: "Process",
  })(processUser);
  expectTypeOf(decorated).toEqualTypeOf(processUser);
  scheduler.scheduledJob(new CronTrigger({ hour: 3 }))(noArgs);
  scheduler.scheduledJob(new CronTrigger({ hour: 3 }), { kwargs: { to: "ops@example.com" } })(
    needsKwargs,
  );
  scheduler.scheduledJob(new CronTrigger({ hour: 3 }), { misfireGraceTime: null, coalesce: true })(
    noArgs,
  );
  const at3 = new CronTrigger({ hour: 3 });
  // @ts-expect-error args are required: the handler takes a user id
  scheduler.scheduledJob(at3)(processUser);
  // @ts-expect-error a number where the handler takes a string
  scheduler.scheduledJob(at3, { args: [42] })(processUser);
  // @ts-expect-error one argument too many
  scheduler.scheduledJob(at3, { args: ["u", "v"] })(processUser);
  // @ts-expect-error an unknown keyword argument
  scheduler.scheduledJob(at3, { args: ["u"], kwargs: { verb: "x" } })(processUser);
  // @ts-expect-error a keyword argument of the wrong type
  scheduler.scheduledJob(at3, { args: ["u"], kwargs: { action: 1 } })(processUser);
  // @ts-expect-error required kwargs missing
  scheduler.scheduledJob(at3)(needsKwargs);
  // @ts-expect-error a misspelt job option
  scheduler.scheduledJob(at3, { replace_existing: true })(noArgs);

  // ---- runHandler (the testing entry) checks args and kwargs the same way ----
  await runHandler(processUser, { args: ["u"], kwargs: { action: "sync" } });
  await runHandler(noArgs);
  // @ts-expect-error args are required: the handler takes a user id
  await runHandler(processUser);
  // @ts-expect-error a number where the handler takes a string
  await runHandler(processUser, { args: [42] });
  // @ts-expect-error required kwargs missing
  await runHandler(needsKwargs, {});

  // ---- workers take the same definitions ----
  worker.register(processUser).register(noArgs);
  defineHandler("users.bad", ([userId]: [string]) => {
    expectTypeOf(userId).toEqualTypeOf<string>();
  });
  // @ts-expect-error handler arguments must be JSON values
  defineHandler("users.date", (_args: [Date]) => undefined);

  // ---- events ----
  scheduler.addListener((event: MetronomeEvent) => {
    if (event.type === "job_error")
      expectTypeOf(event.error?.message).toEqualTypeOf<string | undefined>();
    if (event.type === "job_added")
      // @ts-expect-error job events carry no error
      expectTypeOf(event.error).toBeObject();
  });
}

describe("SDK types", () => {
  it("are checked by the compiler (see the @ts-expect-error lines)", () => {
    expectTypeOf(checks).toBeFunction();
    expectTypeOf(processUser.name).toBeString();
  });
});
