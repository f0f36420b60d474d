/**
 * The logger the worker writes to: a structural type that a pino logger satisfies as is, and that
 * `console` satisfies too (without `child`, bindings are then merged into each call's object).
 */
import { styleText } from "node:util";
import { pino, type DestinationStream } from "pino";

/** One log method: a structured object with an optional message, or a message alone. */
export interface LogFn {
  (obj: Record<string, unknown>, msg?: string): void;
  (msg: string): void;
}

/** What the worker needs from a logger. */
export interface WorkerLogger {
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
  /** A logger adding `bindings` to every line (pino's `child`). Optional. */
  child?: (bindings: Record<string, unknown>) => WorkerLogger;
}

/**
 * The default: pino at level info on stdout, as JSON lines, or as one human-readable line per
 * entry (`prettyLine`) when stdout is a terminal.
 */
export function defaultLogger(): WorkerLogger {
  const options = { name: "metronome-worker", level: "info" };
  if (!process.stdout.isTTY) return pino(options);
  const out = process.stdout;
  const stream: DestinationStream = {
    write: (line: string) => {
      out.write(prettyLine(line, { colors: true }));
    },
  };
  return pino(options, stream);
}

const LEVELS: Record<number, { name: string; color: Parameters<typeof styleText>[0] }> = {
  10: { name: "TRACE", color: "gray" },
  20: { name: "DEBUG", color: "blue" },
  30: { name: "INFO", color: "green" },
  40: { name: "WARN", color: "yellow" },
  50: { name: "ERROR", color: "red" },
  60: { name: "FATAL", color: "magenta" },
};

/** Fields every line of one process has: left out of the human-readable form. */
const CONSTANT = new Set(["level", "time", "msg", "pid", "hostname", "name"]);

/**
 * One of pino's JSON lines as one human-readable line: local time, level, message, then the
 * fields as `key=value` (strings with spaces quoted, errors as `Type: message`, other values as
 * JSON). A line that is not JSON comes back as it is.
 */
export function prettyLine(json: string, options: { colors?: boolean } = {}): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json;
  }
  const level = LEVELS[Number(entry.level)] ?? { name: String(entry.level), color: "white" };
  const time = typeof entry.time === "number" ? clock(new Date(entry.time)) : "";
  const fields = Object.entries(entry)
    .filter(([key]) => !CONSTANT.has(key))
    .map(([key, value]) => `${key}=${fieldValue(value)}`);
  const levelText = level.name.padEnd(5);
  const parts = [
    time,
    options.colors === true ? styleText(level.color, levelText) : levelText,
    typeof entry.msg === "string" ? entry.msg : "",
    ...fields,
  ];
  return `${parts.filter((p) => p !== "").join(" ")}\n`;
}

function clock(d: Date): string {
  const two = (n: number) => String(n).padStart(2, "0");
  return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}.${String(d.getMilliseconds()).padStart(3, "0")}`;
}

function fieldValue(value: unknown): string {
  if (typeof value === "string") return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
  if (value !== null && typeof value === "object" && "message" in value) {
    // pino's serialised error: its type and message, first line only.
    const e = value as { type?: unknown; message?: unknown };
    const text = `${typeof e.type === "string" ? `${e.type}: ` : ""}${String(e.message)}`;
    return JSON.stringify(text.split("\n", 1)[0]);
  }
  return JSON.stringify(value);
}

/** `logger` with `bindings` on every line, through `child()` when the logger has one. */
export function childLogger(logger: WorkerLogger, bindings: Record<string, unknown>): WorkerLogger {
  if (logger.child !== undefined) return logger.child(bindings);
  const wrap =
    (fn: LogFn): LogFn =>
    (first: Record<string, unknown> | string, msg?: string): void => {
      if (typeof first === "string") fn({ ...bindings }, first);
      else if (msg === undefined) fn({ ...bindings, ...first });
      else fn({ ...bindings, ...first }, msg);
    };
  return {
    debug: wrap(logger.debug.bind(logger)),
    info: wrap(logger.info.bind(logger)),
    warn: wrap(logger.warn.bind(logger)),
    error: wrap(logger.error.bind(logger)),
    child: (more) => childLogger(logger, { ...bindings, ...more }),
  };
}
