/** 多实例支持 (several scheduler instances, one per line of business). */
import { SchedulerManager, exitOnError } from "@metronome/sdk";
import { cleanupExpiredRecords, dailyReport } from "./handlers.js";

exitOnError(); // an SDK error ending this script prints one line (docs/sdk.md, Errors)

// 默认实例 (the default instance)
const scheduler = SchedulerManager.getInstance();

// 命名实例 (named instances): their own jobs, time zone and defaults
const reportScheduler = SchedulerManager.getInstance("report");
const cleanupScheduler = SchedulerManager.getInstance("cleanup");

await reportScheduler.addJob(dailyReport, "cron", {
  hour: 6,
  id: "daily_report",
  replaceExisting: true,
});
await cleanupScheduler.addJob(cleanupExpiredRecords, "cron", {
  hour: 2,
  id: "cleanup_expired",
  replaceExisting: true,
});

// The same job id in two schedulers is two jobs.
console.log(
  scheduler.name,
  (await reportScheduler.getJobs()).length,
  (await cleanupScheduler.getJobs()).length,
);
await SchedulerManager.shutdown();
