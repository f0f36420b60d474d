/**
 * 调度器初始化 / 带持久化存储的调度器 (Scheduler initialization, with persistent stores).
 *
 * The guide's `jobstores` and `executors` have no counterpart here: Metronome's server owns the
 * store (SCHEDULER__JOBSTORE_URL: embedded SQLite by default, MySQL for several nodes) and
 * workers execute the handlers. What remains of `get_instance` is the name, the time zone and
 * the job defaults.
 */
import { SchedulerManager, exitOnError } from "@metronome/sdk";

exitOnError(); // an SDK error ending this script prints one line (docs/sdk.md, Errors)

// scheduler = SchedulerManager.get_instance()
const scheduler = SchedulerManager.getInstance();

// "persistent" / "db": a named instance; persistence is the server's (every job is stored).
const persistent = SchedulerManager.getInstance("persistent");
const dbScheduler = SchedulerManager.getInstance("db");

// 完整配置 (full configuration)
const full = SchedulerManager.getInstance("full", {
  timezone: "Asia/Shanghai",
  jobDefaults: { coalesce: true, maxInstances: 3, misfireGraceTime: 60 },
});
await full.start(); // applies the settings now (otherwise the first call does)

console.log([scheduler, persistent, dbScheduler, full].map((s) => s.name).join(" "));
await SchedulerManager.shutdown();
