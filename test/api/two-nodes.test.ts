/**
 * Two real `metronome serve` processes on one database (MariaDB, and PostgreSQL): concurrent AddJob and ModifyJob
 * requests on the same job ids, spread over both nodes, create no duplicates and lose no update.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { status } from "@grpc/grpc-js";
import { afterAll, afterEach, beforeAll, expect, it } from "vitest";
import {
  grpcJsClients,
  struct,
  unstruct,
  type Call,
  type GrpcJsClients,
  type Reply,
} from "../support/grpc-js.js";
import { repoRoot } from "../support/paths.js";
import { startServerProcess, type Exit, type ServerProcess } from "../support/processes.js";
import { SCHEMA_VERSION } from "../../server/src/store/redis/store.js";
import { describeEachSharedStore, type SharedTestDatabase } from "../support/shared-stores.js";

const CONCURRENCY = 50;
const MAX_ATTEMPTS = 200;

/** The gRPC status name (`ALREADY_EXISTS`, …) of a failed call. */
const codeOf = (err: unknown): string => {
  const code = (err as { code?: unknown }).code;
  return typeof code === "number" ? (status[code] ?? `code ${code}`) : "not a gRPC error";
};

const jobOf = (r: Reply): Reply => r.job as Reply;
const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

describeEachSharedStore("two server processes on one database", (createDatabase) => {
  let db: SharedTestDatabase | undefined;
  const servers: ServerProcess[] = [];
  const clients: GrpcJsClients[] = [];

  /** JobService of node `i % 2`: requests alternate between the nodes. */
  const job = (i: number): Call => {
    const c = clients[i % clients.length];
    if (!c) throw new Error("no clients");
    return c.job;
  };

  /** Run `work`, failing at once (with its stderr) if a server process dies meanwhile. */
  const guarded = <T>(work: Promise<T>): Promise<T> =>
    Promise.race([work, ...servers.map((s) => s.crashed)]);

  const query = <T>(sql: string): Promise<T[]> => {
    if (!db) throw new Error("no database");
    return db.rows<T>(sql);
  };

  beforeAll(async () => {
    const { url } = (db = await createDatabase());
    // Both at once: both run migrate-on-start concurrently, under the migration lock.
    const started = await Promise.allSettled(
      ["node-a", "node-b"].map((name) => startServerProcess(name, url, { timeoutMs: 40_000 })),
    );
    for (const s of started) if (s.status === "fulfilled") servers.push(s.value);
    const failed = started.find((s) => s.status === "rejected");
    if (failed) throw failed.reason;
    for (const s of servers) clients.push(grpcJsClients(s.port));
  }, 60_000);

  afterAll(async () => {
    for (const c of clients) c.close();
    const exits = await Promise.allSettled(servers.map((s) => s.stop()));
    await db?.drop();
    // Both stop cleanly on SIGTERM: exit code 0.
    exits.forEach((e, i) => {
      const s = servers[i];
      if (e.status === "rejected") throw e.reason;
      expect(e.value, `${s?.name ?? "?"} on SIGTERM\n${s?.output() ?? ""}`).toEqual({
        code: 0,
        signal: null,
      } satisfies Exit);
    });
  }, 40_000);

  afterEach(() => {
    // A node that died during a test fails that test, with the node's output.
    for (const s of servers) expect(s.running(), `${s.name} exited\n${s.output()}`).toBe(true);
  });

  it("both nodes listen on their own port after migrating the same database once", async () => {
    expect(servers).toHaveLength(2);
    const [a, b] = servers;
    expect(a?.port).not.toBe(b?.port);
    // Redis has no migrations: migrate() records the schema version (1).
    const journal =
      db?.store === "redis"
        ? { entries: [SCHEMA_VERSION] }
        : (JSON.parse(
            readFileSync(
              join(repoRoot, `migrations/${db?.store ?? "?"}/meta/_journal.json`),
              "utf8",
            ),
          ) as { entries: unknown[] });
    const [applied] = await query<{ n: number | string }>(
      "SELECT COUNT(*) AS n FROM __drizzle_migrations",
    );
    expect(Number(applied?.n)).toBe(journal.entries.length);
    for (const c of clients)
      expect(await c.health("Check", { service: "" })).toEqual({ status: "SERVING" });
  });

  it("50 concurrent AddJob on 5 ids create each job exactly once", async () => {
    const ids = range(5).map((k) => `dup-${k}`);
    const request = (i: number) => ({
      job: {
        id: ids[i % ids.length],
        name: `request-${i}`,
        handler: "dup.handler",
        trigger: { cron: { hour: "3", minute: String(i % 60) } },
        kwargs: struct({ request: i }),
      },
    });

    // Default conflict policy: one CREATED per id, ALREADY_EXISTS for the nine others.
    const added = await guarded(
      Promise.all(
        range(CONCURRENCY).map((i) =>
          job(i)("AddJob", request(i)).then(
            (r) => ({ i, code: "OK", outcome: r.outcome, job: jobOf(r) }),
            (err: unknown) => ({ i, code: codeOf(err), outcome: undefined, job: undefined }),
          ),
        ),
      ),
    );
    const created = new Map<string, Reply>();
    for (const id of ids) {
      const mine = added.filter((r) => r.i % ids.length === ids.indexOf(id));
      expect(mine).toHaveLength(CONCURRENCY / ids.length);
      const codes = mine.map((r) => (r.code === "OK" ? String(r.outcome) : r.code)).sort();
      expect(codes, `outcomes for ${id}`).toEqual([
        "ADD_JOB_OUTCOME_CREATED",
        ...Array<string>(CONCURRENCY / ids.length - 1).fill("ALREADY_EXISTS"),
      ]);
      const winner = mine.find((r) => r.code === "OK");
      expect(winner?.job).toMatchObject({ id, version: "1", name: `request-${winner?.i}` });
      created.set(id, winner?.job as Reply);
    }

    // KEEP_EXISTING: every call succeeds and returns the stored job, unchanged.
    const kept = await guarded(
      Promise.all(
        range(CONCURRENCY).map((i) =>
          job(i)("AddJob", { ...request(i), conflict_policy: "CONFLICT_POLICY_KEEP_EXISTING" }),
        ),
      ),
    );
    kept.forEach((r, i) => {
      const id = ids[i % ids.length] ?? "";
      expect(r.outcome).toBe("ADD_JOB_OUTCOME_KEPT_EXISTING");
      expect(jobOf(r)).toMatchObject({ id, version: "1" });
      expect(jobOf(r)).toEqual(created.get(id));
    });

    // Both nodes see the same 5 jobs, each as created.
    for (const [n, c] of clients.entries()) {
      const listed = (await c.job("ListJobs", { id_prefix: "dup-" })).jobs as Reply[];
      expect(
        listed.map((j) => j.id),
        `ListJobs on node ${n}`,
      ).toEqual(ids);
      for (const j of listed) expect(j).toEqual(created.get(j.id as string));
    }

    // And the table holds each (scheduler, id) once.
    const rows = await query<{ scheduler: string; id: string; n: number | string }>(
      "SELECT scheduler, id, COUNT(*) AS n FROM jobs GROUP BY scheduler, id ORDER BY scheduler, id",
    );
    expect(rows.map((r) => ({ ...r, n: Number(r.n) }))).toEqual(
      ids.map((id) => ({ scheduler: "default", id, n: 1 })),
    );
    const schedulers = await query<{ name: string; n: number | string }>(
      "SELECT name, COUNT(*) AS n FROM schedulers GROUP BY name",
    );
    expect(schedulers.map((r) => ({ ...r, n: Number(r.n) }))).toEqual([{ name: "default", n: 1 }]);
  }, 30_000);

  it("50 concurrent read-modify-write loops with expected_version lose no update", async () => {
    const id = "counter";
    const start = await job(0)("AddJob", {
      job: {
        id,
        handler: "counter.handler",
        trigger: { cron: { hour: "4" } },
        kwargs: struct({ counter: 0 }),
      },
    });
    expect(jobOf(start).version).toBe("1");

    const attempts: number[] = [];
    /** One client: read the counter, write counter + 1 at the version read; retry on conflict. */
    const increment = async (client: number): Promise<Reply> => {
      const call = job(client);
      for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
        const read = jobOf(await call("GetJob", { job_id: id }));
        const counter = unstruct(read.kwargs as Reply).counter;
        if (typeof counter !== "number") throw new Error(`counter is ${JSON.stringify(counter)}`);
        try {
          const written = jobOf(
            await call("ModifyJob", {
              job: { id, kwargs: struct({ counter: counter + 1 }) },
              update_mask: { paths: ["kwargs"] },
              expected_version: read.version,
            }),
          );
          attempts.push(attempt);
          return written;
        } catch (err) {
          if (codeOf(err) !== "FAILED_PRECONDITION") throw err;
        }
      }
      throw new Error(`client ${client}: no successful write in ${MAX_ATTEMPTS} attempts`);
    };

    const written = await guarded(Promise.all(range(CONCURRENCY).map(increment)));

    // Each successful write produced its own version, and wrote the counter it was based on + 1.
    const versions = written.map((j) => Number(j.version)).sort((x, y) => x - y);
    expect(versions).toEqual(range(CONCURRENCY).map((k) => k + 2));
    for (const j of written)
      expect(unstruct(j.kwargs as Reply)).toEqual({ counter: Number(j.version) - 1 });

    for (const c of clients) {
      const final = jobOf(await c.job("GetJob", { job_id: id }));
      expect(unstruct(final.kwargs as Reply)).toEqual({ counter: CONCURRENCY });
      expect(final.version).toBe(String(1 + CONCURRENCY));
    }
    expect(attempts).toHaveLength(CONCURRENCY);
  }, 40_000);

  it("50 concurrent ModifyJob without expected_version are each applied once", async () => {
    const id = "counter";
    const before = Number(jobOf(await job(0)("GetJob", { job_id: id })).version);
    const names = range(CONCURRENCY).map((i) => `writer-${i}`);

    const results = await guarded(
      Promise.all(
        names.map((name, i) =>
          job(i)("ModifyJob", { job: { id, name }, update_mask: { paths: ["name"] } }).then(
            (r) => ({ name, job: jobOf(r), error: undefined }),
            (err: unknown) => ({ name, job: undefined, error: `${codeOf(err)}: ${String(err)}` }),
          ),
        ),
      ),
    );
    const applied = results.flatMap((r) => (r.job ? [{ name: r.name, job: r.job }] : []));
    const final = jobOf(await job(1)("GetJob", { job_id: id }));

    // What was acknowledged is in the job: each write got its own version, the last one's name
    // stuck, and the name writes did not touch the other fields.
    const versions = applied.map((r) => Number(r.job.version)).sort((x, y) => x - y);
    expect(versions).toEqual(range(applied.length).map((k) => before + 1 + k));
    for (const r of applied) expect(r.job.name).toBe(r.name);
    expect(Number(final.version)).toBe(before + applied.length);
    expect(final.name).toBe(applied.find((r) => versions.at(-1) === Number(r.job.version))?.name);
    expect(unstruct(final.kwargs as Reply)).toEqual({ counter: CONCURRENCY });

    // And every write was acknowledged: without expected_version the server retries conflicts
    // itself, so none of the 50 may fail.
    expect(results.flatMap((r) => (r.error ? [`${r.name}: ${r.error}`] : []))).toEqual([]);
    expect(Number(final.version)).toBe(before + CONCURRENCY);
    expect(names).toContain(final.name);
  }, 30_000);
});
