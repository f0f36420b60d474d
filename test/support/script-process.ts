/**
 * A TypeScript script of the repository run as its own Node process (with tsx, from the
 * repository's root), as a user's program runs: how it ended and what it printed.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { repoRoot } from "./paths.js";

export interface Ended {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `path` (relative to the repository) with `args`, the environment plus `env`. */
export async function runScript(
  path: string,
  args: readonly string[],
  env: Record<string, string>,
): Promise<Ended> {
  const child = spawn(process.execPath, ["--import", "tsx", path, ...args], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const [code] = (await once(child, "exit")) as [number | null];
  return { code, stdout, stderr };
}
