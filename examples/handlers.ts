/**
 * The handlers of the examples, defined once with their argument types. A worker registers them
 * (worker.ts); jobs refer to them (the other examples), so `args` and `kwargs` are checked
 * against these signatures when the examples compile.
 */
import { NonRetryableError, defineHandler } from "@metronome/sdk";

/** The examples log through this (the guide's `logger`). */
export const logger = {
  info: (msg: string) => {
    console.log(msg);
  },
  warning: (msg: string) => {
    console.warn(msg);
  },
  error: (msg: string) => {
    console.error(msg);
  },
};

export const dailyReport = defineHandler("reports.daily", () => "report built");
export const weeklySummary = defineHandler("reports.weekly", () => "summary sent");
export const monthlyCleanup = defineHandler("maintenance.monthly_cleanup", () => "cleaned");
export const checkStatus = defineHandler("ops.check_status", () => "ok");
export const dailyTask = defineHandler("ops.daily_task", () => "done");
export const heartbeat = defineHandler("ops.heartbeat", () => Date.now());
export const syncData = defineHandler("data.sync", () => "synced");
export const hourlyTask = defineHandler("ops.hourly", () => "done");
export const delayedTask = defineHandler("ops.delayed", () => "done once");

/** The guide's `process_user(user_id: str, action: str = "default")`. */
export const processUser = defineHandler(
  "users.process",
  ([userId]: [string], { action = "default" }: { action?: string }) => {
    logger.info(`处理用户 ${userId}，操作: ${action}`);
    return { userId, action };
  },
);

/** Stand-ins for the services the guide's scenarios call. */
const externalApi = { fetchUpdates: () => Promise.resolve([{ id: 1 }, { id: 2 }]) };
const db = {
  updateData: (rows: unknown[]) => Promise.resolve(rows.length),
  deleteWhere: (_table: string, _before: Date) => Promise.resolve(3),
  saveMetrics: (_m: unknown) => Promise.resolve(),
};

export const syncFromExternalApi = defineHandler("data.sync_external", async () => {
  try {
    const data = await externalApi.fetchUpdates();
    await db.updateData(data);
    logger.info("数据同步完成");
    return data.length;
  } catch (e) {
    logger.error(`数据同步失败: ${String(e)}`);
    return 0;
  }
});

export const cleanupExpiredRecords = defineHandler("data.cleanup_expired", async () => {
  const deleted = await db.deleteWhere("records", new Date());
  logger.info(`已清理 ${String(deleted)} 条过期数据`);
  return deleted;
});

export const backupDatabase = defineHandler("data.backup", (_args: [], _kwargs, ctx) => {
  const stamp = ctx.scheduledTime.toISOString().replace(/[-:T]/g, "").slice(0, 15);
  const filename = `backup_${stamp}.sql`;
  logger.info(`备份完成: ${filename}`);
  return filename;
});

export const collectMetrics = defineHandler("ops.collect_metrics", async () => {
  const metrics = { cpu: Math.round(Math.random() * 100) };
  await db.saveMetrics(metrics);
  if (metrics.cpu > 80) logger.warning(`CPU 使用率过高: ${String(metrics.cpu)}%`);
  return metrics;
});

export const healthCheck = defineHandler("ops.health_check", () => {
  const checks = { database: true, redis: true, external_api: true };
  const allHealthy = Object.values(checks).every(Boolean);
  if (!allHealthy) logger.error(`健康检查失败: ${JSON.stringify(checks)}`);
  return checks;
});

/** Error handling in the handler, as the guide's `safe_task`. */
export const safeTask = defineHandler("ops.safe_task", () => {
  try {
    throw new Error("dangerous operation failed");
  } catch (e) {
    // Not rethrown: the run succeeds and the failure is only logged (the guide's choice).
    logger.error(`任务执行失败: ${String(e)}`);
    return "handled";
  }
});

/** A handler that fails: the run is FAILED, a job_error event is recorded (listeners.ts). */
export const failingTask = defineHandler("ops.failing_task", () => {
  throw new NonRetryableError("the external API refused the request");
});

/**
 * The guide's `timeout_protected_task`: instead of `asyncio.wait_for`, give the job a `timeout`;
 * the server stops the run when it passes and the handler's `ctx.signal` fires.
 */
export const timeoutProtectedTask = defineHandler(
  "ops.timeout_protected",
  async (_args: [], _kwargs, ctx) => {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 50);
      ctx.signal.addEventListener("abort", () => {
        clearTimeout(timer);
        logger.error("任务执行超时");
        resolve();
      });
    });
    return "finished";
  },
);

export const loggedTask = defineHandler("ops.logged_task", (_args: [], _kwargs, ctx) => {
  ctx.log.info("任务开始执行");
  const result = "work done";
  ctx.log.info(`任务执行成功: ${result}`);
  return result;
});

export const myTask = defineHandler("users.sync_data", () => "synced");
export const heavyTask = defineHandler("ops.heavy", () => "done");

export const resilientTask = defineHandler("ops.resilient", () => {
  try {
    return "called";
  } catch (e) {
    if (e instanceof Error && e.name === "ConnectionError")
      logger.warning("连接失败，将在下次重试");
    else logger.error(`未预期的错误: ${String(e)}`);
    return "failed";
  }
});

/** Needs no lock: `maxInstances: 1` (the default) skips a fire while a run is in progress. */
export const protectedTask = defineHandler("ops.protected", () => "done");

/** Every handler, for the worker. */
export const ALL = [
  dailyReport,
  weeklySummary,
  monthlyCleanup,
  checkStatus,
  dailyTask,
  heartbeat,
  syncData,
  hourlyTask,
  delayedTask,
  processUser,
  syncFromExternalApi,
  cleanupExpiredRecords,
  backupDatabase,
  collectMetrics,
  healthCheck,
  safeTask,
  failingTask,
  timeoutProtectedTask,
  loggedTask,
  myTask,
  heavyTask,
  resilientTask,
  protectedTask,
] as const;
