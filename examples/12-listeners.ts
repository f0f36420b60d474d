/**
 * 监听器 (listeners): the guide's `add_listener(job_listener, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)`.
 * Events come from the server's durable event stream: every node's runs, in order, resumed after
 * a disconnect. Needs a worker (worker.ts) to execute the runs.
 */
import {
  EVENT_JOB_ERROR,
  EVENT_JOB_EXECUTED,
  SchedulerManager,
  exitOnError,
  type MetronomeEvent,
} from "@metronome/sdk";
import { failingTask, logger, safeTask } from "./handlers.js";

exitOnError(); // an SDK error ending this script prints one line (docs/sdk.md, Errors)

const scheduler = SchedulerManager.getInstance("listeners");
const seen: MetronomeEvent[] = [];
let done: () => void = () => undefined;
const twoEvents = new Promise<void>((resolve) => (done = resolve));

function jobListener(event: MetronomeEvent): void {
  if (event.type === "job_error")
    logger.error(`任务失败: ${event.jobId}, 异常: ${String(event.error?.message)}`);
  else if (event.type === "job_executed") logger.info(`任务完成: ${event.jobId}`);
  seen.push(event);
  if (seen.length === 2) done();
}

scheduler.addListener(jobListener, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR);
await scheduler.listening();

await scheduler.addJob(safeTask, "interval", {
  hours: 1,
  id: "listened_ok",
  replaceExisting: true,
});
await scheduler.addJob(failingTask, "interval", {
  hours: 1,
  id: "listened_fail",
  replaceExisting: true,
});
await scheduler.runJob("listened_ok");
await scheduler.runJob("listened_fail");
await twoEvents;

console.log(
  seen
    .map((e) => e.type)
    .sort()
    .join(" "),
);
await SchedulerManager.shutdown();
