/**
 * 带参数的任务 (jobs with arguments). `processUser` is defined once with its parameter types
 * (handlers.ts), so wrong `args` or `kwargs` here fail to compile.
 */
import { SchedulerManager, exitOnError } from "@metronome/sdk";
import { processUser } from "./handlers.js";

exitOnError(); // an SDK error ending this script prints one line (docs/sdk.md, Errors)

const scheduler = SchedulerManager.getInstance();

await scheduler.addJob(processUser, "cron", {
  hour: 3,
  args: ["user123"], // positional arguments
  kwargs: { action: "sync" }, // keyword arguments
  id: "process_user_sync",
  replaceExisting: true,
});

const job = await scheduler.getJob("process_user_sync");
console.log(job?.args, job?.kwargs);
await SchedulerManager.shutdown();
