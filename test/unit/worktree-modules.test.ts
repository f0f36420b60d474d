/** bench compare's worktree node_modules (bench/worktree-modules.ts), on a scratch directory. */
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { shareNodeModules } from "../../bench/worktree-modules.js";

let dir: string | undefined;
afterEach(() => {
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

/** A repository with a package, a scoped package and a workspace package, and an empty worktree. */
function layout(): { repo: string; tree: string } {
  dir = mkdtempSync(join(tmpdir(), "worktree-modules-"));
  const repo = join(dir, "repo");
  const tree = join(dir, "tree");
  for (const d of [
    "node_modules/plain",
    "node_modules/@scope/lib",
    "node_modules/@ws",
    "sdk",
    "../tree/sdk",
  ])
    mkdirSync(join(repo, d), { recursive: true });
  writeFileSync(join(repo, "node_modules/plain/index.js"), "");
  writeFileSync(join(repo, "node_modules/@scope/lib/index.js"), "");
  symlinkSync("../../sdk", join(repo, "node_modules/@ws/sdk"));
  return { repo, tree };
}

describe("the worktree's node_modules", () => {
  it("shares installed packages and points workspace packages at the worktree's own", () => {
    const { repo, tree } = layout();
    shareNodeModules(repo, tree);
    expect(realpathSync(join(tree, "node_modules/plain"))).toBe(
      realpathSync(join(repo, "node_modules/plain")),
    );
    expect(realpathSync(join(tree, "node_modules/@scope/lib"))).toBe(
      realpathSync(join(repo, "node_modules/@scope/lib")),
    );
    expect(realpathSync(join(tree, "node_modules/@ws/sdk"))).toBe(realpathSync(join(tree, "sdk")));
  });
});
