/**
 * A command started as a terminal starts it: in a process group of its own (so that a signal
 * can go to the whole group, as a terminal's Ctrl-C does), with its JSON log lines on stdout
 * parsed as they come and waitable.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { repoRoot } from "./paths.js";
import { keepOutput, noteSecrets } from "./suite-logs.js";
import type { Exit } from "./processes.js";

export type LogEntry = Record<string, unknown> & { msg?: string | undefined };

export interface LoggedProcess {
  readonly child: ChildProcess;
  /** The process group (the child leads it). */
  readonly pgid: number;
  /** The log entries so far (stdout lines that are JSON objects). */
  readonly entries: LogEntry[];
  readonly exited: Promise<Exit>;
  /** The first entry, past or future, that `match` accepts; rejects on exit or after `timeoutMs`. */
  waitFor(match: (e: LogEntry) => boolean, timeoutMs?: number): Promise<LogEntry>;
  /** Everything printed, for failure messages. */
  output(): string;
  /** SIGKILL to the whole group (cleanup after a failed test). */
  killGroup(): void;
}

/** Configuration from the caller's environment must not leak into the server under test. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    ...Object.fromEntries(
      Object.entries(process.env).filter(
        ([k]) => !k.startsWith("METRONOME_") && !k.startsWith("SCHEDULER__"),
      ),
    ),
    ...extra,
  };
}

export function startLogged(
  command: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
): LoggedProcess {
  const child = spawn(command, args, {
    cwd: repoRoot,
    env,
    detached: true, // a new process group, led by the child
    stdio: ["ignore", "pipe", "pipe"],
  });
  const pgid = child.pid;
  if (pgid === undefined) throw new Error(`could not spawn ${command}`);
  const entries: LogEntry[] = [];
  const watchers = new Set<(e: LogEntry) => void>();
  let out = "";
  let pending = "";
  child.stdout.setEncoding("utf8");
  child.stdout.on("data", (chunk: string) => {
    out += chunk;
    pending += chunk;
    const lines = pending.split("\n");
    pending = lines.pop() ?? "";
    for (const line of lines) {
      if (!line.startsWith("{")) continue;
      let entry: LogEntry;
      try {
        entry = JSON.parse(line) as LogEntry;
      } catch {
        continue;
      }
      entries.push(entry);
      for (const w of watchers) w(entry);
    }
  });
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (chunk: string) => {
    out += chunk;
  });
  noteSecrets(env);
  keepOutput(`process-${command}`, child.stdout, child.stderr);
  const exited = new Promise<Exit>((resolve) => {
    child.once("exit", (code, signal) => {
      resolve({ code, signal });
    });
  });
  const output = (): string => out;
  return {
    child,
    pgid,
    entries,
    exited,
    output,
    waitFor: (match, timeoutMs = 60_000) => {
      const seen = entries.find(match);
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise<LogEntry>((resolve, reject) => {
        const done = (): void => {
          watchers.delete(watcher);
          clearTimeout(timer);
        };
        const watcher = (e: LogEntry): void => {
          if (!match(e)) return;
          done();
          resolve(e);
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`no matching log line within ${String(timeoutMs)} ms\n${output()}`));
        }, timeoutMs);
        watchers.add(watcher);
        void exited.then((exit) => {
          if (!watchers.has(watcher)) return;
          done();
          reject(new Error(`exited (${JSON.stringify(exit)}) before the log line\n${output()}`));
        });
      });
    },
    killGroup: () => {
      try {
        process.kill(-pgid, "SIGKILL");
      } catch {
        // already gone
      }
    },
  };
}

/** Whether a process (or, with a negative id, a process group) exists. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ESRCH") return false;
    throw err;
  }
}

/**
 * Resolves once no process is left in group `pgid`, rejects after `timeoutMs`. Another process's
 * end raises no event here, so this looks every 25 ms.
 */
export async function groupGone(pgid: number, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (alive(-pgid)) {
    if (Date.now() > deadline)
      throw new Error(`process group ${String(pgid)} still has processes after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
