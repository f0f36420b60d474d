/**
 * The README's steps and every example, run as a user runs them, twice in a row against one
 * server on the embedded SQLite store (the README's default): every step succeeds both times,
 * in either order relative to the others, and nothing prints a stack trace.
 *
 * The steps are read from README.md when the test runs: each ```bash block is split into its
 * commands, and each command must match one of RULES below, which says how it is run. A command
 * that no rule knows fails the test ("every README command is known"): a new README step needs
 * a rule here. A ```ts block that imports the SDK is run as a script from the repository root.
 * Every file in examples/ is known the same way (EXAMPLE_FILES).
 *
 * How the steps are run:
 * - `npm install`, `npm start`: represented by this test's server, `metronome serve` from the
 *   sources (what `npm start` runs) on a free port with a temporary SQLite file;
 * - `npm test`: not run (it is what runs this test);
 * - `curl …`, `npx buf curl …`: run by bash as written, with `localhost:8080` replaced by the
 *   test server's address; each must exit 0 and print nothing on stderr, and plain curl (which
 *   exits 0 on an HTTP error) is also told to print the HTTP status, which must be 2xx;
 * - `npx tsx examples/worker.ts`: started in the background (as `node --import tsx`, so that
 *   stopping it stops it), ready when it says so; the second round stops it (it must exit 0) and
 *   starts it again;
 * - `npx tsx examples/…` and the operator commands (`npm run -s metronome -- jobs …`): run by
 *   bash as written, with METRONOME_URL set to the test server (which the README's
 *   `export METRONOME_URL=…` line stands for);
 * - the ```ts snippet: written next to README.md (`@metronome/sdk` resolves to sdk/src through tsconfig.json's paths), run until it
 *   prints a line of its own (not a JSON log line), then stopped with SIGTERM (it runs a
 *   worker, which never ends);
 * - the MySQL block (`mysql … CREATE DATABASE …`, `SCHEDULER__JOBSTORE_URL=mysql://… npm start`):
 *   in its own test, with a database name of its own, when the README's MySQL (root, no
 *   password, 127.0.0.1:3306) and the `mysql` client are there: the command as written, twice,
 *   and a server process started and stopped on that URL, twice.
 *
 * Then every example: NN-*.ts run to their end; 09-configuration.env as the environment of a
 * server started and stopped (on a temporary store); the Python example against the same
 * server, when Debian's python3-grpcio is installed (its own test, skipped without it).
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse as parseEnv } from "dotenv";
import mysql from "mysql2/promise";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MYSQL_URL, mysqlReachable } from "../support/mysql.js";
import { repoRoot } from "../support/paths.js";
import { startServerProcess, type ServerProcess } from "../support/processes.js";

// ---- the README, read and classified ----

interface Block {
  readonly lang: string;
  readonly text: string;
  /** Its first line in README.md (1-based), for messages. */
  readonly line: number;
}

type Kind =
  | "server"
  | "not-run"
  | "env"
  | "curl"
  | "worker"
  | "script"
  | "cli"
  | "mysql"
  | "mysql-server"
  | "snippet";

/** How each README command is run (see the file's comment); the first matching rule wins. */
const RULES: readonly { readonly kind: Kind; readonly pattern: RegExp }[] = [
  { kind: "server", pattern: /^(npm install && )?npm start$/ },
  { kind: "not-run", pattern: /^npm install$|^npm test$/ },
  { kind: "curl", pattern: /^(npx buf )?curl / },
  { kind: "worker", pattern: /^npx tsx examples\/worker\.ts$/ },
  { kind: "script", pattern: /^npx tsx examples\/[\w.-]+\.ts$/ },
  { kind: "env", pattern: /^export METRONOME_URL=\S+$/ },
  { kind: "cli", pattern: /^npm run -s metronome -- (?!serve\b|migrate\b)\S/ },
  { kind: "mysql", pattern: /^mysql -uroot -e 'CREATE DATABASE IF NOT EXISTS metronome'$/ },
  { kind: "mysql-server", pattern: /^SCHEDULER__JOBSTORE_URL=mysql:\/\/\S+\/metronome npm start$/ },
];

function readmeBlocks(): Block[] {
  const text = readFileSync(join(repoRoot, "README.md"), "utf8");
  const blocks: Block[] = [];
  for (const m of text.matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm)) {
    blocks.push({
      lang: m[1] ?? "",
      text: m[2] ?? "",
      line: text.slice(0, m.index).split("\n").length,
    });
  }
  return blocks;
}

/**
 * The commands of a shell block: a newline ends a command unless it is escaped or inside quotes
 * (the `-d '{…}'` bodies span lines); `#` starts a comment at the start of a word.
 */
function shellCommands(block: string): string[] {
  const commands: string[] = [];
  let current = "";
  let quote: string | undefined;
  for (let i = 0; i < block.length; i++) {
    const c = block.charAt(i);
    if (quote !== undefined) {
      current += c;
      if (c === quote) quote = undefined;
      else if (c === "\\" && quote === '"') current += block.charAt(++i);
    } else if (c === "'" || c === '"') {
      quote = c;
      current += c;
    } else if (c === "\\" && block.charAt(i + 1) === "\n") {
      current += "\\\n";
      i++;
    } else if (c === "#" && /(^|\s)$/.test(current)) {
      while (i + 1 < block.length && block.charAt(i + 1) !== "\n") i++;
    } else if (c === "\n") {
      if (current.trim() !== "") commands.push(current.trim());
      current = "";
    } else current += c;
  }
  if (current.trim() !== "") commands.push(current.trim());
  return commands;
}

interface Step {
  readonly kind: Kind;
  readonly command: string;
  /** Where it comes from, for messages: `README.md:42` or `examples/02-cron.ts`. */
  readonly where: string;
}

const SHELL = new Set(["bash", "sh", "shell"]);
const steps: Step[] = [];
const unknown: string[] = [];
for (const block of readmeBlocks()) {
  const where = `README.md:${String(block.line)}`;
  if (SHELL.has(block.lang)) {
    for (const command of shellCommands(block.text)) {
      // (The first line decides: the rest of a command is its arguments.)
      const kind = RULES.find((r) => r.pattern.test(command.split("\n")[0] ?? ""))?.kind;
      if (kind === undefined) unknown.push(`${where}: ${command}`);
      else steps.push({ kind, command, where });
    }
  } else if (block.lang === "ts") {
    if (block.text.includes('from "@metronome/sdk"'))
      steps.push({ kind: "snippet", command: block.text, where });
    else unknown.push(`${where}: a ts block that does not import @metronome/sdk`);
  }
}

/** Every file in examples/, by what it is. */
const EXAMPLE_FILES: readonly { readonly pattern: RegExp; readonly what: string }[] = [
  { pattern: /^\d\d-[\w-]+\.ts$/, what: "a script, run to its end" },
  { pattern: /^\d\d-[\w-]+\.env$/, what: "a server's environment" },
  { pattern: /^handlers\.ts$/, what: "the handlers, imported by the others" },
  { pattern: /^worker\.ts$/, what: "the worker (the README's step)" },
  { pattern: /^python$/, what: "the Python client (its own test)" },
];
const exampleFiles = readdirSync(join(repoRoot, "examples")).sort();
for (const f of exampleFiles)
  if (!EXAMPLE_FILES.some((e) => e.pattern.test(f))) unknown.push(`examples/${f}`);

// ---- processes ----

/** The environment of every child: the caller's, without Metronome settings. */
function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  return {
    ...Object.fromEntries(
      Object.entries(process.env).filter(
        ([k]) => !k.startsWith("METRONOME_") && !k.startsWith("SCHEDULER__"),
      ),
    ),
    ...extra,
  };
}

interface Ended {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

function collect(child: ChildProcess): () => { stdout: string; stderr: string } {
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
  return () => ({ stdout, stderr });
}

/** Runs a command to its end; its whole process group is killed after `timeoutMs`. */
async function run(
  file: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  timeoutMs = 60_000,
): Promise<Ended> {
  const child = spawn(file, args, { cwd: repoRoot, env, stdio: "pipe", detached: true });
  child.stdin.end();
  const output = collect(child);
  const timer = setTimeout(() => {
    if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
  }, timeoutMs);
  try {
    const [code, signal] = (await once(child, "exit")) as [number | null, NodeJS.Signals | null];
    return { code, signal, ...output() };
  } finally {
    clearTimeout(timer);
  }
}

interface Background {
  output(): string;
  /** SIGTERM, and how it ended. */
  stop(): Promise<Ended>;
}

/** Starts a long-running process; resolves once its stdout contains `ready`. */
async function background(
  label: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  ready: RegExp,
): Promise<Background> {
  const child = spawn(process.execPath, args, { cwd: repoRoot, env, stdio: "pipe" });
  child.stdin.end();
  const output = collect(child);
  const text = () => {
    const o = output();
    return `--- stdout ---\n${o.stdout}\n--- stderr ---\n${o.stderr}`;
  };
  const exited = once(child, "exit") as Promise<[number | null, NodeJS.Signals | null]>;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${label} not ready after 60 s\n${text()}`));
    }, 60_000);
    const onData = () => {
      if (!ready.test(output().stdout)) return;
      clearTimeout(timer);
      child.stdout.off("data", onData);
      resolve();
    };
    child.stdout.on("data", onData);
    void exited.then(([code, signal]) => {
      clearTimeout(timer);
      reject(
        new Error(`${label} exited (${String(code ?? signal)}) before it was ready\n${text()}`),
      );
    });
  });
  return {
    output: text,
    stop: async () => {
      child.kill("SIGTERM");
      const [code, signal] = await exited;
      return { code, signal, ...output() };
    },
  };
}

/** What a stack trace looks like: a frame (also inside a JSON log line), Node's fatal-error
 * trailer, a Python traceback. */
const STACK: readonly RegExp[] = [
  /^\s+at .+(:\d+:\d+\)?|\(native\)|\(<anonymous>\))$/m,
  /\\n\s+at [^"\\]+:\d+:\d+/,
  /^Node\.js v\d+/m,
  /Traceback \(most recent call last\)/,
];

function expectClean(label: string, ended: Ended, ok: (e: Ended) => boolean): void {
  const text = `--- stdout ---\n${ended.stdout}\n--- stderr ---\n${ended.stderr}`;
  if (!ok(ended))
    throw new Error(`${label} ended with ${String(ended.code ?? ended.signal)}\n${text}`);
  const trace = STACK.find((r) => r.test(ended.stdout) || r.test(ended.stderr));
  if (trace !== undefined)
    throw new Error(`${label} printed a stack trace (${String(trace)})\n${text}`);
}

const exitedZero = (e: Ended) => e.code === 0;

/** `localhost:8080` (the README's server) becomes the test server. */
const toServer = (command: string, port: number) =>
  command.replace(/\b(localhost|127\.0\.0\.1):8080\b/g, `127.0.0.1:${String(port)}`);

// ---- the tests ----

/** Debian's interpreter, where apt puts python3-grpcio (a pyenv python3 may shadow it). */
const PYTHON = ["/usr/bin/python3", "python3"].find(
  (p) => spawnSync(p, ["-c", "import grpc, google.protobuf"]).status === 0,
);

describe("the README's steps and the examples, twice in a row", () => {
  let dir: string;
  let server: ServerProcess;
  let url: string;
  let worker: Background | undefined;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "metronome-readme-"));
    server = await startServerProcess("readme", `sqlite:///${join(dir, "metronome.db")}`, {
      timeoutMs: 60_000,
    });
    url = `http://127.0.0.1:${String(server.port)}`;
  }, 90_000);

  afterAll(async () => {
    const ended = await worker?.stop();
    worker = undefined;
    const exit = await server.stop();
    rmSync(dir, { recursive: true, force: true });
    if (ended !== undefined) expectClean("examples/worker.ts", ended, exitedZero);
    expect(exit).toEqual({ code: 0, signal: null });
    const trace = STACK.find((r) => r.test(server.output()));
    expect(trace, `the server logged a stack trace:\n${server.output()}`).toBeUndefined();
  }, 60_000);

  it("every README command and example file is known", () => {
    expect(unknown).toEqual([]);
    // The README's own steps are all here (a broken extraction would find none).
    expect(steps.map((s) => s.kind)).toEqual(
      expect.arrayContaining(["server", "curl", "worker", "script", "snippet"]),
    );
  });

  async function startWorker(): Promise<void> {
    if (worker !== undefined) {
      const ended = await worker.stop();
      worker = undefined;
      expectClean("examples/worker.ts (stopped with SIGTERM)", ended, exitedZero);
    }
    worker = await background(
      "examples/worker.ts",
      ["--import", "tsx", "examples/worker.ts"],
      childEnv({ METRONOME_URL: url }),
      /worker ready/,
    );
  }

  async function runStep(step: Step, round: number): Promise<void> {
    const label = `round ${String(round)}, ${step.where}: ${step.command.split("\n")[0] ?? ""}`;
    const env = childEnv({ METRONOME_URL: url });
    switch (step.kind) {
      case "server": // this test's server
      case "not-run":
      case "mysql": // the MySQL test below
      case "mysql-server":
        return;
      case "curl": {
        // Plain curl exits 0 on an HTTP error: it prints the status last, to be checked.
        const plain = step.command.startsWith("curl ");
        const command = `${toServer(step.command, server.port)}${plain ? " -w '\\n%{http_code}'" : ""}`;
        const ended = await run("bash", ["-c", command], env);
        expectClean(label, ended, (e) => e.code === 0 && e.stderr === "");
        if (plain) expect(ended.stdout, label).toMatch(/\n2\d\d$/);
        return;
      }
      case "worker":
        await startWorker();
        return;
      case "env": // every step gets METRONOME_URL: this test's server
        return;
      case "script":
      case "cli":
        expectClean(label, await run("bash", ["-c", step.command], env), exitedZero);
        return;
      case "snippet": {
        const file = join(repoRoot, `.readme-snippet-${String(process.pid)}.ts`);
        writeFileSync(file, toServer(step.command, server.port));
        try {
          // Ready at its own first line (the worker's log lines are JSON).
          const snippet = await background(label, ["--import", "tsx", file], env, /^[^{\n].*\n/m);
          const ended = await snippet.stop();
          expectClean(label, ended, (e) => e.signal === "SIGTERM" || e.code === 0);
        } finally {
          rmSync(file, { force: true });
        }
        return;
      }
    }
  }

  async function runExample(file: string, round: number): Promise<void> {
    const label = `round ${String(round)}, examples/${file}`;
    if (file.endsWith(".ts")) {
      const ended = await run(
        process.execPath,
        ["--import", "tsx", join("examples", file)],
        childEnv({ METRONOME_URL: url }),
      );
      expectClean(label, ended, exitedZero);
    } else {
      // A server's configuration: a server starts with it and stops cleanly.
      const env = parseEnv(readFileSync(join(repoRoot, "examples", file)));
      const node = await startServerProcess(
        `readme-env-${String(round)}`,
        `sqlite:///${join(dir, "env.db")}`,
        { env, timeoutMs: 60_000 },
      );
      const exit = await node.stop();
      expectClean(
        label,
        { ...exit, stdout: node.output(), stderr: "" },
        (e) => e.code === 0 && e.signal === null,
      );
    }
  }

  it("runs every README step and every example, and all of them again", async () => {
    const examples = exampleFiles.filter((f) => /^\d\d-/.test(f));
    for (const round of [1, 2]) {
      for (const step of steps) await runStep(step, round);
      if (worker === undefined) await startWorker(); // 12-listeners needs one
      for (const file of examples) await runExample(file, round);
    }
  }, 600_000);

  it.skipIf(PYTHON === undefined)(
    "runs the Python example twice (needs python3-grpcio: apt-get install python3-grpcio)",
    async () => {
      const descriptors = join(dir, "metronome.binpb");
      const built = await run(
        join(repoRoot, "node_modules", ".bin", "buf"),
        ["build", "proto", "--as-file-descriptor-set", "-o", descriptors],
        process.env,
      );
      expect(built).toMatchObject({ code: 0, stderr: "" });
      for (const round of [1, 2]) {
        const ended = await run(
          PYTHON ?? "python3",
          [
            join("examples", "python", "metronome_example.py"),
            `127.0.0.1:${String(server.port)}`,
            descriptors,
          ],
          process.env,
        );
        expectClean(`round ${String(round)}, the Python example`, ended, exitedZero);
        expect(JSON.parse(ended.stdout)).toMatchObject({ ok: true });
      }
    },
    120_000,
  );
});

// ---- the MySQL block ----

const readmeMysql =
  (await mysqlReachable()) &&
  spawnSync("mysql", ["--version"]).status === 0 &&
  /^mysql:\/\/root@(127\.0\.0\.1|localhost)(:3306)?\//.test(MYSQL_URL);

describe("the README's MySQL steps", () => {
  it.skipIf(!readmeMysql)(
    "create the database and start a server on it, twice (needs MariaDB/MySQL as root on 127.0.0.1:3306 and the mysql client)",
    async () => {
      const name = `metronome_readme_${String(process.pid)}_${String(Date.now())}`;
      const mine = steps.filter((s) => s.kind === "mysql" || s.kind === "mysql-server");
      expect(mine.map((s) => s.kind)).toEqual(["mysql", "mysql-server"]);
      try {
        for (const round of [1, 2]) {
          for (const step of mine) {
            const command = step.command.replace(/\bmetronome(?='$|\s+npm start$)/, name);
            const label = `round ${String(round)}, ${step.where}: ${command}`;
            if (step.kind === "mysql") {
              expectClean(label, await run("bash", ["-c", command], childEnv({})), exitedZero);
              continue;
            }
            const storeUrl = /^SCHEDULER__JOBSTORE_URL=(\S+) /.exec(command)?.[1] ?? "";
            const node = await startServerProcess(`readme-mysql-${String(round)}`, storeUrl, {
              timeoutMs: 60_000,
            });
            const exit = await node.stop();
            expectClean(
              label,
              { ...exit, stdout: node.output(), stderr: "" },
              (e) => e.code === 0 && e.signal === null,
            );
          }
        }
      } finally {
        const conn = await mysql.createConnection({ uri: MYSQL_URL });
        await conn.query(`DROP DATABASE IF EXISTS \`${name}\``);
        await conn.end();
      }
    },
    120_000,
  );
});
