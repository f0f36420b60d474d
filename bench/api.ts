/**
 * API benchmark: AddJob, GetJob and an empty RPC (grpc.health.v1.Health/Check, which answers
 * from memory) per second through gRPC, with 16 concurrent clients, against a Metronome server
 * running as a separate process on a fresh MariaDB database. All three rates come from the same
 * run and the same client, so their ratios say what the job path costs on top of the transport.
 * Prints one JSON line; errors are counted, reported and make the exit code 1.
 *
 *   npm run -s bench -- api                        (5 s per phase after 1 s of warm-up each)
 *   BENCH_SECONDS=10 npm run -s bench -- api
 *   METRONOME_TEST_MYSQL_URL=mysql://root@127.0.0.1:3306/test npm run -s bench -- api
 *
 * Client: @grpc/grpc-js with @grpc/proto-loader over proto/ (as a third-party client would), one
 * channel, so one HTTP/2 connection, per client: 16 connections, each with one call in flight
 * at a time. It sustained more calls per second than @connectrpc/connect-node's gRPC transport
 * on every phase, with 16 connections as with one (the client shares the CPU with the server).
 *
 * The measured time of each phase is split into rounds (empty, add, get, empty, add, get, ...),
 * so that other load on the machine weighs on the three rates alike instead of on one phase.
 * Knobs for comparison runs (the defaults are the benchmark):
 *
 *   BENCH_CLIENT=connect        @connectrpc/connect-node createGrpcTransport + sdk/src/gen
 *   BENCH_CHANNELS=1            the 16 clients share this many connections (1 to 16)
 *   BENCH_ROUNDS=1              the phases one after the other (default 5 rounds)
 *   BENCH_WARMUP_SECONDS=2      warm-up of each phase before the first round
 *   BENCH_SERVER_FLAGS="--cpu-prof --cpu-prof-dir=/tmp/prof"   extra Node flags for the server
 */
import { cpus } from "node:os";
import { cpuSecondsOr0, localDbPid } from "./proc.js";
import { builtServer } from "./server-build.js";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { fromJson } from "@bufbuild/protobuf";
import { ListValueSchema } from "@bufbuild/protobuf/wkt";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import mysql from "mysql2/promise";
import { createTestDatabase } from "../test/support/database.js";
import { startServerProcess, type ServerProcess } from "../test/support/processes.js";
import {
  Health,
  HealthCheckResponse_ServingStatus,
} from "../server/src/gen/grpc/health/v1/health_pb.js";
import { AddJobOutcome, JobService } from "../server/src/gen/metronome/v1/job_service_pb.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const CLIENTS = 16;
const SECONDS = positive("BENCH_SECONDS", 5);
const WARMUP_SECONDS = positive("BENCH_WARMUP_SECONDS", 1);
/** Each phase's measured time is split into this many slices, the phases taking turns. */
const ROUNDS = Math.max(1, Math.round(positive("BENCH_ROUNDS", 5)));
/** Calls made at the start of every slice before counting, so that all 16 are in flight. */
const SETTLE_MS = 100;
const CHANNELS = Math.min(CLIENTS, Math.round(positive("BENCH_CHANNELS", CLIENTS)));
const CLIENT_KIND = process.env.BENCH_CLIENT ?? "grpc-js";
const SERVER_FLAGS = (process.env.BENCH_SERVER_FLAGS ?? "").split(/\s+/).filter((f) => f !== "");
/** Every call carries a deadline, so a stuck server fails the benchmark instead of hanging it. */
const DEADLINE_MS = 30_000;
/** A phase stops early after this many errors (a dead server would otherwise spin the loops). */
const MAX_ERRORS = 1000;
const TARGETS = { add: 0.6, get: 0.8 };

function positive(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number`);
  return n;
}

// ---- the job the benchmark adds: a weekday cron trigger and a small payload ----

const HANDLER = "reports.send_digest";
const NAME = "Weekday digest";
const CRON = { day_of_week: "mon-fri", hour: "8", minute: "30", timezone: "Europe/Paris" };
const ARGS = ["eu-west", 42];
const KWARGS = { recipients: ["ops@example.com", "billing@example.com"], dry_run: false };

/** One connection to the server; each method is one unary call, checked. */
interface ApiClient {
  empty(): Promise<void>;
  add(id: string): Promise<void>;
  get(id: string): Promise<void>;
  /** Read a job back and check that its trigger and payload survived the round trip. */
  verify(id: string): Promise<void>;
  close(): void;
}

function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(`unexpected response: ${what}`);
}

// ---- @grpc/grpc-js + @grpc/proto-loader ----

type Reply = Record<string, unknown>;
type Unary = (
  request: object,
  options: grpc.CallOptions,
  callback: (err: grpc.ServiceError | null, res?: Reply) => void,
) => void;

/** A JSON value as a google.protobuf.Value object for proto-loader. */
function pbValue(v: unknown): object {
  if (v === null) return { nullValue: "NULL_VALUE" };
  if (typeof v === "number") return { numberValue: v };
  if (typeof v === "string") return { stringValue: v };
  if (typeof v === "boolean") return { boolValue: v };
  if (Array.isArray(v)) return { listValue: { values: v.map(pbValue) } };
  const fields = Object.entries(v as Record<string, unknown>).map(([k, x]): [string, object] => [
    k,
    pbValue(x),
  ]);
  return { structValue: { fields: Object.fromEntries(fields) } };
}

function grpcJsClients(port: number, count: number): ApiClient[] {
  const definition = protoLoader.loadSync(
    ["metronome/v1/job_service.proto", "grpc/health/v1/health.proto"],
    {
      includeDirs: [join(ROOT, "proto")],
      keepCase: true,
      longs: String,
      enums: String,
      defaults: false,
      oneofs: true,
    },
  );
  const pkg = grpc.loadPackageDefinition(definition) as unknown as {
    metronome: { v1: { JobService: grpc.ServiceClientConstructor } };
    grpc: { health: { v1: { Health: grpc.ServiceClientConstructor } } };
  };
  const credentials = grpc.credentials.createInsecure();
  const args = { values: ARGS.map(pbValue) };
  const kwargs = (pbValue(KWARGS) as { structValue: object }).structValue;
  const clients: ApiClient[] = [];
  for (let i = 0; i < count; i++) {
    // A local subchannel pool: without it grpc-js would share one connection between clients.
    const jobs = new pkg.metronome.v1.JobService(`127.0.0.1:${port}`, credentials, {
      "grpc.use_local_subchannel_pool": 1,
    });
    const health = new pkg.grpc.health.v1.Health(`127.0.0.1:${port}`, credentials, {
      channelOverride: jobs.getChannel(),
    });
    const unary = (client: grpc.Client, method: string) => {
      const fn = (client as unknown as Record<string, Unary | undefined>)[method];
      if (fn === undefined) throw new Error(`no method ${method}`);
      const bound = fn.bind(client);
      return (request: object): Promise<Reply> =>
        new Promise((resolve, reject) => {
          bound(request, { deadline: Date.now() + DEADLINE_MS }, (err, res) => {
            if (err) reject(err);
            else resolve(res ?? {});
          });
        });
    };
    const check_ = unary(health, "Check");
    const addJob = unary(jobs, "AddJob");
    const getJob = unary(jobs, "GetJob");
    clients.push({
      empty: async () => {
        const res = await check_({ service: "" });
        check(res.status === "SERVING", `health status ${String(res.status)}`);
      },
      add: async (id) => {
        const res = await addJob({
          job: { id, name: NAME, handler: HANDLER, trigger: { cron: CRON }, args, kwargs },
        });
        check(res.outcome === "ADD_JOB_OUTCOME_CREATED", `AddJob outcome ${String(res.outcome)}`);
      },
      get: async (id) => {
        const res = await getJob({ job_id: id });
        check((res.job as Reply | undefined)?.id === id, "GetJob returned another job");
      },
      verify: async (id) => {
        const res = await getJob({ job_id: id });
        const job = (res.job ?? {}) as Reply;
        const cron = (job.trigger as Reply | undefined)?.cron as Reply | undefined;
        const values = (job.args as { values?: unknown[] } | undefined)?.values ?? [];
        const fields = Object.keys((job.kwargs as { fields?: object } | undefined)?.fields ?? {});
        check(cron?.day_of_week === CRON.day_of_week, "cron trigger lost");
        check(values.length === ARGS.length, "args lost");
        check(fields.length === Object.keys(KWARGS).length, "kwargs lost");
      },
      close: () => {
        health.close();
        jobs.close();
      },
    });
  }
  return clients;
}

// ---- @connectrpc/connect-node gRPC transport + generated code ----

function connectClients(port: number, count: number): ApiClient[] {
  const args = fromJson(ListValueSchema, ARGS);
  const options = { timeoutMs: DEADLINE_MS };
  const clients: ApiClient[] = [];
  for (let i = 0; i < count; i++) {
    // One session manager per client: its own HTTP/2 connection.
    const baseUrl = `http://127.0.0.1:${port}`;
    const sessionManager = new Http2SessionManager(baseUrl);
    const transport = createGrpcTransport({ baseUrl, sessionManager });
    const health = createClient(Health, transport);
    const jobs = createClient(JobService, transport);
    clients.push({
      empty: async () => {
        const res = await health.check({ service: "" }, options);
        check(res.status === HealthCheckResponse_ServingStatus.SERVING, "health status");
      },
      add: async (id) => {
        const res = await jobs.addJob(
          {
            job: {
              id,
              name: NAME,
              handler: HANDLER,
              trigger: {
                kind: {
                  case: "cron",
                  value: {
                    dayOfWeek: CRON.day_of_week,
                    hour: CRON.hour,
                    minute: CRON.minute,
                    timezone: CRON.timezone,
                  },
                },
              },
              args,
              kwargs: KWARGS,
            },
          },
          options,
        );
        check(res.outcome === AddJobOutcome.CREATED, `AddJob outcome ${String(res.outcome)}`);
      },
      get: async (id) => {
        const res = await jobs.getJob({ jobId: id }, options);
        check(res.job?.id === id, "GetJob returned another job");
      },
      verify: async (id) => {
        const { job } = await jobs.getJob({ jobId: id }, options);
        const trigger = job?.trigger?.kind;
        check(
          trigger?.case === "cron" && trigger.value.dayOfWeek === CRON.day_of_week,
          "cron trigger lost",
        );
        check(job?.args?.values.length === ARGS.length, "args lost");
        check(Object.keys(job?.kwargs ?? {}).length === Object.keys(KWARGS).length, "kwargs lost");
      },
      close: () => {
        sessionManager.abort();
      },
    });
  }
  return clients;
}

// ---- database and server ----

/** "mariadb" or "mysql", for the report. */
async function product(url: string): Promise<string> {
  const conn = await mysql.createConnection({ uri: url, connectTimeout: 5000 });
  try {
    const [rows] = await conn.query("SELECT VERSION() AS v");
    return ((rows as { v?: string }[])[0]?.v ?? "").toLowerCase().includes("mariadb")
      ? "mariadb"
      : "mysql";
  } finally {
    await conn.end();
  }
}

// ---- measurement ----

/**
 * CPU time (ms) used so far by each process the benchmark watches: this client, the server and
 * the database server if it runs on this machine. Linux only (/proc); elsewhere it reads 0.
 */
interface CpuSample {
  client: number;
  server: number;
  db: number;
}

const cpuWatch = { serverPid: 0, dbPid: 0 };

function procCpuMs(pid: number): number {
  return cpuSecondsOr0(pid) * 1000;
}

function cpuSample(): CpuSample {
  const own = process.cpuUsage();
  return {
    client: (own.user + own.system) / 1000,
    server: procCpuMs(cpuWatch.serverPid),
    db: procCpuMs(cpuWatch.dbPid),
  };
}

/** What one kind of call measured, summed over its slices. */
class Tally {
  readonly latencies: number[] = [];
  readonly cpu: CpuSample = { client: 0, server: 0, db: 0 };
  measuredMs = 0;
  errors = 0;
  firstError: string | undefined;

  fail(err: unknown): void {
    this.errors++;
    this.firstError ??= err instanceof Error ? err.message : String(err);
  }

  summary(): {
    perS: number;
    ops: number;
    p50: number;
    p99: number;
    cpuMsPerCall: CpuSample;
  } {
    const sorted = Float64Array.from(this.latencies).sort();
    const pct = (p: number): number =>
      round(sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0, 2);
    const ops = sorted.length;
    return {
      perS: this.measuredMs === 0 ? 0 : Math.round((ops / this.measuredMs) * 1000),
      ops,
      p50: pct(0.5),
      p99: pct(0.99),
      cpuMsPerCall: {
        client: perCall(this.cpu.client, ops),
        server: perCall(this.cpu.server, ops),
        db: perCall(this.cpu.db, ops),
      },
    };
  }
}

type Summary = ReturnType<Tally["summary"]>;

/** Set by Ctrl-C: the phases end early and everything is cleaned up. */
const run = { interrupted: false };

/**
 * One slice of a phase: CLIENTS loops (loop i on client i % clients.length), each with one call
 * in flight, for `warmupMs` and then `measureMs`. Counted: the calls that complete without
 * error inside the measured window; the next slice starts once every loop has stopped.
 */
async function slice(
  clients: ApiClient[],
  op: (c: ApiClient) => Promise<void>,
  tally: Tally,
  warmupMs: number,
  measureMs: number,
): Promise<void> {
  const measureStart = performance.now() + warmupMs;
  const measureEnd = measureStart + measureMs;
  let cpuStart: CpuSample | undefined;
  const startTimer = setTimeout(() => (cpuStart = cpuSample()), warmupMs);
  const endTimer = setTimeout(() => {
    if (cpuStart === undefined) return;
    const end = cpuSample();
    tally.cpu.client += end.client - cpuStart.client;
    tally.cpu.server += end.server - cpuStart.server;
    tally.cpu.db += end.db - cpuStart.db;
  }, warmupMs + measureMs);
  const loop = async (client: ApiClient): Promise<void> => {
    while (!run.interrupted && tally.errors < MAX_ERRORS) {
      const started = performance.now();
      if (started >= measureEnd) return;
      try {
        await op(client);
      } catch (err) {
        tally.fail(err);
        continue;
      }
      const done = performance.now();
      if (done >= measureStart && done < measureEnd) tally.latencies.push(done - started);
    }
  };
  await Promise.all(
    Array.from({ length: CLIENTS }, (_, i) => loop(clients[i % clients.length] as ApiClient)),
  );
  clearTimeout(startTimer);
  clearTimeout(endTimer);
  tally.measuredMs += measureMs;
}

function perCall(ms: number, ops: number): number {
  return ops === 0 ? 0 : round(ms / ops, 3);
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

async function main(): Promise<number> {
  if (CLIENT_KIND !== "grpc-js" && CLIENT_KIND !== "connect")
    throw new Error(`BENCH_CLIENT must be grpc-js or connect, not ${JSON.stringify(CLIENT_KIND)}`);
  process.once("SIGINT", () => {
    run.interrupted = true;
  });
  const db = await createTestDatabase("metronome_bench");
  const store = await product(db.url);
  let server: ServerProcess | undefined;
  let clients: ApiClient[] = [];
  try {
    server = await startServerProcess("bench-server", db.url, {
      nodeArgs: SERVER_FLAGS,
      built: builtServer(),
      env: { METRONOME_SHUTDOWN_GRACE: "2" },
      timeoutMs: 60_000,
    });
    cpuWatch.serverPid = server.pid;
    cpuWatch.dbPid = localDbPid();
    clients = (CLIENT_KIND === "grpc-js" ? grpcJsClients : connectClients)(server.port, CHANNELS);

    const added: string[] = [];
    let next = 0;
    const phases = [
      { name: "empty", tally: new Tally(), op: (c: ApiClient) => c.empty() },
      {
        name: "add",
        tally: new Tally(),
        op: async (c: ApiClient) => {
          const id = `bench-${String(next++).padStart(8, "0")}`;
          await c.add(id);
          added.push(id);
        },
      },
      {
        name: "get",
        tally: new Tally(),
        op: async (c: ApiClient) => {
          const id = added[Math.floor(Math.random() * added.length)];
          if (id === undefined) throw new Error("no job was added");
          await c.get(id);
        },
      },
    ] as const;
    // Warm-up (JIT, connections, pools), then the phases in interleaved rounds: a load change on
    // the machine during the run then affects the three rates alike, not one phase.
    for (const p of phases) await slice(clients, p.op, p.tally, WARMUP_SECONDS * 1000, 0);
    for (let r = 0; r < ROUNDS; r++) {
      for (const p of phases) {
        await slice(clients, p.op, p.tally, SETTLE_MS, (SECONDS * 1000) / ROUNDS);
      }
    }
    let verifyError: string | undefined;
    try {
      await (clients[0] as ApiClient).verify(added[0] ?? "none");
    } catch (err) {
      verifyError = err instanceof Error ? err.message : String(err);
    }
    if (run.interrupted) throw new Error("interrupted");

    const [empty, add, get] = phases.map((p) => p.tally.summary()) as [Summary, Summary, Summary];
    const errors =
      phases.reduce((n, p) => n + p.tally.errors, 0) + (verifyError === undefined ? 0 : 1);
    const ratio = (x: number): number => (empty.perS === 0 ? 0 : round(x / empty.perS, 3));
    const addRatio = ratio(add.perS);
    const getRatio = ratio(get.perS);
    console.log(
      JSON.stringify({
        bench: "api",
        add_per_s: add.perS,
        get_per_s: get.perS,
        empty_per_s: empty.perS,
        add_ratio: addRatio,
        get_ratio: getRatio,
        meets_targets: addRatio >= TARGETS.add && getRatio >= TARGETS.get,
        targets: { add_ratio: TARGETS.add, get_ratio: TARGETS.get },
        latency_ms: {
          empty: { p50: empty.p50, p99: empty.p99 },
          add: { p50: add.p50, p99: add.p99 },
          get: { p50: get.p50, p99: get.p99 },
        },
        ops: { empty: empty.ops, add: add.ops, get: get.ops },
        // CPU time per call in the measured windows (10 ms ticks, so roughly): where the time goes.
        cpu_ms_per_call: {
          empty: empty.cpuMsPerCall,
          add: add.cpuMsPerCall,
          get: get.cpuMsPerCall,
        },
        errors,
        jobs: added.length,
        clients: CLIENTS,
        channels: CHANNELS,
        client: CLIENT_KIND,
        seconds: SECONDS,
        rounds: ROUNDS,
        warmup_seconds: WARMUP_SECONDS,
        store,
        node: process.version,
        cpu: cpus()[0]?.model ?? "unknown",
        cores: cpus().length,
        code: builtServer() ? "built" : "source",
      }),
    );
    for (const p of phases) {
      if (p.tally.errors > 0)
        console.error(
          `bench api: ${p.tally.errors} errors in ${p.name}, first: ${p.tally.firstError ?? ""}`,
        );
    }
    if (verifyError !== undefined) console.error(`bench api: verify: ${verifyError}`);
    return errors === 0 ? 0 : 1;
  } finally {
    for (const c of clients) c.close();
    await server?.stop();
    await db.drop();
  }
}

try {
  process.exitCode = await main();
} catch (err) {
  console.error(`bench api: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = run.interrupted ? 130 : 1;
}
// Nothing should be left running; if something is, do not hang on it.
setTimeout(() => process.exit(), 2000).unref();
