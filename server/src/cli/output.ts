/**
 * What the operator commands print: aligned tables for people, or JSON for scripts (`--json`:
 * one document per command, one line per event for `events tail`). Times print as ISO 8601 in
 * UTC; JSON holds what the API returns, in its JSON form.
 */

export type Cell = string | number | boolean | null | undefined;

/** Where a command writes (stdout in the CLI; tests may capture it). */
export interface Out {
  line(text: string): void;
}

let quietOnClosedPipe = false;

/**
 * A reader that stops early (`metronome jobs list | head -1`) closes the pipe: the next write
 * fails with EPIPE, which ends the command quietly (exit code 0, as with nothing more to print)
 * instead of an unhandled 'error' event and its stack. Any other error of stdout still throws.
 */
function exitQuietlyOnEpipe(): void {
  if (quietOnClosedPipe) return;
  quietOnClosedPipe = true;
  process.stdout.on("error", (err: NodeJS.ErrnoException) => {
    if (err.code === "EPIPE") process.exit(0);
    throw err;
  });
}

export const stdout: Out = {
  line: (text) => {
    exitQuietlyOnEpipe();
    process.stdout.write(`${text}\n`);
  },
};

/** A note for the person reading, on stderr (stdout holds only the table or the JSON). */
export function note(text: string): void {
  process.stderr.write(`metronome: note: ${text}\n`);
}

/** An instant as `2026-12-04T21:36:15Z` (seconds), or `-` when absent. */
export function when(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return "-";
  const iso = new Date(ms).toISOString();
  return iso.endsWith(".000Z") ? `${iso.slice(0, -5)}Z` : iso;
}

/**
 * A configured duration (a job's timeout, its misfire grace) exactly, in seconds: `30s`,
 * `0.5s`, `1.25s`, `0.000001s`.
 */
export function exactSeconds(d: { readonly seconds: bigint; readonly nanos: number }): string {
  const negative = d.seconds < 0n || d.nanos < 0;
  const whole = (d.seconds < 0n ? -d.seconds : d.seconds).toString();
  const nanos = Math.abs(d.nanos);
  const fraction = nanos === 0 ? "" : `.${String(nanos).padStart(9, "0").replace(/0+$/, "")}`;
  return `${negative ? "-" : ""}${whole}${fraction}s`;
}

/** A duration in milliseconds as `1.2s`, `3m05s`, `2h10m`, or `-`. */
export function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return "-";
  if (ms < 1000) return `${String(Math.round(ms))}ms`;
  const s = ms / 1000;
  if (s < 60) return `${String(Math.round(s * 10) / 10)}s`;
  const m = Math.floor(s / 60);
  const rest = (n: number, unit: string) => (n === 0 ? "" : `${String(n).padStart(2, "0")}${unit}`);
  if (m < 60) return `${String(m)}m${rest(Math.round(s % 60), "s")}`;
  return `${String(Math.floor(m / 60))}h${rest(m % 60, "m")}`;
}

function text(c: Cell): string {
  if (c === null || c === undefined || c === "") return "-";
  return String(c).replace(/\s+/g, " ");
}

/** Rows under a header, columns aligned; `(none)` when there are no rows. */
export function table(
  out: Out,
  header: readonly string[],
  rows: readonly (readonly Cell[])[],
): void {
  if (rows.length === 0) {
    out.line("(none)");
    return;
  }
  const cells = [header.map((h) => h.toUpperCase()), ...rows.map((r) => r.map(text))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? "").length)));
  for (const r of cells)
    out.line(
      r
        .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
        .join("  ")
        .trimEnd(),
    );
}

/** Label: value lines, labels aligned. */
export function fields(out: Out, entries: readonly (readonly [string, Cell])[]): void {
  const width = Math.max(...entries.map(([k]) => k.length));
  for (const [k, v] of entries) out.line(`${`${k}:`.padEnd(width + 1)} ${text(v)}`);
}

/** JSON of a value that may hold bigints (as strings) and Dates (ISO). */
export function json(value: unknown, indent?: number): string {
  return JSON.stringify(
    value,
    (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v),
    indent,
  );
}
