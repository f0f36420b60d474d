/**
 * The operator commands as a person or a script runs them: `metronome …` as its own process
 * against a `metronome serve` process on MariaDB (with bearer tokens on), an SDK worker serving
 * two handlers. Every subcommand runs in both output modes (a table, then `--json`), and the
 * exit codes are checked: 0 ok, 1 other, 2 usage, 3 not found, 4 unavailable, 5 auth.
 */
import { spawn } from "node:child_process";
import { Worker } from "@metronome/sdk";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createTestDatabase, describeMysql } from "../support/mysql.js";
import { repoRoot } from "../support/paths.js";
import { startServerProcess, type ServerProcess } from "../support/processes.js";

const TOKEN = "cli-test-token";
const quiet = {
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  debug: () => undefined,
};

interface Result {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `metronome ARGS` as a process; the environment names the server and the token. */
function metronome(args: readonly string[], env: Record<string, string> = {}): Promise<Result> {
  const base = Object.fromEntries(
    Object.entries(process.env).filter(
      ([k]) => !k.startsWith("METRONOME_") && !k.startsWith("SCHEDULER__"),
    ),
  );
  const child = spawn(process.execPath, ["--import", "tsx", "server/src/cli.ts", ...args], {
    cwd: repoRoot,
    env: { ...base, METRONOME_URL: state.url, METRONOME_TOKEN: TOKEN, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (c: string) => (stdout += c));
  child.stderr.setEncoding("utf8").on("data", (c: string) => (stderr += c));
  return new Promise((resolve) =>
    child.on("close", (code) => {
      resolve({ code, stdout, stderr });
    }),
  );
}

/** Succeeds with exit code 0 and nothing on stderr; answers stdout. */
async function ok(args: readonly string[], env?: Record<string, string>): Promise<string> {
  const r = await metronome(args, env);
  expect(r, `metronome ${args.join(" ")}`).toMatchObject({ code: 0, stderr: "" });
  return r.stdout;
}

/** `--json`: one JSON document on stdout. */
async function okJson<T = Record<string, unknown>>(args: readonly string[]): Promise<T> {
  return JSON.parse(await ok([...args, "--json"])) as T;
}

/** The rows of a table (header first), cells split on runs of 2+ spaces. */
function rows(table: string): string[][] {
  return table
    .trimEnd()
    .split("\n")
    .map((l) => l.split(/ {2,}/));
}

const state = { url: "" };

// Each command is a process (about a second each on a loaded machine); a test runs dozens.
vi.setConfig({ testTimeout: 240_000 });

describeMysql("the metronome operator commands", () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>> | undefined;
  let server: ServerProcess | undefined;
  let worker: Worker | undefined;

  beforeAll(async () => {
    db = await createTestDatabase();
    server = await startServerProcess("cli-node", db.url, {
      timeoutMs: 40_000,
      env: { METRONOME_AUTH_TOKENS: TOKEN, METRONOME_NODE_LEASE: "3" },
    });
    state.url = `http://127.0.0.1:${String(server.port)}`;
    worker = new Worker({
      baseUrl: state.url,
      token: TOKEN,
      workerId: "cli-worker",
      logger: quiet,
    });
    worker.register("cli.ok", (args) => ({ echoed: args }));
    worker.register("cli.fail", () => {
      throw new Error("it broke");
    });
    await worker.start();
  }, 60_000);

  afterAll(async () => {
    await worker?.stop();
    await server?.stop();
    await db?.drop();
  }, 40_000);

  describe("health, nodes, workers", () => {
    it("health: ready in both modes; nothing at the URL is exit code 4", async () => {
      const health = await ok(["health"]);
      expect(health).toContain(`url:   ${state.url}\n`);
      expect(health).toMatch(/^ready: +yes$/m);
      expect(await okJson(["health"])).toEqual({
        url: state.url,
        live: true,
        ready: true,
        reason: "",
      });
      for (const mode of [[], ["--json"]]) {
        const down = await metronome(["health", "--url", "http://127.0.0.1:1", ...mode]);
        expect(down.code).toBe(4);
        expect(down.stderr).toMatch(/^metronome: no answer from http:\/\/127\.0\.0\.1:1.*\n$/);
        expect(down.stdout).toBe("");
      }
    });

    it("nodes list and workers list show this node and the SDK worker", async () => {
      const nodes = rows(await ok(["nodes", "list"]));
      expect(nodes[0]?.slice(0, 5)).toEqual(["NODE", "VERSION", "ADDRESS", "ROLE", "STATE"]);
      expect(nodes[1]?.slice(0, 5)).toEqual([
        "cli-node",
        expect.any(String),
        `127.0.0.1:${String(server?.port)}`,
        "scheduler",
        "serving",
      ]);
      const nodesJson = await okJson<{ nodeId: string; role: string; workerSessions: number }[]>([
        "nodes",
        "list",
      ]);
      expect(nodesJson).toMatchObject([
        { nodeId: "cli-node", role: "scheduler", workerSessions: 1 },
      ]);
      const workers = rows(await ok(["workers", "list"]));
      expect(workers[0]?.slice(0, 4)).toEqual(["WORKER", "SESSION", "NODE", "HANDLERS"]);
      expect(workers[1]?.[0]).toBe("cli-worker");
      expect(workers[1]?.[2]).toBe("cli-node");
      expect(workers[1]?.[3]?.split(",").sort()).toEqual(["cli.fail", "cli.ok"]);
      const workersJson = await okJson<
        { nodeId: string; worker: { workerId: string }; sdk: string }[]
      >(["workers", "list", "--handler", "cli.ok"]);
      expect(workersJson).toMatchObject([
        { nodeId: "cli-node", worker: { workerId: "cli-worker" } },
      ]);
      expect(workersJson[0]?.sdk).toMatch(/metronome/);
      expect(await okJson(["workers", "list", "--handler", "nobody"])).toEqual([]);
      expect((await ok(["workers", "list", "--node", "elsewhere"])).trim()).toBe("(none)");
    });

    it("the token comes from METRONOME_TOKEN or --token; without it, exit code 5", async () => {
      const none = await metronome(["nodes", "list"], { METRONOME_TOKEN: "" });
      expect(none.code).toBe(5);
      expect(none.stderr).toMatch(/^metronome: .*\n$/);
      expect(
        await metronome(["nodes", "list", "--token", "wrong"], { METRONOME_TOKEN: "" }),
      ).toMatchObject({ code: 5 });
      expect(
        await metronome(["nodes", "list", "--token", TOKEN], { METRONOME_TOKEN: "" }),
      ).toMatchObject({ code: 0 });
    });
  });

  describe("jobs", () => {
    it("add takes the guide's four trigger forms, in both modes", async () => {
      const cron = rows(
        await ok([
          "jobs",
          "add",
          "cli.ok",
          "--cron",
          "day_of_week=mon,wed,hour=2,minute=30",
          "--id",
          "cron-job",
          "--args",
          "[1,2]",
        ]),
      );
      expect(cron).toContainEqual(["id:", "cron-job"]);
      const text = await ok(["jobs", "get", "cron-job", "--runs", "0"]);
      expect(text).toMatch(/^trigger: +cron day_of_week=mon,wed hour=2 minute=30 \(UTC\)$/m);
      expect(text).toMatch(/^args: +\[1,2\]$/m);
      const crontab = await okJson<{ id: string; trigger: unknown }>([
        "jobs",
        "add",
        "cli.ok",
        "--crontab",
        "0 2 * * *",
        "--id",
        "crontab-job",
        "--timeout",
        "500ms",
        "--misfire-grace-time",
        "1500ms",
      ]);
      expect(crontab).toMatchObject({
        id: "crontab-job",
        trigger: { crontab: { expression: "0 2 * * *" } },
        timeout: "0.500s",
        misfireGraceTime: { duration: "1.500s" },
      });
      // The table shows configured durations exactly (not their whole seconds).
      const crontabText = await ok(["jobs", "get", "crontab-job", "--runs", "0"]);
      expect(crontabText).toMatch(/^timeout: +0\.5s$/m);
      expect(crontabText).toMatch(/^misfire grace: +1\.5s$/m);
      const interval = await okJson<{ trigger: unknown }>([
        "jobs",
        "add",
        "cli.ok",
        "--interval",
        "1h30m",
        "--id",
        "interval-job",
      ]);
      expect(interval.trigger).toMatchObject({ interval: { seconds: 5400 } });
      const date = await okJson<{ trigger: unknown; nextRunTime: string }>([
        "jobs",
        "add",
        "cli.ok",
        "--date",
        "2030-01-02T03:04:05Z",
        "--id",
        "date-job",
      ]);
      expect(date.nextRunTime).toBe("2030-01-02T03:04:05Z");
    });

    it("add: errors name the field or flag in one line, with exit code 2; a duplicate is 1", async () => {
      const cases: [string[], RegExp][] = [
        [["--cron", "hour=25"], /^metronome: job\.trigger\.cron\.hour: .*25.*\n$/],
        [["--cron", "hours=2"], /^metronome: --cron: unknown field "hours".*\n$/],
        [["--interval", "soon"], /^metronome: --interval: expected a duration.*\n$/],
        [
          ["--date", "2030-01-02 03:04"],
          /^metronome: --date: expected an ISO 8601 time with an offset.*\n$/,
        ],
        [[], /^metronome: give a trigger: --cron, --crontab, --interval or --date\n$/],
        [["--interval", "1m", "--args", "{}"], /^metronome: --args: expected a JSON array.*\n$/],
      ];
      for (const [flags, message] of cases)
        for (const mode of [[], ["--json"]]) {
          const r = await metronome(["jobs", "add", "cli.ok", "--id", "bad", ...flags, ...mode]);
          expect(r.code, flags.join(" ")).toBe(2);
          expect(r.stderr).toMatch(message);
          expect(r.stdout).toBe("");
        }
      const dup = await metronome([
        "jobs",
        "add",
        "cli.ok",
        "--interval",
        "1m",
        "--id",
        "cron-job",
      ]);
      expect(dup.code).toBe(1);
      expect(dup.stderr).toMatch(/^metronome: .*already exists.*\n$/);
      const usage = await metronome(["jobs", "add"]);
      expect(usage.code).toBe(2);
      expect((await metronome(["jobs", "frobnicate"])).code).toBe(2);
      // A missing subcommand prints the usage and is a usage error too; asked-for help is not.
      for (const args of [["jobs"], ["keys"], []]) {
        const r = await metronome(args);
        expect(r.code, `metronome ${args.join(" ")}`).toBe(2);
        expect(r.stderr).toMatch(/^Usage: metronome/m);
      }
      expect(await metronome(["jobs", "--help"])).toMatchObject({ code: 0, stderr: "" });
      expect(await okJson<unknown[]>(["jobs", "list", "--prefix", "bad"])).toEqual([]);
    });

    it("list and get, in both modes; an unknown job is exit code 3", async () => {
      const table = rows(await ok(["jobs", "list"]));
      expect(table[0]).toEqual(["ID", "HANDLER", "TRIGGER", "NEXT RUN", "PAUSED", "WORKERS"]);
      expect(table.slice(1).map((r) => r[0])).toEqual([
        "cron-job",
        "crontab-job",
        "date-job",
        "interval-job",
      ]);
      expect(table[1]?.[5]).toBe("1");
      const listed = await okJson<{ id: string }[]>([
        "jobs",
        "list",
        "--prefix",
        "c",
        "--order",
        "id",
      ]);
      expect(listed.map((j) => j.id)).toEqual(["cron-job", "crontab-job"]);
      const got = await okJson<{ job: { id: string; workerCount: number }; runs: unknown[] }>([
        "jobs",
        "get",
        "interval-job",
      ]);
      expect(got.job).toMatchObject({ id: "interval-job", workerCount: 1 });
      expect(got.runs).toEqual([]);
      for (const mode of [[], ["--json"]]) {
        const missing = await metronome(["jobs", "get", "nope", ...mode]);
        expect(missing).toMatchObject({ code: 3, stdout: "" });
        expect(missing.stderr).toMatch(/^metronome: job "nope" .*not found\n$/);
      }
    });

    it("preview: a job's next fire times, or those of trigger flags", async () => {
      const times = (
        await ok(["jobs", "preview", "cron-job", "--count", "3", "--after", "2026-12-01T00:00:00Z"])
      )
        .trim()
        .split("\n");
      expect(times).toEqual([
        "2026-12-02T02:30:00Z",
        "2026-12-07T02:30:00Z",
        "2026-12-09T02:30:00Z",
      ]);
      expect(
        await okJson([
          "jobs",
          "preview",
          "--crontab",
          "0 9 * * 1",
          "--count",
          "2",
          "--after",
          "2026-12-01T00:00:00Z",
        ]),
      ).toEqual(["2026-12-07T09:00:00Z", "2026-12-14T09:00:00Z"]);
    });

    it("pause, resume, reschedule in both modes", async () => {
      expect(await ok(["jobs", "pause", "interval-job"])).toMatch(/^next run: +paused$/m);
      expect(await okJson(["jobs", "list", "--paused"])).toMatchObject([
        { id: "interval-job", paused: true },
      ]);
      expect(await okJson(["jobs", "resume", "interval-job"])).toMatchObject({
        id: "interval-job",
      });
      expect(await okJson(["jobs", "list", "--paused"])).toEqual([]);
      await okJson(["jobs", "pause", "interval-job"]);
      expect(await ok(["jobs", "resume", "interval-job"])).toMatch(/^next run: +\d{4}-/m);
      expect(await ok(["jobs", "reschedule", "interval-job", "--interval", "2h"])).toMatch(
        /^trigger: +every 2h$/m,
      );
      expect(
        await okJson(["jobs", "reschedule", "interval-job", "--cron", "minute=*/5"]),
      ).toMatchObject({
        trigger: { cron: { minute: "*/5" } },
      });
    });
  });

  describe("runs", () => {
    it("run now, then list (by job, status, time), get, in both modes", async () => {
      await ok(["jobs", "add", "cli.fail", "--interval", "1h", "--id", "failing"]);
      const manual = rows(await ok(["jobs", "run", "cron-job"]));
      expect(manual[0]?.slice(0, 4)).toEqual(["RUN ID", "JOB", "SCHEDULED", "STATUS"]);
      const runId = manual[1]?.[0] ?? "";
      const failing = await okJson<{ runId: string }>(["jobs", "run", "failing"]);
      // Wait for both outcomes by polling the API through the CLI. Only these two runs count:
      // interval-job (rescheduled to every fifth minute above) fires too when the test runs
      // across a five-minute boundary, and its run is listed among the finished ones.
      const ours = new Set([runId, failing.runId]);
      let listed: { runId: string; status: string }[] = [];
      for (let i = 0; i < 200; i++) {
        listed = (
          await okJson<{ runId: string; status: string }[]>([
            "runs",
            "list",
            "--status",
            "succeeded,failed",
          ])
        ).filter((r) => ours.has(r.runId));
        if (listed.length === 2) break;
      }
      expect(new Map(listed.map((r) => [r.runId, r.status]))).toEqual(
        new Map([
          [runId, "RUN_STATUS_SUCCEEDED"],
          [failing.runId, "RUN_STATUS_FAILED"],
        ]),
      );
      const byJob = rows(await ok(["runs", "list", "--job", "failing"]));
      expect(byJob.slice(1).map((r) => [r[0], r[3], r[7]])).toEqual([
        [failing.runId, "failed (manual)", "it broke"],
      ]);
      expect(await okJson(["runs", "list", "--since", "+1h"])).toEqual([]);
      expect(await okJson(["runs", "list", "--until", "-1h"])).toEqual([]);
      expect(
        (await okJson<unknown[]>(["runs", "list", "--since", "-1h", "--limit", "1"])).length,
      ).toBe(1);
      const got = await ok(["runs", "get", runId]);
      expect(got).toMatch(/^status: +succeeded$/m);
      expect(got).toMatch(/^result: +\{"echoed":\[1,2\]\}$/m);
      expect(await okJson(["runs", "get", failing.runId])).toMatchObject({
        status: "RUN_STATUS_FAILED",
        error: { message: "it broke" },
      });
      const bad = await metronome(["runs", "list", "--status", "done"]);
      expect(bad).toMatchObject({ code: 2, stdout: "" });
      expect(bad.stderr).toMatch(/^metronome: --status: unknown status "done"/);
      expect(await metronome(["runs", "get", "0123456789abcdef0123456789abcdef"])).toMatchObject({
        code: 3,
      });
    });

    it("cancel a pending run in both modes; cancelling a finished run is exit code 1", async () => {
      await ok(["jobs", "add", "cli.nobody", "--interval", "1h", "--id", "unserved"]);
      const a = await okJson<{ runId: string }>(["jobs", "run", "unserved"]);
      expect(await ok(["runs", "cancel", a.runId, "--reason", "not needed"])).toMatch(
        /^status: +cancelled$/m,
      );
      const b = await okJson<{ runId: string }>(["jobs", "run", "unserved"]);
      expect(await okJson(["runs", "cancel", b.runId])).toMatchObject({
        runId: b.runId,
        status: "RUN_STATUS_CANCELLED",
      });
      const done = await okJson<{ runId: string }[]>([
        "runs",
        "list",
        "--job",
        "cron-job",
        "--status",
        "succeeded",
      ]);
      const again = await metronome(["runs", "cancel", done[0]?.runId ?? ""]);
      expect(again.code).toBe(1);
      expect(again.stderr).toMatch(/^metronome: .*\n$/);
    });
  });

  describe("schedulers", () => {
    it("configure, get, list, pause, resume in both modes", async () => {
      const configured = await ok([
        "schedulers",
        "configure",
        "reports",
        "--timezone",
        "Asia/Shanghai",
        "--max-instances",
        "3",
        "--misfire-grace-time",
        "none",
      ]);
      expect(configured).toMatch(/^timezone: +Asia\/Shanghai$/m);
      expect(configured).toMatch(/^misfire grace: +no limit$/m);
      expect(await okJson(["schedulers", "configure", "reports", "--no-coalesce"])).toMatchObject({
        name: "reports",
        jobDefaults: { coalesce: false, maxInstances: 3 },
      });
      expect(await ok(["schedulers", "get", "reports"])).toMatch(/^max instances: +3$/m);
      expect(await okJson(["schedulers", "get", "reports"])).toMatchObject({
        timezone: "Asia/Shanghai",
      });
      expect(rows(await ok(["schedulers", "list"])).map((r) => r[0])).toEqual([
        "NAME",
        "default",
        "reports",
      ]);
      expect((await okJson<{ name: string }[]>(["schedulers", "list"])).map((s) => s.name)).toEqual(
        ["default", "reports"],
      );
      expect(await ok(["schedulers", "pause", "reports"])).toMatch(/^paused: +true$/m);
      expect(await okJson(["schedulers", "resume", "reports"])).toMatchObject({ name: "reports" });
      expect(await okJson(["schedulers", "pause", "reports"])).toMatchObject({ paused: true });
      expect(await ok(["schedulers", "resume", "reports"])).toMatch(/^paused: +false$/m);
      const bad = await metronome([
        "schedulers",
        "configure",
        "reports",
        "--timezone",
        "Mars/Olympus",
      ]);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toMatch(/^metronome: timezone: .*Mars\/Olympus.*\n$/);
      expect((await metronome(["schedulers", "get", "nope"])).code).toBe(3);
    });
  });

  describe("events tail", () => {
    it("from a cursor, filtered, in both modes", async () => {
      const lines = (
        await ok(["events", "tail", "--after", "0", "--type", "job_added", "--limit", "2"])
      )
        .trim()
        .split("\n");
      expect(lines).toHaveLength(2);
      expect(lines[0]).toMatch(
        /^\d+ \S+Z job_added scheduler=default job=cron-job handler=cli\.ok node=cli-node actor=env:1$/,
      );
      const json = (
        await ok([
          "events",
          "tail",
          "--after",
          "0",
          "--job",
          "failing",
          "--type",
          "job_error",
          "--limit",
          "1",
          "--json",
        ])
      )
        .trim()
        .split("\n");
      expect(json.map((l) => JSON.parse(l) as unknown)).toMatchObject([
        { type: "job_error", jobId: "failing", error: { message: "it broke" } },
      ]);
      const bad = await metronome(["events", "tail", "--type", "job_exploded"]);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toMatch(/^metronome: --type: unknown event type "job_exploded"/);
      // The stream resumes after a disconnect, but nothing at the URL at the start is exit
      // code 4 at once (it used to wait, retrying, for ever).
      for (const mode of [[], ["--json"]]) {
        const down = await metronome([
          "events",
          "tail",
          "--url",
          "http://127.0.0.1:1",
          "--after",
          "0",
          ...mode,
        ]);
        expect(down).toMatchObject({ code: 4, stdout: "" });
        expect(down.stderr).toMatch(/^metronome: no answer from http:\/\/127\.0\.0\.1:1.*\n$/);
      }
    });

    it("from now: follows live events until --limit", async () => {
      for (const mode of [[], ["--json"]]) {
        const tail = metronome([
          "events",
          "tail",
          "--type",
          "job_modified",
          "--job",
          "tail-probe",
          "--limit",
          "1",
          ...mode,
        ]);
        const tailing = { done: false };
        void tail.then(() => (tailing.done = true));
        await ok(["jobs", "add", "cli.ok", "--interval", "1h", "--id", "tail-probe", "--replace"]);
        // The tail subscribes from now: change the job until it has seen a change.
        for (let i = 0; !tailing.done; i++)
          await ok(["jobs", "reschedule", "tail-probe", "--interval", `${String(2 + (i % 2))}h`]);
        const r = await tail;
        expect(r).toMatchObject({ code: 0, stderr: "" });
        const line = r.stdout.trim();
        if (mode.length === 0)
          expect(line).toMatch(/ job_modified scheduler=default job=tail-probe /);
        else expect(JSON.parse(line)).toMatchObject({ type: "job_modified", jobId: "tail-probe" });
      }
    });
  });

  describe("keys", () => {
    it("create (secret once), list, revoke in both modes; the key works until revoked", async () => {
      const made = await okJson<{ key: { keyId: string; scopes: string[] }; secret: string }>([
        "keys",
        "create",
        "--name",
        "reader",
        "--scope",
        "read:default",
        "--expires-in",
        "1d",
      ]);
      expect(made.key.scopes).toEqual(["read:default"]);
      expect(made.secret).toMatch(new RegExp(`^mtk_${made.key.keyId}_[A-Za-z0-9_-]{43}$`));
      const listed = rows(await ok(["keys", "list"]));
      expect(listed[0]).toEqual(["KEY", "NAME", "SCOPES", "CREATED", "BY", "EXPIRES", "STATE"]);
      const row = listed.find((r) => r[0] === made.key.keyId);
      expect([row?.[1], row?.[2], row?.[4], row?.[6]]).toEqual([
        "reader",
        "read:default",
        "env:1",
        "active",
      ]);
      // The key reads, may not write (exit code 5, the scope named), and stops at revocation.
      const asKey = { METRONOME_TOKEN: made.secret };
      await ok(["jobs", "list"], asKey);
      const denied = await metronome(["jobs", "pause", "cron-job"], asKey);
      expect(denied.code).toBe(5);
      expect(denied.stderr).toMatch(/needs the write scope of scheduler "default"/);
      expect((await ok(["keys", "revoke", made.key.keyId])).trim()).toBe(
        `revoked ${made.key.keyId} (revoked by env:1)`,
      );
      expect((await metronome(["jobs", "list"], asKey)).code).toBe(5);
      expect(await okJson(["keys", "revoke", made.key.keyId])).toMatchObject({
        keyId: made.key.keyId,
        revokedBy: "env:1",
      });
    });

    it("expiry flags read durations and times as every command does", async () => {
      const before = Date.now();
      const week = await okJson<{ key: { expiresAt: string }; secret: string }>([
        "keys",
        "create",
        "--name",
        "w",
        "--scope",
        "worker:cli.*",
        "--expires-in",
        "1w",
      ]);
      const weekMs = Date.parse(week.key.expiresAt) - before;
      expect(weekMs).toBeGreaterThan(604_800_000 - 60_000);
      expect(weekMs).toBeLessThanOrEqual(604_800_000 + 60_000);
      const month = await okJson<{ key: { expiresAt: string } }>([
        "keys",
        "create",
        "--name",
        "m",
        "--scope",
        "read:default",
        "--expires-at",
        "+30d",
      ]);
      expect(Date.parse(month.key.expiresAt) - before).toBeGreaterThan(30 * 86_400_000 - 60_000);
      const at = await okJson<{ key: { expiresAt: string } }>([
        "keys",
        "create",
        "--name",
        "a",
        "--scope",
        "read:default",
        "--expires-at",
        "2031-01-01T00:00:00+08:00",
      ]);
      expect(at.key.expiresAt).toBe("2030-12-31T16:00:00Z");
      // A time without an offset would depend on the machine's zone: refused, naming the flag.
      const local = await metronome(
        [
          "keys",
          "create",
          "--name",
          "l",
          "--scope",
          "read:default",
          "--expires-at",
          "2031-01-01T00:00:00",
        ],
        { TZ: "Asia/Shanghai" },
      );
      expect(local).toMatchObject({ code: 2, stdout: "" });
      expect(local.stderr).toMatch(
        /^metronome: --expires-at: expected an ISO 8601 time with an offset/,
      );

      // PreviewTrigger needs no scope: a worker key previews trigger flags, in UTC when it
      // cannot read the scheduler's zone (saying so), or in the zone it gives.
      const asWorker = { METRONOME_TOKEN: week.secret };
      const flags = ["--crontab", "0 9 * * 1", "--count", "2", "--after", "2026-12-01T00:00:00Z"];
      const preview = await metronome(["jobs", "preview", ...flags, "--json"], asWorker);
      expect(preview.code).toBe(0);
      expect(JSON.parse(preview.stdout)).toEqual(["2026-12-07T09:00:00Z", "2026-12-14T09:00:00Z"]);
      expect(preview.stderr).toMatch(/^metronome: warning: cannot read scheduler "default" .*UTC/);
      expect(
        JSON.parse(
          await ok(
            ["jobs", "preview", ...flags, "--timezone", "Asia/Shanghai", "--json"],
            asWorker,
          ),
        ),
      ).toEqual(["2026-12-07T01:00:00Z", "2026-12-14T01:00:00Z"]);
    });
  });

  describe("remove", () => {
    it("removes a job in both modes; removing it again is exit code 3", async () => {
      expect((await ok(["jobs", "remove", "date-job"])).trim()).toBe(
        "removed job date-job of scheduler default",
      );
      expect(await okJson(["jobs", "remove", "crontab-job"])).toEqual({
        removed: true,
        scheduler: "default",
        jobId: "crontab-job",
      });
      expect(await metronome(["jobs", "remove", "crontab-job", "--json"])).toMatchObject({
        code: 3,
        stdout: "",
      });
    });
  });
});
