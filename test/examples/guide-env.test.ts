/**
 * The scheduling guide's `.env` block (配置项), copied verbatim into fixtures/guide.env, with its
 * `redis://localhost:6379/0` line unchanged: a server started in a folder holding it as `.env`
 * (no store flag, no store variable) runs on Redis with the guide's settings, fires a job to a
 * worker, and says at start-up whether Redis runs without the append-only file.
 *
 * The URL names database 0 with the store's default key prefix (`metronome:`): the test works in
 * a scheduler of its own there, deletes that scheduler's keys afterwards, and deletes the rest of
 * the prefix only when it found none before it started.
 */
import { randomBytes } from "node:crypto";
import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { afterAll, beforeAll, expect, it } from "vitest";
import { AutoWorker } from "../support/auto-worker.js";
import { grpcJsClients, type GrpcJsClients } from "../support/grpc-js.js";
import { startServerProcess, type ServerProcess } from "../support/processes.js";
import { describeRedis } from "../support/redis.js";

const GUIDE_URL = "redis://localhost:6379/0";
const PREFIX = "metronome:";

async function keysMatching(redis: Redis, pattern: string): Promise<string[]> {
  const found: string[] = [];
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", pattern, "COUNT", 1000);
    cursor = next;
    found.push(...keys);
  } while (cursor !== "0");
  return found;
}

describeRedis("the guide's .env block", () => {
  const scheduler = `guide-env-${randomBytes(4).toString("hex")}`;
  const handler = `guide.env.${randomBytes(4).toString("hex")}`;
  let dir: string;
  let redis: Redis;
  let hadKeys: boolean;
  let server: ServerProcess | undefined;
  let clients: GrpcJsClients | undefined;
  let worker: AutoWorker | undefined;

  beforeAll(async () => {
    redis = new Redis(GUIDE_URL, { maxRetriesPerRequest: 1 });
    hadKeys = (await keysMatching(redis, `${PREFIX}*`)).length > 0;
    dir = mkdtempSync(join(tmpdir(), "metronome-guide-env-"));
    copyFileSync(join(import.meta.dirname, "fixtures", "guide.env"), join(dir, ".env"));
    server = await startServerProcess("guide-env", null, { cwd: dir });
    clients = grpcJsClients(server.port);
  }, 60_000);

  afterAll(async () => {
    await worker?.stop();
    clients?.close();
    await server?.stop();
    const ours = await keysMatching(
      redis,
      hadKeys ? `${PREFIX}{sched:${scheduler}}:*` : `${PREFIX}*`,
    );
    if (ours.length > 0) await redis.unlink(...ours);
    await redis.srem(`${PREFIX}{g}:spaces`, scheduler);
    redis.disconnect();
    rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  it("starts a server on Redis with the guide's settings that fires a job to a worker", async () => {
    const c = clients as GrpcJsClients;
    expect(await c.health("Check", { service: "" })).toEqual({ status: "SERVING" });
    await c.job("AddJob", {
      job: { scheduler, id: "guide", handler, trigger: { interval: { hours: 1 } } },
    });
    // The scheduler was created on first use with the .env's defaults.
    expect((await c.scheduler("GetScheduler", { name: scheduler })).scheduler).toMatchObject({
      timezone: "Asia/Shanghai",
      job_defaults: { coalesce: true, max_instances: 1 },
    });
    // The job is in Redis, under the default prefix of database 0.
    expect(await redis.exists(`${PREFIX}{sched:${scheduler}}:job:guide`)).toBe(1);

    worker = new AutoWorker((server as ServerProcess).port, handler, { workMs: 10 });
    await worker.start();
    await c.job("RunJobNow", { scheduler, job_id: "guide" });
    const w = worker;
    await w.until(() => w.received.some((r) => r.jobId === "guide"));
    await w.until(() => w.accepted > 0);
  });

  it("warns at start-up exactly when Redis runs without the append-only file", async () => {
    const reply = await redis.config("GET", "appendonly");
    const warned = (server as ServerProcess).output().includes("without the append-only file");
    expect(warned).toBe(reply[1] === "no");
  });
});
