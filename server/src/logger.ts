/**
 * Logs (pino). One root logger per process; components take children. JSON lines by default;
 * `pretty` writes one human-readable line per entry (pino-pretty, in-process and synchronous, so
 * that nothing is lost when the process exits right after a line).
 */
import { pino, type Logger, type LevelWithSilent } from "pino";
import pinoPretty from "pino-pretty";

export type { Logger };

export type LogFormat = "json" | "pretty";

export interface LoggerOptions {
  /** Default: json. */
  readonly format?: LogFormat | undefined;
  /** Where lines go. Default: stdout. */
  readonly destination?: NodeJS.WritableStream | undefined;
  /** Colours in pretty mode. Default: whether the destination is stdout and stdout is a terminal. */
  readonly colorize?: boolean | undefined;
}

/** `pretty` when stdout is a terminal (a person reads it), `json` otherwise. */
export function defaultLogFormat(stdout: { isTTY?: boolean } = process.stdout): LogFormat {
  return stdout.isTTY === true ? "pretty" : "json";
}

export function createLogger(
  level: LevelWithSilent,
  bindings: Record<string, unknown> = {},
  options: LoggerOptions = {},
): Logger {
  const settings = {
    level,
    base: { service: "metronome", ...bindings },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  if (options.format !== "pretty") {
    return options.destination === undefined ? pino(settings) : pino(settings, options.destination);
  }
  const stream = pinoPretty({
    colorize: options.colorize ?? (options.destination === undefined && process.stdout.isTTY),
    singleLine: true,
    translateTime: "SYS:HH:MM:ss.l",
    // The same on every line of one process: noise in a terminal.
    ignore: "pid,hostname,service,node",
    sync: true,
    destination: options.destination ?? 1,
  });
  return pino(settings, stream);
}
