/**
 * 分布式调度 (distributed scheduling). Every Metronome node started with the same
 * SCHEDULER__JOBSTORE_URL (MySQL) shares the jobs; each fire time runs exactly once whatever the
 * number of nodes (a unique key and row locks in the database, docs/guarantees.md). Services
 * connect to any node. 代码方式配置: the instance's time zone and defaults, in code.
 */
import { SchedulerManager, exitOnError } from "@metronome/sdk";
import { heartbeat } from "./handlers.js";

exitOnError(); // an SDK error ending this script prints one line (docs/sdk.md, Errors)

SchedulerManager.configure({ baseUrl: process.env.METRONOME_URL ?? "http://127.0.0.1:8080" });
const scheduler = SchedulerManager.getInstance("distributed", {
  timezone: "Asia/Shanghai",
  jobDefaults: { coalesce: true, maxInstances: 1, misfireGraceTime: 60 },
});

await scheduler.addJob(heartbeat, "interval", {
  seconds: 30,
  id: "cluster_heartbeat",
  replaceExisting: true,
});
console.log((await scheduler.getJob("cluster_heartbeat"))?.maxInstances);
await SchedulerManager.shutdown();
