/**
 * The logger the worker writes to: a structural type that a pino logger satisfies as is, and that
 * `console` satisfies too (without `child`, bindings are then merged into each call's object).
 */
import { pino } from "pino";

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

/** The default: JSON lines on stdout at level info. */
export function defaultLogger(): WorkerLogger {
  return pino({ name: "metronome-worker", level: "info" });
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
