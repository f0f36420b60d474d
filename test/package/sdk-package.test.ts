/**
 * The SDK as a user gets it: `npm pack` of sdk/, installed from the tarball into a fresh project
 * outside the repository (TypeScript strict, `module: NodeNext`), which compiles a small service
 * — a typed handler, a cron and an interval job, a listener, a job listing — and runs it against
 * a server started from the repository. The job fires in that service's worker. The tarball holds
 * the compiled SDK and nothing of the server.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { repoRoot } from "../support/paths.js";
import { startServerProcess, type ServerProcess } from "../support/processes.js";
import { createSqliteStore, type TestStore } from "../support/stores.js";

const run = promisify(execFile);

/** The versions the repository itself builds with, so the install is served from npm's cache. */
const rootPkg = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as {
  devDependencies: Record<string, string>;
};
const sdkPkg = JSON.parse(readFileSync(join(repoRoot, "sdk", "package.json"), "utf8")) as {
  name: string;
  version: string;
};

const SERVER_PACKAGES = ["mysql2", "better-sqlite3", "drizzle-orm", "luxon", "commander", "zod"];
/**
 * Everything the SDK depends on, kept small on purpose: a new dependency is a decision (and
 * docs/development.md's table says why). `@opentelemetry/api` is the API only (no SDK): a no-op
 * unless the service registers an OpenTelemetry SDK, then the handler's span joins the run's
 * trace.
 */
const SDK_DEPENDENCIES = [
  "@bufbuild/protobuf",
  "@connectrpc/connect",
  "@connectrpc/connect-node",
  "@opentelemetry/api",
  "pino",
];

const SERVICE = `
import {
  EVENT_JOB_EXECUTED,
  SchedulerManager,
  Worker,
  defineHandler,
  type MetronomeEvent,
} from "@metronome/sdk";
import { createRunContext } from "@metronome/sdk/testing";

const greet = defineHandler(
  "pkg.greet",
  async ([name]: [string], { punctuation = "!" }: { punctuation?: string }, ctx) => {
    console.log(\`fired \${ctx.runId} attempt \${String(ctx.attempt)}: hello \${name}\${punctuation}\`);
    return { greeted: name };
  },
);

// The testing entry is part of the package: a handler runs against a mock context.
const mock = createRunContext();
console.log(\`mock context ok: \${String(typeof mock.signal.aborted === "boolean")}\`);

const worker = new Worker({ baseUrl: process.env.METRONOME_URL ?? "" });
worker.register(greet);
await worker.start();

const scheduler = SchedulerManager.getInstance("pkgtest");
scheduler.addListener((event: MetronomeEvent) => {
  console.log(\`event \${event.type} \${"jobId" in event ? event.jobId : ""}\`);
}, EVENT_JOB_EXECUTED);
await scheduler.addJob(greet, "cron", {
  id: "pkg-cron",
  hour: 3,
  args: ["cron"],
  replaceExisting: true,
});
await scheduler.addJob(greet, "interval", {
  id: "pkg-interval",
  seconds: 1,
  args: ["interval"],
  kwargs: { punctuation: "?" },
  replaceExisting: true,
});
const jobs = await scheduler.getJobs();
console.log(\`jobs \${jobs.map((j) => j.id).sort().join(",")}\`);
process.on("SIGTERM", () => {
  void worker.stop().then(() => SchedulerManager.shutdown()).then(() => process.exit(0));
});
`;

describe("@metronome/sdk installed from its tarball", () => {
  const dir = mkdtempSync(join(tmpdir(), "metronome-sdk-user-"));
  let store: TestStore | undefined;
  let server: ServerProcess | undefined;
  let service: ChildProcess | undefined;
  let tarball = "";

  beforeAll(async () => {
    const { stdout } = await run(
      "npm",
      ["pack", "--workspace", "sdk", "--pack-destination", dir, "--json"],
      { cwd: repoRoot, maxBuffer: 16 * 1024 * 1024 },
    );
    const packed = JSON.parse(stdout) as { filename: string }[];
    tarball = join(dir, packed[0]?.filename ?? "");
  }, 300_000);

  afterAll(async () => {
    service?.kill("SIGKILL");
    await server?.stop();
    await store?.drop();
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it("holds the compiled SDK and its manifest, and nothing of the server", async () => {
    const { stdout } = await run("tar", ["-tzf", tarball]);
    const files = stdout.trim().split("\n");
    expect(files).toContain("package/package.json");
    expect(files).toContain("package/dist/index.js");
    expect(files).toContain("package/dist/index.d.ts");
    expect(files).toContain("package/dist/testing/index.js");
    expect(
      files.filter((f) => !/^package\/(dist\/.*\.(js|d\.ts)|package\.json|README\.md)$/.test(f)),
    ).toEqual([]);
    const { stdout: manifest } = await run("tar", ["-xzOf", tarball, "package/package.json"]);
    const pkg = JSON.parse(manifest) as { name: string; dependencies?: Record<string, string> };
    expect(pkg.name).toBe(sdkPkg.name);
    const deps = Object.keys(pkg.dependencies ?? {});
    for (const name of SERVER_PACKAGES) expect(deps).not.toContain(name);
    expect(deps.sort()).toEqual(SDK_DEPENDENCIES);
  });

  it("compiles a strict NodeNext service that fires a job in its own worker", async () => {
    const project = join(dir, "service");
    await run("mkdir", ["-p", join(project, "src")]);
    writeFileSync(
      join(project, "package.json"),
      JSON.stringify(
        {
          name: "a-service",
          private: true,
          type: "module",
          dependencies: { [sdkPkg.name]: `file:${tarball}` },
          devDependencies: {
            typescript: rootPkg.devDependencies.typescript,
            "@types/node": rootPkg.devDependencies["@types/node"],
          },
        },
        null,
        2,
      ),
    );
    writeFileSync(
      join(project, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          target: "ES2023",
          module: "NodeNext",
          moduleResolution: "NodeNext",
          strict: true,
          exactOptionalPropertyTypes: true,
          noUncheckedIndexedAccess: true,
          types: ["node"],
          outDir: "dist",
          rootDir: "src",
        },
        include: ["src"],
      }),
    );
    writeFileSync(join(project, "src", "service.ts"), SERVICE);
    await run("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund"], {
      cwd: project,
      maxBuffer: 16 * 1024 * 1024,
    });
    await run(join(project, "node_modules", ".bin", "tsc"), ["-p", project], { cwd: project });

    store = await createSqliteStore("metronome-sdk-package");
    server = await startServerProcess("sdk-package", store.url);
    const child = spawn(process.execPath, [join(project, "dist", "service.js")], {
      cwd: project,
      env: { ...process.env, METRONOME_URL: `http://127.0.0.1:${String(server.port)}` },
      stdio: ["ignore", "pipe", "pipe"],
    });
    service = child;
    let out = "";
    let err = "";
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    const seen = await new Promise<string>((resolve, reject) => {
      child.stdout.on("data", (d: Buffer) => {
        out += d.toString();
        if (/fired .* hello interval\?/.test(out) && /event job_executed pkg-interval/.test(out))
          resolve(out);
      });
      child.on("exit", (code) => {
        reject(new Error(`the service exited (${String(code)}):\n${out}\n${err}`));
      });
    });
    expect(seen).toContain("mock context ok: true");
    expect(seen).toMatch(/jobs pkg-cron,pkg-interval/);
    const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
    service = undefined;
  }, 300_000);
});
