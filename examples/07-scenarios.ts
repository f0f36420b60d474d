/**
 * 常见场景 (common scenarios): data sync (the decorator and add_job forms), cleanup of expired
 * data, backups, metrics, health checks. The handlers are in handlers.ts.
 */
import { CronTrigger, IntervalTrigger, SchedulerManager, exitOnError } from "@metronome/sdk";
import {
  backupDatabase,
  cleanupExpiredRecords,
  collectMetrics,
  healthCheck,
  syncFromExternalApi,
} from "./handlers.js";

exitOnError(); // an SDK error ending this script prints one line (docs/sdk.md, Errors)

const scheduler = SchedulerManager.getInstance("scenarios");

// 数据同步 — the guide's `@scheduler.scheduled_job(IntervalTrigger(minutes=5))`: declared where
// the handler is defined, added at start() (replacing the job a previous deploy added).
export const syncHandler = scheduler.scheduledJob(new IntervalTrigger({ minutes: 5 }))(
  syncFromExternalApi,
);
await scheduler.start();

// — or with add_job's keyword form
await scheduler.addJob({
  func: syncFromExternalApi,
  trigger: new IntervalTrigger({ minutes: 5 }),
  id: "data_sync",
  replaceExisting: true,
});

// 清理过期数据: every day at 2:00
await scheduler.addJob({
  func: cleanupExpiredRecords,
  trigger: new CronTrigger({ hour: 2, minute: 0 }),
  id: "cleanup_expired",
  replaceExisting: true,
});

// 定期备份: every day at 1:00
await scheduler.addJob({
  func: backupDatabase,
  trigger: new CronTrigger({ hour: 1 }),
  id: "db_backup",
  replaceExisting: true,
});

// 性能监控: every minute
await scheduler.addJob({
  func: collectMetrics,
  trigger: new IntervalTrigger({ minutes: 1 }),
  id: "collect_metrics",
  replaceExisting: true,
});

// 状态检查: every 30 seconds
await scheduler.addJob({
  func: healthCheck,
  trigger: new IntervalTrigger({ seconds: 30 }),
  id: "health_check",
  replaceExisting: true,
});

console.log((await scheduler.getJobs()).map((j) => j.id).join(" "));
await SchedulerManager.shutdown();
