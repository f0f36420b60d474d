import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root. */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

/**
 * The trigger conformance vectors, a verbatim copy kept in the repository (see
 * test/conformance/README.md for the format); `.ci/run` checks the copy against its source.
 */
export const triggersFile = resolve(repoRoot, "test/conformance/triggers.json");
