/**
 * What the engine benchmarks (burst, sustained, scale, throughput) share: a fresh database of
 * the store `--store` names (mysql, the default; postgres; redis; redis-cluster, a local three-master
 * cluster started for the run; sqlite), the server as its own
 * process, a driver client, an SDK worker process whose handlers record their start times, and
 * process statistics from /proc.
 *
 *   npm run -s bench -- burst --store postgres
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import mysql from "mysql2/promise";
import pg from "pg";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { Redis } from "ioredis";
import {
  createPostgresDatabase,
  createRedisStore,
  createTestDatabase,
  REDIS_URL,
} from "../test/support/database.js";
import { DEFAULT_CLUSTER_SHARDS } from "../server/src/config/store-url.js";
import { startRedisCluster } from "../test/support/redis-cluster.js";
import { clusterLayout, redisRows, serverLayout } from "../test/support/redis-rows.js";
import { createSqliteStore } from "../test/support/stores.js";
import { startServerProcess, type ServerProcess } from "../test/support/processes.js";
import { builtServer } from "./server-build.js";
import {
  startWorkerProcess,
  type Execution,
  type WorkerProcess,
} from "../test/support/worker-process.js";
import type { JobSchema } from "../server/src/gen/metronome/v1/job_pb.js";
import { AddJobOutcome, JobService } from "../server/src/gen/metronome/v1/job_service_pb.js";
import { RunService } from "../server/src/gen/metronome/v1/run_service_pb.js";

export const HANDLER = "bench.record";

export type BenchStore = "mysql" | "postgres" | "redis" | "redis-cluster" | "sqlite";

/** The store `--store` names on the command line (mysql without it). */
export function benchStore(): BenchStore {
  const i = process.argv.indexOf("--store");
  const name = i < 0 ? "mysql" : process.argv[i + 1];
  if (
    name === "mysql" ||
    name === "postgres" ||
    name === "redis" ||
    name === "redis-cluster" ||
    name === "sqlite"
  )
    return name;
  console.error(
    `--store: expected mysql, postgres, redis, redis-cluster or sqlite, got ${JSON.stringify(name)}`,
  );
  process.exit(2);
}

/** The store's name in a report: "mariadb" for MySQL (what our machines run). */
export function storeLabel(store: BenchStore): string {
  return store === "mysql" ? "mariadb" : store;
}

/** A benchmark's own database: its URL, a way to read it (`?` placeholders), and removal. */
interface BenchDatabase {
  readonly url: string;
  rows<T>(sql: string, params?: readonly (string | number)[]): Promise<T[]>;
  drop(): Promise<void>;
}

async function benchDatabase(store: BenchStore, name: string): Promise<BenchDatabase> {
  const prefix = `metronome_bench_${name}`;
  if (store === "mysql") {
    const db = await createTestDatabase(prefix);
    const conn = await mysql.createConnection({ uri: db.url });
    return {
      url: db.url,
      rows: async <T>(sql: string, params: readonly (string | number)[] = []) =>
        (await conn.query(sql, [...params]))[0] as T[],
      drop: async () => {
        await conn.end();
        await db.drop();
      },
    };
  }
  if (store === "postgres") {
    const db = await createPostgresDatabase(prefix);
    const pool = new pg.Pool({ connectionString: db.url, max: 1 });
    pool.on("error", () => undefined);
    return {
      url: db.url,
      rows: async <T>(text: string, params: readonly (string | number)[] = []) => {
        let n = 0;
        const numbered = text.replace(/\?/g, () => `$${String(++n)}`);
        return (await pool.query(numbered, [...params])).rows as T[];
      },
      drop: async () => {
        await pool.end();
        await db.drop();
      },
    };
  }
  if (store === "redis") {
    // A key prefix of its own; its queries run over a copy of the records (redis-rows.ts).
    const db = await createRedisStore(prefix);
    const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
    redis.on("error", () => undefined);
    return {
      url: db.url,
      rows: <T>(sql: string, params: readonly (string | number)[] = []) =>
        redisRows<T>(redis, serverLayout(db.name), sql, params),
      drop: async () => {
        redis.disconnect();
        await db.drop();
      },
    };
  }
  if (store === "redis-cluster") {
    // A three-master cluster of its own on loopback ports, stopped afterwards (redis-cluster.ts).
    const cluster = await startRedisCluster();
    const keyPrefix = `${prefix}:`;
    const client = cluster.client();
    return {
      url: `${cluster.url}?prefix=${keyPrefix}`,
      rows: <T>(sql: string, params: readonly (string | number)[] = []) =>
        redisRows<T>(client, clusterLayout(keyPrefix, DEFAULT_CLUSTER_SHARDS), sql, params),
      drop: async () => {
        client.disconnect();
        await cluster.stop();
      },
    };
  }
  const db = await createSqliteStore(prefix);
  const path = db.url.slice("sqlite:///".length);
  let file: Database.Database | undefined;
  return {
    url: db.url,
    rows: <T>(sql: string, params: readonly (string | number)[] = []) => {
      file ??= new Database(path, { readonly: true });
      return Promise.resolve(file.prepare(sql).all(...params) as T[]);
    },
    drop: async () => {
      file?.close();
      await db.drop();
    },
  };
}

export interface Bench {
  readonly store: BenchStore;
  readonly dbUrl: string;
  /** Rows of a query on the benchmark's database (`?` placeholders). */
  rows<T>(sql: string, params?: readonly (string | number)[]): Promise<T[]>;
  server: ServerProcess;
  readonly jobs: Client<typeof JobService>;
  readonly runs: Client<typeof RunService>;
  startServer(): Promise<{ server: ServerProcess; readyMs: number }>;
  startWorker(concurrency: number): Promise<WorkerProcess>;
  /**
   * The server's event-loop delay and garbage collection since the previous call (see
   * server-probe.js): call it at the start of a window, and at its end for the window's figures.
   */
  probe(): Promise<ServerProbe>;
  close(): Promise<void>;
}

/** What bench/server-probe.js measured in the server over a window. */
export interface ServerProbe {
  readonly window_s: number;
  readonly loop_delay_ms: { readonly p50: number; readonly p99: number; readonly max: number };
  readonly gc: {
    readonly count: number;
    readonly total_ms: number;
    readonly max_ms: number;
    readonly major: number;
    readonly major_ms: number;
  };
}

const PROBE = join(dirname(fileURLToPath(import.meta.url)), "server-probe.js");

/**
 * Server settings for the benchmarks: the defaults (info logs: errors only, as calls that
 * succeed log nothing). BENCH_SERVER_LOG_LEVEL=debug shows the engine's steps with timings.
 */
const SERVER_ENV: Record<string, string> =
  process.env.BENCH_SERVER_LOG_LEVEL === undefined
    ? {}
    : { METRONOME_LOG_LEVEL: process.env.BENCH_SERVER_LOG_LEVEL };

export async function setUp(name: string): Promise<Bench> {
  const store = benchStore();
  const db = await benchDatabase(store, name);
  const probeDir = mkdtempSync(join(tmpdir(), "metronome-bench-probe-"));
  const probeFile = join(probeDir, "probe.json");
  let probeSeq = 0;
  const workers: WorkerProcess[] = [];
  let session: Http2SessionManager | undefined;
  const built = builtServer();
  const startServer = async () => {
    rmSync(probeFile, { force: true });
    probeSeq = 0;
    const t0 = performance.now();
    const server = await startServerProcess(`bench-${name}`, db.url, {
      env: { ...SERVER_ENV, BENCH_PROBE_FILE: probeFile },
      nodeArgs: [
        "--import",
        PROBE,
        ...(process.env.BENCH_SERVER_FLAGS ?? "").split(/\s+/).filter((f) => f !== ""),
      ],
      timeoutMs: 120_000,
      built,
    });
    return { server, readyMs: performance.now() - t0 };
  };
  const { server } = await startServer();
  const connect = (port: number) => {
    session?.abort();
    const baseUrl = `http://127.0.0.1:${String(port)}`;
    session = new Http2SessionManager(baseUrl);
    const transport = createGrpcTransport({ baseUrl, sessionManager: session });
    return { jobs: createClient(JobService, transport), runs: createClient(RunService, transport) };
  };
  const clients = connect(server.port);
  const bench: Bench = {
    store,
    dbUrl: db.url,
    rows: (sql, params) => db.rows(sql, params),
    server,
    jobs: clients.jobs,
    runs: clients.runs,
    startServer: async () => {
      const started = await startServer();
      bench.server = started.server;
      Object.assign(bench, connect(started.server.port));
      return started;
    },
    startWorker: async (concurrency) => {
      const w = await startWorkerProcess({
        url: `http://127.0.0.1:${String(bench.server.port)}`,
        handlers: [HANDLER],
        concurrency,
        id: `bench-worker-${String(workers.length)}`,
        builtSdk: built,
      });
      workers.push(w);
      return w;
    },
    probe: async () => {
      process.kill(bench.server.pid, "SIGUSR2");
      const deadline = Date.now() + 10_000;
      for (;;) {
        if (existsSync(probeFile)) {
          const read = JSON.parse(readFileSync(probeFile, "utf8")) as ServerProbe & { seq: number };
          if (read.seq > probeSeq) {
            probeSeq = read.seq;
            return { window_s: read.window_s, loop_delay_ms: read.loop_delay_ms, gc: read.gc };
          }
        }
        if (Date.now() > deadline) throw new Error("the server probe did not answer");
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    close: async () => {
      if (process.env.BENCH_SERVER_LOG_LEVEL !== undefined) console.error(bench.server.output());
      for (const w of workers) await w.stop().catch(() => undefined);
      session?.abort();
      await bench.server.stop().catch(() => undefined);
      await db.drop();
      rmSync(probeDir, { recursive: true, force: true });
    },
  };
  return bench;
}

/** Adds jobs with `concurrency` calls in flight; answers the jobs per second achieved. */
export async function addJobs(
  bench: Bench,
  count: number,
  make: (i: number) => MessageInitShape<typeof JobSchema>,
  concurrency = 32,
): Promise<number> {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < count; i = next++) {
        await bench.jobs.addJob({ job: { handler: HANDLER, ...make(i) } });
      }
    }),
  );
  return count / ((performance.now() - t0) / 1000);
}

/**
 * Adds jobs through AddJobs, `batch` per call with `concurrency` calls in flight; answers the
 * jobs per second achieved. Fails on any result other than CREATED.
 */
export async function addJobsBulk(
  bench: Bench,
  count: number,
  make: (i: number) => MessageInitShape<typeof JobSchema>,
  batch = 1000,
  concurrency = 4,
): Promise<number> {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let start = next; start < count; start = next) {
        next = Math.min(count, start + batch);
        const jobs = Array.from({ length: next - start }, (_, k) => ({
          handler: HANDLER,
          ...make(start + k),
        }));
        const { results } = await bench.jobs.addJobs({ jobs });
        if (results.some((r) => r.outcome !== AddJobOutcome.CREATED))
          throw new Error("AddJobs did not create every job");
      }
    }),
  );
  return count / ((performance.now() - t0) / 1000);
}

export const ts = timestampFromMs;

export function percentiles(values: readonly number[]): {
  min: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
} {
  const s = Float64Array.from(values).sort();
  const at = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? 0;
  const r = (x: number) => Math.round(x * 10) / 10;
  return {
    min: r(s[0] ?? 0),
    p50: r(at(0.5)),
    p95: r(at(0.95)),
    p99: r(at(0.99)),
    max: r(s[s.length - 1] ?? 0),
  };
}

/** Resolves at a wall-clock instant. */
export function until(at: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, at - Date.now())));
}

/** Polls `check` every 100 ms until it holds or `deadline` passes; answers whether it held. */
export async function waitUntil(check: () => boolean, deadline: number): Promise<boolean> {
  while (!check()) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 100));
  }
  return true;
}

export function machine(): { node: string; cpu: string; cores: number; code: string } {
  return {
    node: process.version,
    cpu: cpus()[0]?.model ?? "unknown",
    cores: cpus().length,
    code: builtServer() ? "built" : "source",
  };
}

export type { Execution };
export { cpuSeconds, peakRssMb } from "./proc.js";
