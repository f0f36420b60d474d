/**
 * 最佳实践 (best practices): explicit ids and names, sensible intervals, handling failures, and
 * no double execution — which needs no lock in Metronome: `maxInstances: 1` (the default) skips
 * a fire time while a run of the job is in progress, across all workers and nodes.
 */
import { IntervalTrigger, SchedulerManager, exitOnError } from "@metronome/sdk";
import { heavyTask, myTask, protectedTask, resilientTask } from "./handlers.js";

exitOnError(); // an SDK error ending this script prints one line (docs/sdk.md, Errors)

const scheduler = SchedulerManager.getInstance("practices");

// 1. 使用明确的 ID
await scheduler.addJob({
  func: myTask,
  trigger: new IntervalTrigger({ minutes: 5 }),
  id: "sync_user_data",
  replaceExisting: true,
  name: "同步用户数据",
});

// 2. 合理设置执行间隔
await scheduler.addJob({
  func: heavyTask,
  trigger: new IntervalTrigger({ minutes: 5 }),
  id: "heavy",
  replaceExisting: true,
});

// 3. 处理任务失败 (see resilientTask in handlers.ts)
await scheduler.addJob({
  func: resilientTask,
  trigger: new IntervalTrigger({ minutes: 5 }),
  id: "resilient",
  replaceExisting: true,
});

// 4. 避免重复执行
await scheduler.addJob({
  func: protectedTask,
  trigger: new IntervalTrigger({ minutes: 1 }),
  id: "protected",
  replaceExisting: true,
  maxInstances: 1,
});

console.log((await scheduler.getJobs()).map((j) => `${j.id}:${j.name}`).join(" "));
await SchedulerManager.shutdown();
