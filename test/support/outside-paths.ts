/**
 * Finds references to paths outside the repository in a file's text: the repository must own
 * every file its code, tests, scripts and docs read (test/unit/repository.test.ts).
 *
 * A reference is a run of path characters with a `..` segment that, resolved against its base,
 * leaves the repository root; any run naming the sibling folder `shared` one level up; and any absolute path
 * into this machine's workspace or a home directory; and any mention of the documents that live
 * beside the repository rather than in it (the product specification, the scheduling guide's
 * source): the docs describe what they need of them instead. The base of a relative path is the file's
 * folder (imports, `resolve(dirname(…), …)`, Markdown link targets), except where it is read from
 * the root: scripts (they `cd` to the root) and the text of Markdown outside link targets
 * (commands in docs run from the root).
 */
import { posix } from "node:path";

export interface OutsideReference {
  readonly file: string;
  readonly line: number;
  readonly reference: string;
  readonly reason: string;
}

/** Written in pieces so that this file does not name what it looks for. */
const UP = "..";
const SIBLING = `${UP}/shared`;
const MACHINE_FOLDERS = ["work", "home", "Users"].map((d) => `/${d}/`);
/** The specification (its file, or a section of it) and the scheduling guide's source file. */
const OUTSIDE_DOCUMENTS = /\bSPEC(\.md\b|\s*§|\s+section)|scheduling-guide\.zh/g;

/**
 * The one allowed reference: `.ci/run` compares test/conformance/ with its source when that sits
 * beside the clone, and does without it otherwise.
 */
const ALLOWED: readonly { readonly file: string; readonly prefix: string }[] = [
  { file: ".ci/run", prefix: `${SIBLING}/conformance` },
];

/** Maximal runs of characters that occur in paths (`:`, quotes, brackets and spaces end a run). */
const PATH_RUN = /[\w@.+~/-]+/g;
/** Markdown link targets: `](target)`. */
const MARKDOWN_LINK = /\]\(([^)\s]+)\)/g;

function isScript(file: string, text: string): boolean {
  return text.startsWith("#!") || file.endsWith(".sh") || file.startsWith(".ci/");
}

function escapes(base: string, path: string): boolean {
  const resolved = posix.normalize(posix.join(base === "" ? "." : base, path));
  return resolved === UP || resolved.startsWith(`${UP}/`);
}

function check(run: string, base: string): string | undefined {
  const segments = run.split("/");
  if (segments.some((s, i) => s === UP && segments[i + 1] === "shared")) {
    return `names the sibling folder ${SIBLING}`;
  }
  const absolute = run.replace(/^\/+/, "/");
  const machine = MACHINE_FOLDERS.find((m) => absolute.startsWith(m));
  if (machine !== undefined) {
    return `an absolute path under ${machine}`;
  }
  if (!run.startsWith("/") && segments.includes(UP) && escapes(base, run)) {
    return base === "" ? "leaves the repository root" : `leaves the repository root from ${base}/`;
  }
  return undefined;
}

/** The references to paths outside the repository in `text`, the content of `file` (relative). */
export function findOutsideReferences(file: string, text: string): OutsideReference[] {
  const found: OutsideReference[] = [];
  const fileDir = posix.dirname(file) === "." ? "" : posix.dirname(file);
  const defaultBase = isScript(file, text) ? "" : fileDir;
  const markdown = file.endsWith(".md");
  text.split("\n").forEach((lineText, index) => {
    for (const m of lineText.matchAll(OUTSIDE_DOCUMENTS)) {
      const reason = "names a document kept outside the repository";
      found.push({ file, line: index + 1, reference: m[0], reason });
    }
    const linkSpans: [number, number][] = [];
    if (markdown) {
      for (const m of lineText.matchAll(MARKDOWN_LINK)) {
        const start = m.index + 2;
        linkSpans.push([start, start + (m[1]?.length ?? 0)]);
      }
    }
    for (const m of lineText.matchAll(PATH_RUN)) {
      const run = m[0];
      const inLink = linkSpans.some(([s, e]) => m.index >= s && m.index < e);
      const base = markdown && !inLink ? "" : defaultBase;
      const reason = check(run, base);
      if (reason === undefined) continue;
      if (ALLOWED.some((a) => a.file === file && run.startsWith(a.prefix))) continue;
      found.push({ file, line: index + 1, reference: run, reason });
    }
  });
  return found;
}

export function formatReference(r: OutsideReference): string {
  return `${r.file}:${r.line}: ${r.reference} (${r.reason})`;
}
