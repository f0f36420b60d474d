/** 间隔任务 (interval jobs): a fixed period. */
import { IntervalTrigger, SchedulerManager } from "../sdk/src/index.js";
import { heartbeat, hourlyTask, syncData } from "./handlers.js";

const scheduler = SchedulerManager.getInstance();

// string mode (recommended)
await scheduler.addJob(heartbeat, "interval", { seconds: 30, id: "heartbeat" });
await scheduler.addJob(syncData, "interval", { minutes: 5, id: "sync_data" });
await scheduler.addJob(hourlyTask, "interval", { hours: 1, id: "hourly_task" });

// object mode
await scheduler.addJob(heartbeat, new IntervalTrigger({ seconds: 30 }), {
  id: "heartbeat",
  replaceExisting: true,
});

console.log((await scheduler.getJob("heartbeat"))?.nextRunTime?.toISOString());
await SchedulerManager.shutdown();
