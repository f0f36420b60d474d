import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The first folder at or above this module's that holds `relative`, from source or from dist/. */
function findUp(relative: string): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, relative))) {
    const parent = dirname(dir);
    if (parent === dir)
      throw new Error(`${relative} not found above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
  return dir;
}

/** The server package's root (the folder with its package.json), from source or from dist/. */
export function packageRoot(): string {
  return findUp("package.json");
}

/**
 * The migrations of a dialect: `migrations/<dialect>` in the repository root (beside the server
 * package), or inside the package where an image copies them.
 */
export function migrationsFolder(dialect: "mysql" | "sqlite" | "postgres"): string {
  return join(findUp(join("migrations", dialect)), "migrations", dialect);
}

/** The built dashboard (`server/dist/ui`, from `server/ui/`), from source or from dist/. */
export function dashboardFolder(): string {
  return join(packageRoot(), "dist", "ui");
}
