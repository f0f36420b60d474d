/**
 * 错误处理 (error handling). A handler that catches its errors succeeds (safeTask). A handler
 * that throws fails the run; the server records it (a FAILED run, a job_error event) and the
 * next fire time runs as usual — nothing stops the scheduler. `retry` retries failed attempts;
 * `NonRetryableError` refuses retries. 任务超时 (timeouts): give the job a `timeout`; when it
 * passes, the run ends TIMED_OUT and the handler's `ctx.signal` fires.
 */
import { CronTrigger, IntervalTrigger, SchedulerManager, exitOnError } from "@metronome/sdk";
import { failingTask, safeTask, timeoutProtectedTask } from "./handlers.js";

exitOnError(); // an SDK error ending this script prints one line (docs/sdk.md, Errors)

const scheduler = SchedulerManager.getInstance("errors");

// 异常捕获 (the handler catches its own errors)
await scheduler.addJob({
  func: safeTask,
  trigger: new IntervalTrigger({ hours: 1 }),
  id: "safe_task",
  replaceExisting: true,
});

// A handler that throws, retried up to 3 attempts in all (NonRetryableError stops at once)
await scheduler.addJob({
  func: failingTask,
  trigger: new IntervalTrigger({ hours: 1 }),
  id: "failing_task",
  replaceExisting: true,
  retry: { maxAttempts: 3, initialBackoff: 10 },
});

// 任务超时: at most 300 s per attempt
await scheduler.addJob({
  func: timeoutProtectedTask,
  trigger: new CronTrigger({ hour: 2 }),
  id: "timeout_protected",
  replaceExisting: true,
  timeout: 300,
});

console.log((await scheduler.getJob("timeout_protected"))?.timeout);
await SchedulerManager.shutdown();
