/**
 * The repository owns every file it reads: no code, test, script, config or doc names a path
 * outside it (a user's clone has nothing beside it). `.ci/run`'s optional comparison of
 * test/conformance/ with its source is the one exception (test/support/outside-paths.ts).
 */
import { execFileSync } from "node:child_process";
import { lstatSync, readFileSync, readlinkSync } from "node:fs";
import { posix } from "node:path";
import { describe, expect, it } from "vitest";
import { findOutsideReferences, formatReference } from "../support/outside-paths.js";
import { repoRoot } from "../support/paths.js";

function gitFiles(...args: string[]): string[] {
  const out = execFileSync("git", ["ls-files", "-z", ...args], { cwd: repoRoot, encoding: "utf8" });
  return out.split("\0").filter((f) => f !== "");
}

/** Tracked files, and new files not ignored (so a reference fails before it is committed). */
const tracked = new Set(gitFiles("--cached"));
const files = [...new Set([...tracked, ...gitFiles("--others", "--exclude-standard")])];

function outsideReferences(file: string): string[] {
  const path = posix.join(repoRoot, file);
  let stat;
  try {
    stat = lstatSync(path);
  } catch {
    return []; // deleted in the work tree, not yet in the index
  }
  if (stat.isSymbolicLink()) {
    // A committed link must stay inside; an untracked one (a shared node_modules) is local setup.
    if (!tracked.has(file)) return [];
    const link = readlinkSync(path);
    const target = posix.resolve(posix.dirname(path), link);
    return target === repoRoot || target.startsWith(`${repoRoot}/`)
      ? []
      : [`${file}: a symbolic link to ${link}, outside the repository`];
  }
  if (!stat.isFile()) return [];
  const bytes = readFileSync(path);
  if (bytes.includes(0)) return []; // binary
  return findOutsideReferences(file, bytes.toString("utf8")).map(formatReference);
}

describe("the repository", () => {
  it("names no path outside itself in code, tests, scripts, configs or docs", () => {
    expect(files).toContain("package.json");
    expect(files).toContain("test/conformance/triggers.json");
    expect(files.flatMap(outsideReferences)).toEqual([]);
  });
});

describe("findOutsideReferences", () => {
  // Built from pieces so that this file names no outside path itself.
  const up = "..";
  const shared = `${up}/shared/conformance/triggers.json`;

  function reasons(file: string, text: string): string[] {
    return findOutsideReferences(file, text).map(
      (r) => `${String(r.line)} ${r.reference}: ${r.reason}`,
    );
  }

  it("flags the sibling shared folder wherever it is named, from any depth", () => {
    expect(reasons("test/support/paths.ts", `const f = resolve(root, "${shared}");`)).toEqual([
      `1 ${shared}: names the sibling folder ${up}/shared`,
    ]);
    expect(reasons("docs/sdk.md", `ok\nsee \`${up}/shared/reference/guide.md\``)).toHaveLength(1);
  });

  it("flags relative paths that leave the root, resolved from the file's folder", () => {
    expect(reasons("package.json", `"x": "cat ${up}/other/file"`)).toEqual([
      `1 ${up}/other/file: leaves the repository root`,
    ]);
    expect(
      reasons("test/unit/x.test.ts", `import a from "${up}/${up}/${up}/elsewhere/a.js";`),
    ).toEqual([`1 ${up}/${up}/${up}/elsewhere/a.js: leaves the repository root from test/unit/`]);
    expect(reasons("README.md", `a root-level file: ${up}/${up}/x`)).toHaveLength(1);
  });

  it("accepts relative paths that stay inside: imports, dirname arithmetic, doc links", () => {
    expect(
      reasons(
        "server/src/api/router.ts",
        `import { H } from "${up}/${up}/${up}/sdk/src/gen/h.js";`,
      ),
    ).toEqual([]);
    expect(reasons("test/support/paths.ts", `resolve(dirname(here), "${up}/${up}");`)).toEqual([]);
    expect(reasons("docs/triggers.md", `[vectors](${up}/test/conformance/README.md)`)).toEqual([]);
    expect(reasons("server/src/x.ts", `const spread = [...a]; const range = "1..5";`)).toEqual([]);
  });

  it("reads scripts and the text of docs from the root, where their commands run", () => {
    expect(reasons(".ci/check", `#!/usr/bin/env bash\ncat ${up}/notes.txt`)).toEqual([
      `2 ${up}/notes.txt: leaves the repository root`,
    ]);
    expect(reasons("docs/x.md", `run \`cat ${up}/notes.txt\``)).toHaveLength(1);
    expect(reasons("docs/x.md", `[notes](${up}/notes.txt)`)).toEqual([]);
  });

  it("flags absolute paths into the workspace or a home directory, not system paths", () => {
    const folder = ["", "work", ""].join("/");
    const workspace = `${folder}notes/x.md`;
    expect(reasons("docs/x.md", `see ${workspace}`)).toEqual([
      `1 ${workspace}: an absolute path under ${folder}`,
    ]);
    expect(reasons("docs/x.md", `file://${workspace}`)).toHaveLength(1);
    expect(
      reasons("docs/x.md", "run /usr/bin/python3; data in /var/lib/metronome/jobs.db"),
    ).toEqual([]);
  });

  it("flags documents kept beside the repository: the specification, the guide's source", () => {
    const spec = "SPEC";
    expect(reasons("docs/x.md", `The contract is \`${spec}.md\` section 3.`)).toEqual([
      `1 ${spec}.md: names a document kept outside the repository`,
    ]);
    expect(reasons("sdk/src/x.ts", `/** one per code (${spec} §5) */`)).toHaveLength(1);
    expect(reasons("server/src/x.ts", `// the types of ${spec} section 4`)).toHaveLength(1);
    const guide = ["scheduling-guide", "zh", "md"].join(".");
    expect(reasons("docs/x.md", `(\`${guide}\`)`)).toHaveLength(1);
    expect(reasons("server/src/x.ts", "const spec = compile(specs[0]); // SPECIAL")).toEqual([]);
  });

  it("allows only .ci/run's optional comparison with the conformance source", () => {
    const line = `source_dir=${up}/shared/conformance\ncat ${up}/shared/notes.txt`;
    expect(reasons(".ci/run", line)).toEqual([
      `2 ${up}/shared/notes.txt: names the sibling folder ${up}/shared`,
    ]);
    expect(reasons(".ci/other", line)).toHaveLength(2);
  });
});
