/**
 * Which server the benchmarks run: by default the built one (server/dist, what the Docker image
 * and the installed `metronome` command run), built here first when its sources changed since
 * the last build; BENCH_SERVER=source runs it from its TypeScript sources through tsx, as the
 * tests and `npm start` do (about 50 MB more memory and a slower start: tsx's loader thread and
 * compiling on load).
 */
import { execFileSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

/** The newest modification time of a file under `dir` (0: none). */
function newest(dir: string): number {
  let t = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) t = Math.max(t, statSync(join(entry.parentPath, entry.name)).mtimeMs);
  }
  return t;
}

function mtime(file: string): number {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return 0;
  }
}

let ready: boolean | undefined;

/** Whether the benchmarks run the built server; builds it when it is out of date. */
export function builtServer(): boolean {
  if (ready !== undefined) return ready;
  const kind = process.env.BENCH_SERVER ?? "built";
  if (kind !== "built" && kind !== "source")
    throw new Error(`BENCH_SERVER must be "built" or "source", not ${JSON.stringify(kind)}`);
  ready = kind === "built";
  if (!ready) return false;
  const parts = [
    { src: join(root, "sdk/src"), out: join(root, "sdk/dist/index.js"), project: "sdk" },
    { src: join(root, "server/src"), out: join(root, "server/dist/cli.js"), project: "server" },
  ];
  for (const { src, out, project } of parts) {
    if (mtime(out) > newest(src)) continue;
    console.error(`bench: building ${project} (tsc) for the server the benchmark runs`);
    execFileSync(
      process.execPath,
      [join(root, "node_modules/typescript/bin/tsc"), "-p", join(project, "tsconfig.build.json")],
      { cwd: root, stdio: ["ignore", "inherit", "inherit"] },
    );
  }
  return true;
}
