/** Structured JSON logs (pino). One root logger per process; components take children. */
import { pino, type Logger, type LevelWithSilent } from "pino";

export type { Logger };

export function createLogger(
  level: LevelWithSilent,
  bindings: Record<string, unknown> = {},
): Logger {
  return pino({
    level,
    base: { service: "metronome", ...bindings },
    timestamp: pino.stdTimeFunctions.isoTime,
  });
}
