/**
 * The examples in examples/ (every snippet of the scheduling guide) run as the scripts they are,
 * against a real node on the embedded SQLite store (what the README's quick start runs), with
 * examples/worker.ts executing their handlers: each exits 0, and what it says it did is checked
 * on the server.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MetronomeClient } from "@metronome/sdk";
import { startTestNode, type TestNode } from "../support/node.js";
import { repoRoot } from "../support/paths.js";
import { createSqliteStore, type TestStore } from "../support/stores.js";

const quiet = { debug() {}, info() {}, warn() {}, error() {} };

function tsx(file: string, env: Record<string, string>): ChildProcess {
  return spawn(process.execPath, ["--import", "tsx", join("examples", file)], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
}

/**
 * Runs an example to its end; answers its stdout, then its stderr (each in order; the two are
 * not interleaved). Rejects with both on failure.
 */
async function run(file: string, env: Record<string, string>): Promise<string> {
  const child = tsx(file, env);
  let out = "";
  let err = "";
  child.stdout?.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (err += d.toString()));
  const [code] = (await once(child, "exit")) as [number | null];
  if (code !== 0) throw new Error(`${file} exited ${String(code)}:\n${out}\n${err}`);
  return `${out}${err}`;
}

const lastLine = (text: string, prefix: string) =>
  text
    .split("\n")
    .filter((l) => l.startsWith(prefix))
    .pop();

describe("the examples", () => {
  let db: TestStore;
  let node: TestNode;
  let worker: ChildProcess;
  let client: MetronomeClient;
  let env: Record<string, string>;

  beforeAll(async () => {
    db = await createSqliteStore();
    node = await startTestNode(db.url);
    env = { METRONOME_URL: node.url };
    client = new MetronomeClient({ baseUrl: node.url, logger: quiet });
    worker = tsx("worker.ts", env);
    // Ready when it says so (it connects and registers its handlers first).
    await new Promise<void>((resolve, reject) => {
      worker.stdout?.on("data", (d: Buffer) => {
        if (d.toString().includes("worker ready")) resolve();
      });
      worker.once("exit", (code) => {
        reject(new Error(`the example worker exited ${String(code)}`));
      });
    });
  }, 60_000);

  afterAll(async () => {
    worker.kill("SIGTERM");
    if (worker.exitCode === null) await once(worker, "exit");
    client.close();
    await node.stop();
    await db.drop();
  }, 30_000);

  const ids = async (scheduler: string) =>
    (await client.scheduler(scheduler).getJobs()).map((j) => j.id);

  it("every example is listed here", () => {
    const files = readdirSync(join(repoRoot, "examples")).filter((f) => /^\d\d-/.test(f));
    expect(files).toEqual([
      "01-initialization.ts",
      "02-cron.ts",
      "03-interval.ts",
      "04-date.ts",
      "05-arguments.ts",
      "06-job-management.ts",
      "07-scenarios.ts",
      "08-error-handling.ts",
      "09-configuration.env",
      "10-multiple-instances.ts",
      "11-distributed.ts",
      "12-listeners.ts",
      "13-monitoring.ts",
      "14-best-practices.ts",
    ]);
  });

  it("01 initialization: named instances get their settings", async () => {
    expect((await run("01-initialization.ts", env)).trim()).toBe("default persistent db full");
    const full = await client.schedulers.getScheduler({ name: "full" });
    expect(full.scheduler).toMatchObject({
      timezone: "Asia/Shanghai",
      jobDefaults: { coalesce: true, maxInstances: 3 },
    });
  }, 30_000);

  it("02–05 cron, interval, date and arguments", async () => {
    await run("02-cron.ts", env);
    await run("03-interval.ts", env);
    await run("04-date.ts", env);
    await run("05-arguments.ts", env);
    expect(await ids("default")).toEqual([
      "daily_report",
      "daily_task",
      "delayed_task",
      "heartbeat",
      "hourly_task",
      "monthly_cleanup",
      "process_user_sync",
      "sync_data",
      "weekly_summary",
      "workday_check",
    ]);
    const job = await client.scheduler("default").getJob("process_user_sync");
    expect(job).toMatchObject({ args: ["user123"], kwargs: { action: "sync" } });
    expect(
      (await client.scheduler("default").getJob("weekly_summary"))?.nextRunTime?.getUTCDay(),
    ).toBe(1);
  }, 60_000);

  it("06 job management ends with no job left", async () => {
    const out = await run("06-job-management.ts", env);
    expect(out.trim().split("\n").pop()).toBe("0");
    expect(await ids("manage")).toEqual([]);
  }, 30_000);

  it("07, 08, 10, 11, 13, 14: scenarios, errors, instances, distributed, monitoring, practices", async () => {
    for (const f of [
      "07-scenarios.ts",
      "08-error-handling.ts",
      "10-multiple-instances.ts",
      "11-distributed.ts",
      "13-monitoring.ts",
      "14-best-practices.ts",
    ])
      await run(f, env);
    expect(await ids("scenarios")).toEqual([
      "cleanup_expired",
      "collect_metrics",
      "data.sync_external",
      "data_sync",
      "db_backup",
      "health_check",
    ]);
    expect(await ids("errors")).toEqual(["failing_task", "safe_task", "timeout_protected"]);
    expect(await ids("report")).toEqual(["daily_report"]);
    expect(await ids("cleanup")).toEqual(["cleanup_expired"]);
    expect((await client.scheduler("distributed").getJob("cluster_heartbeat"))?.maxInstances).toBe(
      1,
    );
    expect(await ids("monitoring")).toEqual(["logged_task"]);
    expect((await client.scheduler("practices").getJob("sync_user_data"))?.name).toBe(
      "同步用户数据",
    );
  }, 120_000);

  it("12 listeners: the worker runs the jobs, the listener hears both outcomes", async () => {
    const out = await run("12-listeners.ts", env);
    expect(lastLine(out, "job_")).toBe("job_error job_executed");
    expect(out).toContain("任务完成: listened_ok");
    expect(out).toContain("任务失败: listened_fail, 异常: the external API refused the request");
  }, 60_000);
});
