/**
 * A local Redis Cluster for the tests that need one: three masters (and, when asked, a replica
 * of each) on loopback ports (`redis-server --cluster-enabled yes`, joined with `redis-cli --cluster create`), their
 * files in a temporary folder, stopped and removed with `stop()`. A test file starts its own, so
 * files never share a cluster's state. Without `redis-server` and `redis-cli` such a suite is
 * skipped locally with a line saying so, and fails under CI=true.
 */
import { execFile, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { Cluster, Redis } from "ioredis";
import { describeIf, requireUnderCi, type Requirement } from "./requirements.js";

const run = promisify(execFile);

function installed(command: string): boolean {
  return spawnSync(command, ["--version"], { stdio: "ignore" }).status === 0;
}

export const REDIS_CLUSTER: Requirement = {
  met: installed("redis-server") && installed("redis-cli"),
  needs:
    "needs redis-server and redis-cli (Redis 7) on the PATH to start a local Redis Cluster (apt-get install redis-server)",
};
requireUnderCi(REDIS_CLUSTER);

/** `describe` for a suite that starts a Redis Cluster: skipped when it cannot, except under CI. */
export function describeRedisCluster(name: string, body: () => void): void {
  describeIf(REDIS_CLUSTER, name, body);
}

/** Whether `port` and its cluster bus port (port + 10000) can be listened on now. */
async function free(port: number): Promise<boolean> {
  const tryListen = (p: number) =>
    new Promise<boolean>((resolve) => {
      const s = createServer();
      s.once("error", () => {
        resolve(false);
      });
      s.listen(p, "127.0.0.1", () => {
        s.close(() => {
          resolve(true);
        });
      });
    });
  return (await tryListen(port)) && (await tryListen(port + 10_000));
}

/** `n` ports that are free with their bus ports, from a random place in 20000–29999. */
async function freePorts(n: number): Promise<number[]> {
  const ports: number[] = [];
  let port = 20_000 + Math.floor(Math.random() * 9000);
  while (ports.length < n) {
    if (await free(port)) ports.push(port);
    port = port >= 29_999 ? 20_000 : port + 1;
  }
  return ports;
}

/** Resolves once `check` holds, polling Redis (what is waited on is a server's state). */
async function until(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline)
      throw new Error(`the Redis Cluster: ${what} within ${String(timeoutMs)} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export interface RedisCluster {
  /** `redis+cluster://127.0.0.1:p1,127.0.0.1:p2,127.0.0.1:p3`, for a store URL (add `?prefix=`). */
  readonly url: string;
  /** Every server's port (masters and replicas). */
  readonly ports: readonly number[];
  /** SIGKILLs the server on `port` (its replica, if it has one, takes over). */
  kill(port: number): Promise<void>;
  /** A cluster client for raw reads (disconnect it when done). */
  client(): Cluster;
  /** Stops the servers and removes their files. */
  stop(): Promise<void>;
}

/** Starts three masters (and `replicas` replicas of each) on free loopback ports as one cluster. */
export async function startRedisCluster(replicas = 0): Promise<RedisCluster> {
  const dir = mkdtempSync(join(tmpdir(), "metronome-redis-cluster-"));
  const ports = await freePorts(3 * (1 + replicas));
  const servers: ChildProcess[] = ports.map((port) =>
    spawn(
      "redis-server",
      [
        "--port",
        String(port),
        "--bind",
        "127.0.0.1",
        "--cluster-enabled",
        "yes",
        "--cluster-config-file",
        join(dir, `nodes-${String(port)}.conf`),
        "--cluster-node-timeout",
        "2000",
        "--dir",
        dir,
        "--dbfilename",
        `dump-${String(port)}.rdb`,
        "--save",
        "",
        "--appendonly",
        "no",
      ],
      { stdio: "ignore" },
    ),
  );
  const killServer = (s: ChildProcess) =>
    new Promise<void>((resolve) => {
      if (s.exitCode !== null || s.signalCode !== null) {
        resolve();
        return;
      }
      s.once("exit", () => {
        resolve();
      });
      s.kill("SIGKILL");
    });
  const stop = async () => {
    await Promise.all(servers.map(killServer));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (const port of ports) {
      await until(`node ${String(port)} answering`, async () => {
        const r = new Redis({
          port,
          host: "127.0.0.1",
          lazyConnect: true,
          maxRetriesPerRequest: 0,
          retryStrategy: () => null,
        });
        r.on("error", () => undefined);
        try {
          await r.connect();
          await r.ping();
          return true;
        } finally {
          r.disconnect();
        }
      });
    }
    await run("redis-cli", [
      "--cluster",
      "create",
      ...ports.map((p) => `127.0.0.1:${String(p)}`),
      "--cluster-replicas",
      String(replicas),
      "--cluster-yes",
    ]);
    for (const port of ports) {
      await until(`node ${String(port)} reporting cluster_state:ok`, async () => {
        const { stdout } = await run("redis-cli", ["-p", String(port), "cluster", "info"]);
        return (
          stdout.includes("cluster_state:ok") &&
          stdout.includes(`cluster_known_nodes:${String(ports.length)}`)
        );
      });
    }
    // A replica syncs with its master after the cluster is formed (a full sync): until its link
    // is up, a write is on the master only, and a test that kills the master would lose it.
    for (const port of ports) {
      await until(`node ${String(port)} in sync with its master`, async () => {
        const { stdout } = await run("redis-cli", ["-p", String(port), "info", "replication"]);
        return stdout.includes("role:master") || stdout.includes("master_link_status:up");
      });
    }
  } catch (err) {
    await stop();
    throw err;
  }
  const nodes = ports.map((port) => ({ host: "127.0.0.1", port }));
  return {
    url: `redis+cluster://${ports.map((p) => `127.0.0.1:${String(p)}`).join(",")}`,
    ports,
    kill: (port) => killServer(servers[ports.indexOf(port)] as ChildProcess),
    client: () => {
      const c = new Cluster(nodes, { redisOptions: { maxRetriesPerRequest: 1 } });
      c.on("error", () => undefined);
      return c;
    },
    stop,
  };
}
