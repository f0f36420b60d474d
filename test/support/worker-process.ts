/**
 * Start `test/support/worker-main.ts` (an SDK worker) as its own process and read back what it
 * executed from its JSON-lines file.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { repoRoot } from "./paths.js";
import { keepOutput } from "./suite-logs.js";

export interface Execution {
  readonly runId: string;
  readonly attempt: number;
  readonly jobId: string;
  readonly handler: string;
  readonly scheduledTime: number;
  readonly fireTime: number;
  readonly manual: boolean;
  /** When the handler started (epoch ms, this machine's clock). */
  readonly started: number;
  readonly worker: string;
}

export interface WorkerProcess {
  readonly pid: number;
  /** Every handler start so far (the file is appended as handlers start). */
  executions(): Execution[];
  /** SIGTERM: a graceful stop (in-flight handlers finish and report). */
  stop(): Promise<void>;
  /** SIGKILL: the worker dies mid-run, as in a crash. */
  kill(): Promise<void>;
}

export async function startWorkerProcess(options: {
  url: string;
  handlers: readonly string[];
  concurrency?: number;
  id?: string;
  timeoutMs?: number;
  /**
   * Run the worker on the built SDK (sdk/dist, what a service that installed the package runs)
   * instead of its sources: tsx then reads bench/tsconfig.built-sdk.json, which has no paths.
   */
  builtSdk?: boolean;
}): Promise<WorkerProcess> {
  const dir = mkdtempSync(join(tmpdir(), "metronome-worker-"));
  const out = join(dir, "executions.jsonl");
  const nodeArgs = (process.env.WORKER_NODE_FLAGS ?? "").split(/\s+/).filter((f) => f !== "");
  const child = spawn(
    process.execPath,
    [...nodeArgs, "--import", "tsx", "test/support/worker-main.ts"],
    {
      cwd: repoRoot,
      env: {
        ...process.env,
        METRONOME_URL: options.url,
        WORKER_HANDLERS: options.handlers.join(","),
        WORKER_CONCURRENCY: String(options.concurrency ?? 100),
        WORKER_ID: options.id ?? "",
        WORKER_OUT: out,
        ...(options.builtSdk === true
          ? { TSX_TSCONFIG_PATH: join(repoRoot, "bench/tsconfig.built-sdk.json") }
          : {}),
      },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let stderr = "";
  keepOutput("worker", child.stdout, child.stderr);
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (chunk: string) => {
    stderr = (stderr + chunk).slice(-16_384);
  });
  const exited = new Promise<void>((resolve) => {
    child.once("exit", () => {
      resolve();
    });
  });
  await new Promise<void>((resolve, reject) => {
    let text = "";
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`worker not ready in time\n${stderr}`));
    }, options.timeoutMs ?? 30_000);
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (chunk: string) => {
      text += chunk;
      if (text.includes("worker ready")) {
        clearTimeout(timer);
        resolve();
      }
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`worker exited before it was ready\n${stderr}`));
    });
  });
  if (child.pid === undefined) throw new Error("worker has no pid");
  const cleanup = (): void => {
    rmSync(dir, { recursive: true, force: true });
  };
  let lastRead: Execution[] = [];
  const executions = (): Execution[] => {
    try {
      lastRead = readFileSync(out, "utf8")
        .split("\n")
        .filter((l) => l !== "")
        .map((l) => JSON.parse(l) as Execution);
    } catch {
      // not written yet, or removed after the worker ended
    }
    return lastRead;
  };
  return {
    pid: child.pid,
    executions,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      await exited;
      executions();
      cleanup();
    },
    kill: async () => {
      child.kill("SIGKILL");
      await exited;
      executions();
      cleanup();
    },
  };
}
