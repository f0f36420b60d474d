/**
 * The shared SQL (`sql/`) is written once, in MySQL's quoting: identifiers in backticks and `?`
 * placeholders. PostgreSQL quotes identifiers with double quotes and numbers its parameters
 * (`$1`), so its runner rewrites each statement before sending it. Outside string literals,
 * every backtick becomes a double quote and every `?` a numbered parameter.
 *
 * PostgreSQL infers an untyped parameter's type from where it stands, and a `CASE … THEN $2` in
 * an assignment leaves it `text`, which a BIGINT column refuses. Number parameters are therefore
 * typed in the text (`$2::int8`, or `::float8` for a fraction), as a driver that knows the
 * values' types would send them. Translations are cached per statement and parameter kinds.
 */
import type { Param } from "../sql/runner.js";

const CACHE_LIMIT = 2000;
const cache = new Map<string, string>();

function kind(p: Param): string {
  if (typeof p === "number") return Number.isInteger(p) ? "i" : "f";
  return "-";
}

function translate(sql: string, params: readonly Param[]): string {
  let out = "";
  let n = 0;
  let quoted = false;
  for (const ch of sql) {
    if (ch === "'") {
      quoted = !quoted; // '' inside a literal toggles twice: still inside
      out += ch;
    } else if (quoted) out += ch;
    else if (ch === "`") out += '"';
    else if (ch === "?") {
      const p = params[n++];
      const type = typeof p === "number" ? (Number.isInteger(p) ? "::int8" : "::float8") : "";
      out += `$${String(n)}${type}`;
    } else out += ch;
  }
  if (n !== params.length)
    throw new Error(`statement has ${String(n)} placeholders for ${String(params.length)} values`);
  return out;
}

/** A shared statement in PostgreSQL's syntax, for these parameters. */
export function postgresText(sql: string, params: readonly Param[]): string {
  const key = `${params.map(kind).join("")}\u0000${sql}`;
  let text = cache.get(key);
  if (text === undefined) {
    text = translate(sql, params);
    if (cache.size >= CACHE_LIMIT) cache.clear();
    cache.set(key, text);
  }
  return text;
}
