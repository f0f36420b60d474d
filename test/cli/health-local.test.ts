/**
 * `metronome health --local` and the Docker image's HEALTHCHECK, which runs it: the node is asked
 * at the port its configuration gives, however that port is given — the environment, `.env` in
 * the working directory, or the flags of its `serve` command line — never at a port of their own
 * (nor at METRONOME_URL). A real `metronome serve` process listens on a port of its flags; the
 * health checks are processes started in working directories of their own.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { cleanEnv, startLogged, type LoggedProcess } from "../support/logged-process.js";
import { repoRoot } from "../support/paths.js";

interface Result {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** The CLI from its sources, runnable from any working directory (as processes.ts runs it). */
const CLI = [
  "--import",
  pathToFileURL(join(repoRoot, "node_modules/tsx/dist/loader.mjs")).href,
  join(repoRoot, "server/src/cli.ts"),
];

function collect(child: ReturnType<typeof spawn>): Promise<Result> {
  let stdout = "";
  let stderr = "";
  child.stdout?.setEncoding("utf8").on("data", (c: string) => (stdout += c));
  child.stderr?.setEncoding("utf8").on("data", (c: string) => (stderr += c));
  return new Promise((resolve) =>
    child.on("close", (code) => {
      resolve({ code, stdout, stderr });
    }),
  );
}

/** `metronome ARGS` in `cwd`, with only `env` of the Metronome variables. */
function metronome(args: readonly string[], cwd: string, env: Record<string, string> = {}) {
  return collect(
    spawn(process.execPath, [...CLI, ...args], {
      cwd,
      env: cleanEnv({ TSX_TSCONFIG_PATH: join(repoRoot, "tsconfig.json"), ...env }),
      stdio: ["ignore", "pipe", "pipe"],
    }),
  );
}

/** A port nothing listens on now (the system's pick, closed again). */
function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const address = s.address();
      s.close(() => {
        if (address === null || typeof address === "string") reject(new Error("no port"));
        else resolve(address.port);
      });
    });
  });
}

const dirs: string[] = [];
/** An empty working directory, with a `.env` of this text when given. */
function workdir(dotenv?: string): string {
  const dir = mkdtempSync(join(tmpdir(), "metronome-health-"));
  dirs.push(dir);
  if (dotenv !== undefined) writeFileSync(join(dir, ".env"), dotenv);
  return dir;
}

// Each check is a process (a second or more on a loaded machine).
vi.setConfig({ testTimeout: 120_000, hookTimeout: 60_000 });

describe("metronome health --local", () => {
  let node: LoggedProcess | undefined;
  let port = 0;
  /** A port nothing listens on: where a check that ignored the configuration would ask. */
  let elsewhere = 0;

  beforeAll(async () => {
    port = await closedPort();
    elsewhere = await closedPort();
    // The node's port is one of its flags, as `docker run metronome serve --port N` gives it.
    node = startLogged(
      process.execPath,
      [
        ...CLI,
        "serve",
        "--port",
        String(port),
        "--host",
        "127.0.0.1",
        "--store",
        `sqlite:///${join(workdir(), "m.db")}`,
        "--log-level",
        "info",
        "--node-id",
        "health-local",
      ],
      cleanEnv({ TSX_TSCONFIG_PATH: join(repoRoot, "tsconfig.json") }),
    );
    const line = await node.waitFor((e) => e.msg === "metronome listening");
    expect((line.address as { port: number }).port).toBe(port);
  });

  afterAll(async () => {
    if (node !== undefined) {
      process.kill(-node.pgid, "SIGTERM");
      await node.exited;
      node.killGroup();
    }
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  const url = () => `http://127.0.0.1:${String(port)}`;

  it("asks the port of the environment, not METRONOME_URL", async () => {
    const r = await metronome(["health", "--local"], workdir(), {
      METRONOME_PORT: String(port),
      METRONOME_URL: `http://127.0.0.1:${String(elsewhere)}`,
    });
    expect(r).toMatchObject({ code: 0, stderr: "" });
    expect(r.stdout).toMatch(new RegExp(`^url: +${url()}$`, "m"));
    expect(r.stdout).toMatch(/^ready: +yes$/m);
  });

  it("asks the port of .env in the working directory", async () => {
    const r = await metronome(
      ["health", "--local", "--json"],
      workdir(`METRONOME_PORT=${String(port)}\nMETRONOME_HOST=0.0.0.0\n`),
    );
    expect(r).toMatchObject({ code: 0, stderr: "" });
    expect(JSON.parse(r.stdout)).toEqual({ url: url(), live: true, ready: true, reason: "" });
  });

  it("asks the port of the serve process's flags, over the environment", async () => {
    const r = await metronome(
      ["health", "--local", "--pid", String(node?.child.pid)],
      workdir(`METRONOME_PORT=${String(elsewhere)}\n`),
      { METRONOME_PORT: String(elsewhere) },
    );
    expect(r).toMatchObject({ code: 0, stderr: "" });
    expect(r.stdout).toMatch(new RegExp(`^url: +${url()}$`, "m"));
  });

  it("nothing at the configured port: exit code 4, saying where it asked", async () => {
    const r = await metronome(["health", "--local"], workdir(), {
      METRONOME_PORT: String(elsewhere),
    });
    expect(r.code).toBe(4);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(
      new RegExp(`^metronome: no answer from http://127\\.0\\.0\\.1:${String(elsewhere)}.*\\n$`),
    );
  });

  it("usage errors: --pid of a process that runs no serve, --pid alone, --url with --local", async () => {
    const notServe = await metronome(
      ["health", "--local", "--pid", String(process.pid)],
      workdir(),
    );
    expect(notServe).toMatchObject({
      code: 2,
      stdout: "",
      stderr: `metronome: --pid: process ${String(process.pid)} is not a running \`metronome serve\`\n`,
    });
    expect(await metronome(["health", "--pid", "1"], workdir())).toMatchObject({
      code: 2,
      stderr: "metronome: --pid goes with --local\n",
    });
    expect(await metronome(["health", "--local", "--url", url()], workdir())).toMatchObject({
      code: 2,
      stderr: "metronome: give --url or --local, not both\n",
    });
    const invalid = await metronome(["health", "--local"], workdir(), { METRONOME_PORT: "abc" });
    expect(invalid).toMatchObject({
      code: 2,
      stderr:
        'metronome: invalid configuration\nMETRONOME_PORT: expected a whole number from 0 to 65535, got "abc"\n',
    });
  });

  describe("the Dockerfile's HEALTHCHECK", () => {
    const dockerfile = readFileSync(join(repoRoot, "Dockerfile"), "utf8");
    /** The image's stage: after the last FROM. */
    const image = dockerfile.slice(dockerfile.lastIndexOf("\nFROM "));
    /** The HEALTHCHECK's command (shell form), its continuation lines joined. */
    const command = /^HEALTHCHECK .*? CMD (.*)$/m.exec(image.replace(/\\\n\s*/g, " "))?.[1];
    /** The image's ENV settings (`ENV K=V K=V`). */
    const imageEnv = Object.fromEntries(
      [...image.matchAll(/^ENV (.*)$/gm)].flatMap((m) =>
        (m[1] ?? "").split(/\s+/).map((kv) => kv.split("=", 2) as [string, string]),
      ),
    );

    /** The HEALTHCHECK as Docker runs it (`/bin/sh -c`), the built CLI replaced by its sources. */
    function healthcheck(cwd: string, env: Record<string, string> = {}) {
      const sources = [process.execPath, ...CLI].map((a) => `'${a}'`).join(" ");
      return collect(
        spawn("/bin/sh", ["-c", (command ?? "").replace("node server/dist/cli.js", sources)], {
          cwd,
          env: cleanEnv({
            TSX_TSCONFIG_PATH: join(repoRoot, "tsconfig.json"),
            ...imageEnv,
            ...env,
          }),
          stdio: ["ignore", "pipe", "pipe"],
        }),
      );
    }

    it("runs `metronome health --local` with the image's entry point", () => {
      expect(command).toMatch(/^node server\/dist\/cli\.js health --local\b/);
      expect(dockerfile).toMatch(/^ENTRYPOINT \["node", "server\/dist\/cli\.js"\]$/m);
    });

    it("is healthy when the node's port is set by .env in the working directory", async () => {
      const r = await healthcheck(workdir(`METRONOME_PORT=${String(port)}\n`));
      expect(r).toMatchObject({ code: 0, stderr: "" });
      expect(r.stdout).toMatch(new RegExp(`^url: +${url()}$`, "m"));
    });

    it("is healthy when the node's port is set by -e METRONOME_PORT", async () => {
      const r = await healthcheck(workdir(), { METRONOME_PORT: String(port) });
      expect(r).toMatchObject({ code: 0, stderr: "" });
      expect(r.stdout).toMatch(new RegExp(`^url: +${url()}$`, "m"));
    });

    it("is unhealthy, with Docker's exit code 1, when nothing answers at the configured port", async () => {
      const r = await healthcheck(workdir(`METRONOME_PORT=${String(elsewhere)}\n`));
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`no answer from http://127.0.0.1:${String(elsewhere)}`);
    });
  });
});
