/**
 * `exitOnError()`: a script's escaped SDK error as one line instead of Node's dump.
 *
 * Node prints an uncaught error (a failed top-level `await` is one) with its stack, its own
 * properties and its cause's stack, ignoring `util.inspect.custom`: for `AlreadyExistsError`
 * that is 30 lines, for an error the user caused (a duplicate id, an invalid field, no server)
 * and can fix from the message alone. Only a process-wide handler can print it differently, so
 * this is opt-in, for scripts; the error itself keeps its `stack` and `cause`.
 */
import { isAbsolute, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { MetronomeError } from "./rpc-errors.js";

/** This directory: frames in it are the SDK's, not the caller's. */
const SDK_DIR = fileURLToPath(new URL(".", import.meta.url));

/** A stack frame's location: `at fn (/path/file.ts:8:1)` or `at file:///path/file.js:8:1`. */
const FRAME = /^\s*at (?:.*? \()?(.+?):(\d+):\d+\)?$/;

/** Where the caller made the call that failed: the first frame outside the SDK and Node. */
function callSite(err: Error): string | undefined {
  for (const line of (err.stack ?? "").split("\n").slice(1)) {
    const m = FRAME.exec(line);
    if (m?.[1] === undefined) continue;
    let file = m[1];
    if (file.startsWith("file://")) file = fileURLToPath(file);
    if (!isAbsolute(file) || file.startsWith(SDK_DIR) || file.includes(`${sep}node_modules${sep}`))
      continue;
    const rel = relative(process.cwd(), file);
    return `${rel.startsWith("..") ? file : rel}:${m[2] ?? ""}`;
  }
  return undefined;
}

/**
 * The one line `exitOnError` prints for an SDK error:
 * `AlreadyExistsError: job "heartbeat" in scheduler "default" already exists; … (at examples/03-interval.ts:8)`.
 */
export function briefError(err: MetronomeError): string {
  const at = callSite(err);
  return `${err.name}: ${err.message}${at === undefined ? "" : ` (at ${at})`}`;
}

function exitWith(err: unknown): void {
  if (err instanceof MetronomeError) process.stderr.write(`${briefError(err)}\n`);
  else console.error(err); // as Node prints it: a programming error needs its stack
  process.exit(1);
}

/**
 * For scripts: an error that escapes the script (an uncaught exception, or an unhandled
 * rejection such as a failed top-level `await`) prints and exits with code 1, as Node does,
 * but an SDK error (`MetronomeError`: `AlreadyExistsError`, `InvalidArgumentError`,
 * `UnavailableError` when no server answers, …) prints as one line naming the call that failed.
 * Other errors print as Node prints them, with their stack. Call it once, first; calling it
 * again changes nothing. A long-running service handles errors where it calls the SDK instead.
 */
export function exitOnError(): void {
  if (!process.listeners("uncaughtException").includes(exitWith))
    process.on("uncaughtException", exitWith);
}
