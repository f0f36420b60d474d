/**
 * Real `metronome serve` processes for tests: spawned with tsx from the sources, started on port
 * 0, ready when they log `metronome listening`, stopped with SIGTERM.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { repoRoot } from "./paths.js";
import { keepOutput, noteSecrets } from "./suite-logs.js";

/** How a process ended: its exit code, or the signal that killed it. */
export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface ServerProcess {
  /** A label for messages (also passed as `--node-id`). */
  readonly name: string;
  readonly pid: number;
  /** The port from the `metronome listening` log line. */
  readonly port: number;
  /**
   * Rejects, with the process's stderr, if the process exits before `stop()` was called; never
   * settles otherwise. Race work against it to fail fast instead of waiting for timeouts.
   */
  readonly crashed: Promise<never>;
  /** Whether the process has not exited yet. */
  running(): boolean;
  /**
   * Stderr, the log lines that are not about one run (the lines with a `runId`, one or more per
   * run, would push everything else out of a tail), and the last part of stdout, for failure
   * messages and checks.
   */
  output(): string;
  /** SIGTERM, then wait for the exit (SIGKILL after `timeoutMs`, and the promise rejects). */
  stop(timeoutMs?: number): Promise<Exit>;
  /** SIGKILL, then wait for the exit. */
  kill(): Promise<Exit>;
}

const KEEP_CHARS = 32_768;
const tailOf = (s: string, keep: number): string => (s.length > keep ? s.slice(-keep) : s);
const tail = (s: string): string => tailOf(s, KEEP_CHARS);

/** Configuration from the caller's environment must not leak into the server under test. */
function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(
    Object.entries(process.env).filter(
      ([k]) => !k.startsWith("METRONOME_") && !k.startsWith("SCHEDULER__"),
    ),
  );
}

function describeExit(exit: Exit): string {
  return exit.signal === null ? `exit code ${String(exit.code)}` : `signal ${exit.signal}`;
}

/**
 * Spawn `metronome serve --port 0` on `storeUrl` and wait until it listens. Rejects (after killing
 * the process) if it exits first or does not listen within `timeoutMs`. With `storeUrl` null the
 * server takes its store from its configuration (a `.env` in `cwd`, the working directory,
 * the repository's root by default).
 */
export function startServerProcess(
  name: string,
  storeUrl: string | null,
  options: {
    timeoutMs?: number;
    env?: Record<string, string>;
    nodeArgs?: readonly string[];
    cwd?: string;
    /** Run the built server (server/dist, as the Docker image does) instead of its sources. */
    built?: boolean;
  } = {},
): Promise<ServerProcess> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const entry =
    options.built === true
      ? [join(repoRoot, "server/dist/cli.js")]
      : [
          "--import",
          // By path: the working directory may be outside the repository.
          pathToFileURL(join(repoRoot, "node_modules/tsx/dist/loader.mjs")).href,
          join(repoRoot, "server/src/cli.ts"),
        ];
  const child: ChildProcess = spawn(
    process.execPath,
    [
      ...(options.nodeArgs ?? []),
      ...entry,
      "serve",
      "--port",
      "0",
      "--host",
      "127.0.0.1",
      ...(storeUrl === null ? [] : ["--store", storeUrl]),
      "--log-level",
      // At least info: the "metronome listening" line is how the port is learnt.
      ["debug", "trace"].includes(options.env?.METRONOME_LOG_LEVEL ?? "")
        ? (options.env?.METRONOME_LOG_LEVEL ?? "info")
        : "info",
      "--node-id",
      name,
    ],
    {
      cwd: options.cwd ?? repoRoot,
      // tsx finds the repository's tsconfig (its paths name the SDK's source) from any folder.
      env: { ...cleanEnv(), TSX_TSCONFIG_PATH: join(repoRoot, "tsconfig.json"), ...options.env },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  const { stdout, stderr, pid } = child;
  if (!stdout || !stderr || pid === undefined) {
    child.kill("SIGKILL");
    return Promise.reject(new Error(`${name}: could not spawn the server process`));
  }

  let out = "";
  let err = "";
  let notable = "";
  let partial = "";
  let stopping = false;
  const output = (): string =>
    `--- ${name} stderr ---\n${err}\n--- ${name} log lines not about one run ---\n${notable}\n--- ${name} stdout ---\n${out}`;

  const exited = new Promise<Exit>((resolve) => {
    child.once("exit", (code, signal) => {
      resolve({ code, signal });
    });
  });
  const crashed = exited.then((exit): Promise<never> => {
    if (stopping) return new Promise<never>(() => undefined);
    throw new Error(`${name} (pid ${pid}) exited unexpectedly: ${describeExit(exit)}\n${output()}`);
  });
  crashed.catch(() => undefined); // a crash is reported to whoever races against it

  /** SIGKILL: the process dies at once, as in a crash. */
  const kill = (): Promise<Exit> => {
    stopping = true;
    child.kill("SIGKILL");
    return exited;
  };

  const stop = async (stopTimeoutMs = 15_000): Promise<Exit> => {
    stopping = true;
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => {
        child.kill("SIGKILL");
        reject(
          new Error(`${name} did not exit within ${stopTimeoutMs} ms of SIGTERM\n${output()}`),
        );
      }, stopTimeoutMs);
    });
    try {
      return await Promise.race([exited, timedOut]);
    } finally {
      clearTimeout(timer);
    }
  };

  stderr.setEncoding("utf8");
  stderr.on("data", (chunk: string) => {
    err = tail(err + chunk);
  });
  stdout.setEncoding("utf8");
  noteSecrets(options.env ?? {});
  keepOutput(`server-${name}`, stdout, stderr);

  return new Promise<ServerProcess>((resolve, reject) => {
    let pending = "";
    let settled = false;
    const fail = (message: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      void stop(5_000).finally(() => {
        reject(new Error(`${name}: ${message}\n${output()}`));
      });
    };
    const timer = setTimeout(() => {
      fail(`not listening after ${timeoutMs} ms`);
    }, timeoutMs);

    stdout.on("data", (chunk: string) => {
      out = tail(out + chunk);
      const complete = (partial + chunk).split("\n");
      partial = complete.pop() ?? "";
      for (const line of complete)
        if (!line.includes('"runId":')) notable = tailOf(notable + line + "\n", 256 * 1024);
      if (settled) return;
      pending += chunk;
      const lines = pending.split("\n");
      pending = lines.pop() ?? "";
      for (const line of lines) {
        let entry: { msg?: unknown; address?: { port?: unknown } };
        try {
          entry = JSON.parse(line) as typeof entry;
        } catch {
          continue; // not a log line
        }
        if (entry.msg !== "metronome listening") continue;
        const port = entry.address?.port;
        if (typeof port !== "number") {
          fail(`logged "metronome listening" without address.port: ${line}`);
          return;
        }
        settled = true;
        clearTimeout(timer);
        pending = "";
        resolve({
          name,
          pid,
          port,
          crashed,
          running: () => child.exitCode === null && child.signalCode === null,
          output,
          stop,
          kill,
        });
        return;
      }
    });
    void exited.then((exit) => {
      fail(`exited before listening: ${describeExit(exit)}`);
    });
    child.once("error", (e) => {
      fail(`could not run: ${e.message}`);
    });
  });
}
