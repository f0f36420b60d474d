/** Unknown keys: reported with the nearest known key, so that a typo does not pass silently. */
import { KEYS } from "./keys.js";

const KNOWN_KEYS: ReadonlySet<string> = new Set(Object.keys(KEYS));

const OUR_PREFIX = /^(?:SCHEDULER__|METRONOME_)/i;
/** Used by the test harness, never by a server (see README). */
const RESERVED_PREFIX = /^METRONOME_TEST_/;

/** One sentence per unknown `SCHEDULER__*` / `METRONOME_*` key, naming where it was set. */
export function unknownKeyWarnings(
  dotenv: Readonly<Record<string, string>>,
  env: Readonly<Record<string, string | undefined>>,
): string[] {
  const sources = new Map<string, string[]>();
  const collect = (names: Iterable<string>, where: string) => {
    for (const name of names) {
      if (!OUR_PREFIX.test(name) || RESERVED_PREFIX.test(name) || KNOWN_KEYS.has(name)) continue;
      sources.set(name, [...(sources.get(name) ?? []), where]);
    }
  };
  collect(Object.keys(dotenv), ".env");
  collect(
    Object.keys(env).filter((name) => env[name] !== undefined),
    "the environment",
  );
  return [...sources].map(([name, where]) => {
    const suggestion = closestKey(name);
    const hint = suggestion === undefined ? "" : ` (did you mean ${suggestion}?)`;
    return `unknown setting ${name} in ${where.join(" and ")} is ignored${hint}`;
  });
}

/** The known key nearest to `name` (case-insensitive edit distance <= 3), if any. */
function closestKey(name: string): string | undefined {
  let best: string | undefined;
  let bestDistance = 4;
  for (const known of KNOWN_KEYS) {
    const d = editDistance(name.toUpperCase(), known);
    if (d < bestDistance) {
      best = known;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}
