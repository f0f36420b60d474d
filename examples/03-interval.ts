/** 间隔任务 (interval jobs): a fixed period. */
import { IntervalTrigger, SchedulerManager, exitOnError } from "@metronome/sdk";
import { heartbeat, hourlyTask, syncData } from "./handlers.js";

exitOnError(); // an SDK error ending this script prints one line (docs/sdk.md, Errors)

const scheduler = SchedulerManager.getInstance();

// string mode (recommended); replaceExisting: running this script again replaces the jobs
await scheduler.addJob(heartbeat, "interval", {
  seconds: 30,
  id: "heartbeat",
  replaceExisting: true,
});
await scheduler.addJob(syncData, "interval", {
  minutes: 5,
  id: "sync_data",
  replaceExisting: true,
});
await scheduler.addJob(hourlyTask, "interval", {
  hours: 1,
  id: "hourly_task",
  replaceExisting: true,
});

// object mode
await scheduler.addJob(heartbeat, new IntervalTrigger({ seconds: 30 }), {
  id: "heartbeat",
  replaceExisting: true,
});

console.log((await scheduler.getJob("heartbeat"))?.nextRunTime?.toISOString());
await SchedulerManager.shutdown();
