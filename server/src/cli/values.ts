/**
 * The values operator commands read from flags: durations (`30s`, `1h30m`), instants (ISO 8601
 * with an offset, or `+10m` from now, or `-1h` before now), integers and JSON. Each failure names
 * the flag.
 */
import { CliError } from "./exit.js";

const UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

/** `30s`, `5m`, `1h30m`, `2d`, `1w`, `250ms`, or plain seconds (`45`): milliseconds. */
export function parseDuration(flag: string, value: string): number {
  const v = value.trim();
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1000);
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/gy;
  let total = 0;
  let end = 0;
  for (let m = re.exec(v); m !== null; m = re.exec(v)) {
    total += Number(m[1]) * (UNITS[m[2] ?? "s"] ?? 1000);
    end = re.lastIndex;
  }
  if (v === "" || end !== v.length || total <= 0)
    throw new CliError(`${flag}: expected a duration such as 30s, 5m, 1h30m or 2d, got "${value}"`);
  return Math.round(total);
}

/** ISO 8601 with an offset (`2026-12-25T09:00:00Z`, `…+08:00`), or `+10m` / `-1h` from now. */
export function parseInstant(flag: string, value: string, now = Date.now()): number {
  const v = value.trim();
  if (v.startsWith("+") || v.startsWith("-")) {
    const ms = parseDuration(flag, v.slice(1));
    return v.startsWith("+") ? now + ms : now - ms;
  }
  if (!/(Z|[+-]\d\d:?\d\d)$/i.test(v) || !/^\d{4}-\d\d-\d\d[T ]/.test(v))
    throw new CliError(
      `${flag}: expected an ISO 8601 time with an offset (2026-12-25T09:00:00Z, 2026-12-25T09:00:00+08:00) or +DURATION / -DURATION from now, got "${value}"`,
    );
  const ms = Date.parse(v);
  if (!Number.isFinite(ms)) throw new CliError(`${flag}: not a valid time: "${value}"`);
  return ms;
}

export function parseInteger(flag: string, value: string, min: number, max: number): number {
  const n = Number(value);
  if (!/^-?\d+$/.test(value.trim()) || n < min || n > max)
    throw new CliError(
      `${flag}: expected a whole number from ${String(min)} to ${String(max)}, got "${value}"`,
    );
  return n;
}

/** A JSON value of the expected shape. */
export function parseJson(flag: string, value: string, shape: "array" | "object"): unknown {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch (err) {
    throw new CliError(`${flag}: not JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  const ok =
    shape === "array"
      ? Array.isArray(parsed)
      : typeof parsed === "object" && parsed !== null && !Array.isArray(parsed);
  if (!ok) throw new CliError(`${flag}: expected a JSON ${shape}, got ${value}`);
  return parsed;
}

/** Commander's collector of a repeatable option. */
export function collect(value: string, previous: string[] = []): string[] {
  return [
    ...previous,
    ...value
      .split(",")
      .map((s) => s.trim())
      .filter((s) => s !== ""),
  ];
}
