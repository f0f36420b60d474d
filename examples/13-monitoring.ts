/** 监控和调试 (monitoring): the scheduler's jobs and their state, and a task that logs. */
import { IntervalTrigger, SchedulerManager, exitOnError } from "@metronome/sdk";
import { logger, loggedTask } from "./handlers.js";

exitOnError(); // an SDK error ending this script prints one line (docs/sdk.md, Errors)

const scheduler = SchedulerManager.getInstance("monitoring");
await scheduler.addJob({
  func: loggedTask,
  trigger: new IntervalTrigger({ hours: 1 }),
  id: "logged_task",
  replaceExisting: true,
});

// 查看调度器状态
const jobs = await scheduler.getJobs();
logger.info(`已安排任务数: ${String(jobs.length)}`);
for (const job of jobs) {
  logger.info(
    `任务: ${job.id}, 下次执行: ${String(job.nextRunTime?.toISOString())}, 状态: ${job.paused ? "暂停" : "运行中"}`,
  );
}

// Runs are recorded too: the latest of a job, with status and timing.
const runs = await scheduler.getRuns({ jobId: "logged_task", limit: 10 });
logger.info(`最近运行: ${String(runs.length)}`);
await SchedulerManager.shutdown();
