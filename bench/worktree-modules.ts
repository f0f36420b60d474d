/**
 * The node_modules of a worktree that `bench compare` checks out: this tree's installed packages,
 * shared, except the workspace packages (`@metronome/sdk`, `@metronome/server`), which must be the
 * worktree's own. A plain symlink of the whole directory made the ref's worker import this tree's
 * SDK (the workspace link `node_modules/@metronome/sdk` is relative, and it resolves from the real
 * path of node_modules, this tree's), so SDK changes measured the same code on both sides.
 */
import { lstatSync, mkdirSync, readdirSync, readlinkSync, symlinkSync } from "node:fs";
import { join } from "node:path";

/** Fills `tree`/node_modules: a link per package of `repo`/node_modules, workspace links relative. */
export function shareNodeModules(repo: string, tree: string): void {
  const from = join(repo, "node_modules");
  const to = join(tree, "node_modules");
  mkdirSync(to);
  for (const entry of readdirSync(from)) {
    const source = join(from, entry);
    if (!entry.startsWith("@") || !hasRelativeLinks(source)) {
      symlinkSync(source, join(to, entry));
      continue;
    }
    // A scope holding workspace links (relative symlinks into the repository): each link is made
    // again with the same relative target, so that it points into the worktree.
    mkdirSync(join(to, entry));
    for (const pkg of readdirSync(source)) {
      const path = join(source, pkg);
      const target = lstatSync(path).isSymbolicLink() ? readlinkSync(path) : undefined;
      symlinkSync(
        target !== undefined && !target.startsWith("/") ? target : path,
        join(to, entry, pkg),
      );
    }
  }
}

/** Whether a scope directory holds a relative symlink (a workspace package). */
function hasRelativeLinks(scope: string): boolean {
  return readdirSync(scope).some((pkg) => {
    const path = join(scope, pkg);
    return lstatSync(path).isSymbolicLink() && !readlinkSync(path).startsWith("/");
  });
}
