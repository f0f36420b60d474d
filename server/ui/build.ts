/**
 * Builds the dashboard (`server/ui/`) into `server/dist/ui` with Vite.
 *
 *   node --import tsx server/ui/build.ts           build when missing or stale (npm start, tests)
 *   node --import tsx server/ui/build.ts --force   always build (npm run build)
 *
 * Stale means a source of the build (the app, its generated API code, the Vite config, the
 * lockfile) is newer than the built index.html. Processes building at once (parallel test files,
 * `npm start` twice) take turns through a lock folder, and each build is written beside the
 * served folder and swapped in by renames, so a running server never sees a half-written build.
 */
import { mkdirSync, readdirSync, renameSync, rmSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const uiDir = dirname(fileURLToPath(import.meta.url));
const serverDir = resolve(uiDir, "..");
const distDir = join(serverDir, "dist");
export const DASHBOARD_BUILD = join(distDir, "ui");
const LOCK = join(distDir, ".ui-build.lock");
/** A lock older than this was left by a build that died. */
const STALE_LOCK_MS = 5 * 60_000;
const LOCK_WAIT_MS = 10 * 60_000;

const INPUTS = [
  join(uiDir, "src"),
  join(uiDir, "index.html"),
  join(uiDir, "vite.config.ts"),
  join(serverDir, "src", "gen"),
  join(serverDir, "package.json"),
  join(serverDir, "..", "package-lock.json"),
];

function newestMtime(path: string): number {
  let stat;
  try {
    stat = statSync(path);
  } catch {
    return 0;
  }
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs;
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, entry)));
  return newest;
}

/** Whether the build is missing or older than one of its sources. */
export function dashboardStale(): boolean {
  let built: number;
  try {
    built = statSync(join(DASHBOARD_BUILD, "index.html")).mtimeMs;
  } catch {
    return true;
  }
  return INPUTS.some((input) => newestMtime(input) > built);
}

async function withLock<T>(action: () => Promise<T>): Promise<T> {
  mkdirSync(distDir, { recursive: true });
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      mkdirSync(LOCK);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      try {
        if (Date.now() - statSync(LOCK).mtimeMs > STALE_LOCK_MS)
          rmSync(LOCK, { recursive: true, force: true });
      } catch {
        // released meanwhile
      }
      if (Date.now() > deadline) throw new Error(`${LOCK} is held: is another build stuck?`);
      // Another process is building: its build takes seconds.
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  try {
    return await action();
  } finally {
    rmSync(LOCK, { recursive: true, force: true });
  }
}

/** Builds the dashboard when `force` or when stale; true when this call built it. */
export async function buildDashboard(options: { force?: boolean } = {}): Promise<boolean> {
  if (!options.force && !dashboardStale()) return false;
  return withLock(async () => {
    // Another process may have built it while this one waited.
    if (!options.force && !dashboardStale()) return false;
    const staging = join(distDir, `.ui-${String(process.pid)}`);
    rmSync(staging, { recursive: true, force: true });
    // Loaded here: a check that finds the build fresh stays quick.
    const { build } = await import("vite");
    await build({
      configFile: join(uiDir, "vite.config.ts"),
      build: { outDir: staging, emptyOutDir: true },
    });
    const old = join(distDir, `.ui-old-${String(process.pid)}`);
    let hadOld = true;
    try {
      renameSync(DASHBOARD_BUILD, old);
    } catch {
      hadOld = false;
    }
    renameSync(staging, DASHBOARD_BUILD);
    if (hadOld) rmSync(old, { recursive: true, force: true });
    return true;
  });
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const force = process.argv.includes("--force");
  if (!force && dashboardStale())
    process.stderr.write("building the dashboard (server/ui) into server/dist/ui\n");
  buildDashboard({ force }).catch((err: unknown) => {
    process.stderr.write(
      `the dashboard did not build: ${err instanceof Error ? err.message : String(err)}\n`,
    );
    process.exitCode = 1;
  });
}
