import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root. */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

/** The shared conformance vectors, read in place (never copied into the repository). */
export const sharedTriggersFile = resolve(repoRoot, "../shared/conformance/triggers.json");
