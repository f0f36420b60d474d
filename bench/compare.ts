/**
 * A/B in the same hour: `npm run -s bench -- compare REF NAME… [--rounds N]` runs each named
 * benchmark on the current tree (A) and on the git ref REF (B, checked out in a temporary
 * worktree), interleaved — A B, then B A, round after round — so that whatever else the machine
 * does weighs on both alike. It prints, per benchmark and numeric figure, the median of each side
 * and their ratio A/B: a Markdown table for people, then one JSON line.
 *
 * The worktree shares this tree's installed packages when REF has the same package-lock.json
 * (its workspace packages, the SDK and the server, are its own: worktree-modules.ts), and gets
 * `npm ci` otherwise. Environment variables (BENCH_*, …) reach both sides unchanged, and so does
 * `--store S` (e.g. `compare main throughput --store redis`).
 */
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { figures, median } from "./compare-stats.js";
import { shareNodeModules } from "./worktree-modules.js";

const repo = resolve(dirname(fileURLToPath(import.meta.url)), "..");

interface Args {
  readonly ref: string;
  readonly names: readonly string[];
  readonly rounds: number;
  /** `--store …`, passed on to every run (the benchmarks' own default without it). */
  readonly store: readonly string[];
}

function parseArgs(argv: readonly string[]): Args {
  const names: string[] = [];
  let rounds = 5;
  let ref: string | undefined;
  let store: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? "";
    if (a === "--store") {
      const value = argv[++i];
      if (value === undefined) usage("--store takes a store name");
      store = ["--store", value];
    } else if (a === "--rounds") {
      rounds = Number(argv[++i]);
      if (!Number.isInteger(rounds) || rounds < 1) usage("--rounds takes a positive integer");
    } else if (ref === undefined) ref = a;
    else names.push(a);
  }
  if (ref === undefined || names.length === 0) usage("give a git ref and at least one benchmark");
  if (names.includes("compare")) usage("compare cannot compare itself");
  return { ref, names, rounds, store };
}

function usage(why: string): never {
  console.error(
    `bench compare: ${why}\nusage: npm run -s bench -- compare REF NAME… [--rounds N] [--store S]`,
  );
  process.exit(2);
}

const git = (...args: string[]): string =>
  execFileSync("git", args, { cwd: repo, encoding: "utf8" }).trim();

/** Runs one benchmark in `cwd`; its last stdout line that parses as a JSON object. */
function runBench(
  cwd: string,
  name: string,
  store: readonly string[],
): Promise<Record<string, unknown>> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn("npm", ["run", "-s", "bench", "--", name, ...store], {
      cwd,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.on("error", reject);
    child.on("exit", (code) => {
      const line = out
        .trim()
        .split("\n")
        .reverse()
        .find((l) => l.startsWith("{"));
      if (code !== 0 || line === undefined) {
        reject(new Error(`${name} in ${cwd} ended with ${String(code)}:\n${err.slice(-4000)}`));
        return;
      }
      resolvePromise(JSON.parse(line) as Record<string, unknown>);
    });
  });
}

function fmt(n: number): string {
  if (!Number.isFinite(n)) return "—";
  return Math.abs(n) >= 100 ? Math.round(n).toLocaleString("en-US") : String(+n.toFixed(3));
}

async function main(): Promise<void> {
  const { ref, names, rounds, store } = parseArgs(process.argv.slice(3));
  const sha = git("rev-parse", "--verify", `${ref}^{commit}`);
  const head = git("rev-parse", "--short", "HEAD");
  const dirty = git("status", "--porcelain", "--untracked-files=no") !== "";
  const tree = mkdtempSync(join(tmpdir(), "metronome-bench-ref-"));
  git("worktree", "add", "--detach", tree, sha);
  try {
    let sameLock = existsSync(join(repo, "package-lock.json"));
    try {
      execFileSync("git", ["diff", "--quiet", sha, "--", "package-lock.json"], { cwd: repo });
    } catch {
      sameLock = false;
    }
    if (sameLock) shareNodeModules(repo, tree);
    else execFileSync("npm", ["ci", "--no-audit", "--no-fund"], { cwd: tree, stdio: "inherit" });

    const a = new Map<string, Record<string, unknown>[]>();
    const b = new Map<string, Record<string, unknown>[]>();
    /** Runs that failed, by "name side". */
    const failed = new Map<string, number>();
    for (let round = 0; round < rounds; round++) {
      for (const name of names) {
        const order: [string, Map<string, Record<string, unknown>[]>][] =
          round % 2 === 0
            ? [
                [repo, a],
                [tree, b],
              ]
            : [
                [tree, b],
                [repo, a],
              ];
        for (const [cwd, into] of order) {
          const side = cwd === repo ? "A" : "B";
          try {
            const line = await runBench(cwd, name, store);
            into.set(name, [...(into.get(name) ?? []), line]);
            console.error(`round ${String(round + 1)}/${String(rounds)} ${name} ${side}`);
          } catch (err) {
            // A run that fails (e.g. a set-up that could not keep to its plan on a loaded
            // machine) is counted and left out of the medians, not the end of the comparison.
            const key = `${name} ${side}`;
            failed.set(key, (failed.get(key) ?? 0) + 1);
            console.error(
              `round ${String(round + 1)}/${String(rounds)} ${name} ${side} failed: ${err instanceof Error ? err.message.slice(0, 2000) : String(err)}`,
            );
          }
        }
      }
    }

    const result: Record<string, Record<string, { a: number; b: number; ratio: number }>> = {};
    console.log(
      `A = ${head}${dirty ? " + uncommitted changes" : ""}, B = ${ref} (${sha.slice(0, 7)}); medians of ${String(rounds)} interleaved runs\n`,
    );
    for (const name of names) {
      const runsA = (a.get(name) ?? []).map((l) => figures(l));
      const runsB = (b.get(name) ?? []).map((l) => figures(l));
      const keys = [...(runsA[0]?.keys() ?? [])].filter((k) => runsB[0]?.has(k) === true);
      const failedA = failed.get(`${name} A`) ?? 0;
      const failedB = failed.get(`${name} B`) ?? 0;
      console.log(
        `| ${name} (runs: A ${String(runsA.length)}, B ${String(runsB.length)}${failedA + failedB > 0 ? `; failed: A ${String(failedA)}, B ${String(failedB)}` : ""}) | A | B | A/B |\n| --- | --- | --- | --- |`,
      );
      result[name] = {};
      for (const k of keys) {
        const ma = median(runsA.map((f) => f.get(k) ?? NaN));
        const mb = median(runsB.map((f) => f.get(k) ?? NaN));
        const ratio = mb === 0 ? NaN : ma / mb;
        result[name][k] = { a: ma, b: mb, ratio };
        console.log(`| ${k} | ${fmt(ma)} | ${fmt(mb)} | ${fmt(ratio)} |`);
      }
      console.log("");
    }
    console.log(
      JSON.stringify({
        bench: "compare",
        a: head,
        b: sha,
        rounds,
        failed: Object.fromEntries(failed),
        results: result,
      }),
    );
  } finally {
    git("worktree", "remove", "--force", tree);
    rmSync(tree, { recursive: true, force: true });
  }
}

await main();
