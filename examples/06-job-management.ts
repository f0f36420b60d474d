/** 任务管理 (managing jobs): get, pause/resume, remove, reschedule. */
import { CronTrigger, SchedulerManager, exitOnError } from "@metronome/sdk";
import { dailyReport } from "./handlers.js";

exitOnError(); // an SDK error ending this script prints one line (docs/sdk.md, Errors)

const scheduler = SchedulerManager.getInstance("manage");
await scheduler.addJob(dailyReport, "cron", {
  hour: 2,
  minute: 30,
  id: "daily_report",
  replaceExisting: true,
});

// 获取所有任务 (all jobs)
const jobs = await scheduler.getJobs();
for (const job of jobs) console.log(`任务: ${job.id}, 下次执行: ${String(job.nextRunTime)}`);

// 获取单个任务 (one job; null when there is none)
const job = await scheduler.getJob("daily_report");
if (job) console.log(`任务 ${job.id} 已存在`);

// 暂停任务 / 恢复任务 (pause / resume)
await scheduler.pauseJob("daily_report");
await scheduler.resumeJob("daily_report");

// 重新安排任务 (reschedule: now at 3:00)
await scheduler.rescheduleJob("daily_report", new CronTrigger({ hour: 3, minute: 0 }));

// 修改任务 (modify other fields; the rest stays)
await scheduler.modifyJob("daily_report", { name: "Daily report", maxInstances: 1 });

// 删除单个任务 / 删除所有任务 (remove one / all)
await scheduler.removeJob("daily_report");
await scheduler.removeAllJobs();

console.log((await scheduler.getJobs()).length);
await SchedulerManager.shutdown();
