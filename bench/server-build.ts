/**
 * Which code the benchmarks run: by default the built server (server/dist, what the Docker image
 * and the installed `metronome` command run) and an SDK worker on the built SDK (sdk/dist, what
 * a service that installed @metronome/sdk runs), built here first when their sources changed
 * since the last build. BENCH_CODE=source runs both from their TypeScript sources through tsx,
 * as the tests and `npm start` do: about 50 MB more memory and a slower start for the server
 * (tsx's loader thread, compiling on load), and esbuild's `__name` wrapper on every function
 * the SDK makes per run.
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

/** Whether the benchmarks run the built server and SDK; builds them when out of date. */
export function builtServer(): boolean {
  if (ready !== undefined) return ready;
  const kind = process.env.BENCH_CODE ?? "built";
  if (kind !== "built" && kind !== "source")
    throw new Error(`BENCH_CODE must be "built" or "source", not ${JSON.stringify(kind)}`);
  ready = kind === "built";
  if (!ready) return false;
  const parts = [
    { src: join(root, "sdk/src"), out: join(root, "sdk/dist/index.js"), project: "sdk" },
    { src: join(root, "server/src"), out: join(root, "server/dist/cli.js"), project: "server" },
  ];
  for (const { src, out, project } of parts) {
    if (mtime(out) > newest(src)) continue;
    console.error(`bench: building ${project} (tsc) for the code the benchmark runs`);
    execFileSync(
      process.execPath,
      [join(root, "node_modules/typescript/bin/tsc"), "-p", join(project, "tsconfig.build.json")],
      { cwd: root, stdio: ["ignore", "inherit", "inherit"] },
    );
  }
  return true;
}
