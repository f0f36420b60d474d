/** 一次性任务 (one-off jobs): run once at a given time; the job is removed after it fires. */
import { DateTrigger, SchedulerManager, exitOnError } from "@metronome/sdk";
import { delayedTask } from "./handlers.js";

exitOnError(); // an SDK error ending this script prints one line (docs/sdk.md, Errors)

const scheduler = SchedulerManager.getInstance();

// 10 秒后执行一次 (once, in 10 seconds)
const runTime = new Date(Date.now() + 10_000);
await scheduler.addJob(delayedTask, new DateTrigger({ runDate: runTime }), {
  id: "delayed_task",
  replaceExisting: true,
});
// string mode works too: addJob(delayedTask, "date", { runDate: runTime, id: … })

console.log((await scheduler.getJob("delayed_task"))?.nextRunTime?.toISOString());
await SchedulerManager.shutdown();
