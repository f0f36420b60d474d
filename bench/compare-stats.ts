/** The arithmetic of `bench compare` (bench/compare.ts). */
export function median(values: readonly number[]): number {
  const s = [...values].sort((x, y) => x - y);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] ?? NaN) : ((s[mid - 1] ?? NaN) + (s[mid] ?? NaN)) / 2;
}

/** The numeric figures of a benchmark's line (nested objects flattened with dots). */
export function figures(line: Record<string, unknown>, prefix = ""): Map<string, number> {
  const out = new Map<string, number>();
  for (const [k, v] of Object.entries(line)) {
    if (k === "targets" || k === "machine") continue;
    if (typeof v === "number" && Number.isFinite(v)) out.set(prefix + k, v);
    else if (v !== null && typeof v === "object" && !Array.isArray(v))
      for (const [fk, fv] of figures(v as Record<string, unknown>, `${prefix}${k}.`))
        out.set(fk, fv);
  }
  return out;
}
