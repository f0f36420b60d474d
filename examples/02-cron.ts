/** Cron 任务 (cron jobs): every day, every week, every month, workdays, crontab expressions. */
import { CronTrigger, SchedulerManager, exitOnError } from "@metronome/sdk";
import { checkStatus, dailyReport, dailyTask, monthlyCleanup, weeklySummary } from "./handlers.js";

exitOnError(); // an SDK error ending this script prints one line (docs/sdk.md, Errors)

const scheduler = SchedulerManager.getInstance();

// 每天定时执行 — string mode (recommended). Every job here passes replaceExisting: jobs live on
// the server, so running this script again replaces them instead of failing (AlreadyExistsError).
await scheduler.addJob(dailyReport, "cron", {
  hour: 2,
  minute: 30,
  id: "daily_report",
  replaceExisting: true,
});
// — object mode (the same id again: replaced)
await scheduler.addJob(dailyReport, new CronTrigger({ hour: 2, minute: 30 }), {
  id: "daily_report",
  replaceExisting: true,
});

// 每周执行: every Monday at 9:00
await scheduler.addJob(weeklySummary, "cron", {
  dayOfWeek: "mon",
  hour: 9,
  id: "weekly_summary",
  replaceExisting: true,
});

// 每月执行: the first day of every month
await scheduler.addJob(monthlyCleanup, "cron", {
  day: 1,
  hour: 0,
  id: "monthly_cleanup",
  replaceExisting: true,
});

// 工作日执行: every hour, Monday to Friday
await scheduler.addJob(checkStatus, "cron", {
  dayOfWeek: "mon-fri",
  hour: "*",
  id: "workday_check",
  replaceExisting: true,
});

// 使用 crontab 表达式: every day at 2:00 (crontab numbering: 0 and 7 are Sunday)
await scheduler.addJob(dailyTask, CronTrigger.fromCrontab("0 2 * * *"), {
  id: "daily_task",
  replaceExisting: true,
});

for (const job of await scheduler.getJobs()) console.log(job.id, job.nextRunTime?.toISOString());
await SchedulerManager.shutdown();
