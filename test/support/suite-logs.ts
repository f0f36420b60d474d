/**
 * The logs of the whole suite, kept for one check at its end: no secret in any of them.
 *
 * The global setup makes a folder for the run and names it in `TEST_LOG_DIR`. Every node the
 * tests start then logs at `trace` (or `TEST_LOG_LEVEL`) into a file of its own there instead of
 * being silent, and every process they spawn (servers, CLI commands, workers) has its output
 * copied there. Each secret a test configures (bootstrap tokens, encryption keys) is written
 * beside them (`secrets-<pid>.txt`), as is every API key's secret by its shape. When the run
 * ends, the global teardown scans every file (`findSecrets`) and fails the run naming the file
 * and the kind of secret found, never the secret.
 */
import { appendFileSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { createLogger, type Logger } from "../../server/src/logger.js";

/** The folder of this run's logs, or undefined when the suite runs without one. */
export function suiteLogDir(): string | undefined {
  const dir = process.env.TEST_LOG_DIR;
  return dir === undefined || dir === "" ? undefined : dir;
}

/**
 * The shortest configured value taken as a secret to look for: test tokens such as `other`
 * would match ordinary words. Every real token is longer (docs/security.md asks for ≥ 32).
 */
export const MIN_SECRET_LENGTH = 8;

/**
 * A value tests put in job arguments that are sealed (encryption at rest): it may reach the
 * worker and the client, never a log line.
 */
export const SEALED_ARGUMENT = "sealed-argument-b8c1e4f09a";

/** An API key's secret, by its shape (server/src/management/key-ring.ts). */
const API_KEY_SECRET = /mtk_[0-9a-f]{16}_[A-Za-z0-9_-]{43}/;

const LEVELS = ["silent", "error", "warn", "info", "debug", "trace"] as const;

let files = 0;

function fileName(dir: string, what: string): string {
  files += 1;
  return join(dir, `${what}-${String(process.pid)}-${String(files)}.log`);
}

/**
 * The configured secrets among `env` (bootstrap tokens, encryption keys), noted for the scan.
 * Call it with the environment a node or a process is started with.
 */
export function noteSecrets(env: Readonly<Record<string, string | undefined>>): void {
  const dir = suiteLogDir();
  if (dir === undefined) return;
  const values: string[] = [];
  for (const [key, value] of Object.entries(env)) {
    if (value === undefined) continue;
    if (key === "METRONOME_AUTH_TOKENS") values.push(...value.split(","));
    // Encryption keys: `<key id>:<base64 key>`, comma-separated; the key material is the secret.
    if (key === "METRONOME_ENCRYPTION_KEYS")
      values.push(...value.split(",").map((k) => k.slice(k.indexOf(":") + 1)));
  }
  const secrets = values.map((v) => v.trim()).filter((v) => v.length >= MIN_SECRET_LENGTH);
  if (secrets.length > 0)
    appendFileSync(join(dir, `secrets-${String(process.pid)}.txt`), secrets.join("\n") + "\n");
}

/**
 * The logger of a node a test starts: into a file of the run's folder at `trace` (unless
 * `TEST_LOG_LEVEL` says otherwise), or silent (or `TEST_LOG_LEVEL`, on stdout) without a folder.
 */
export function testNodeLogger(): Logger {
  const dir = suiteLogDir();
  const asked = LEVELS.find((l) => l === process.env.TEST_LOG_LEVEL);
  if (dir === undefined) return createLogger(asked ?? "silent");
  mkdirSync(dir, { recursive: true });
  const file = fileName(dir, "node");
  // Synchronous appends: nothing is lost when the test's process ends right after a line.
  const destination = {
    write(line: string): boolean {
      appendFileSync(file, line);
      return true;
    },
  } as unknown as NodeJS.WritableStream;
  return createLogger(
    asked === undefined || asked === "silent" ? "trace" : asked,
    {},
    { destination },
  );
}

/** Copies what a spawned process prints into the run's folder (nothing without one). */
export function keepOutput(what: string, ...streams: (Readable | null | undefined)[]): void {
  const dir = suiteLogDir();
  if (dir === undefined) return;
  mkdirSync(dir, { recursive: true });
  const file = fileName(dir, what.replace(/[^\w.-]+/g, "_"));
  for (const stream of streams)
    stream?.on("data", (chunk: Buffer | string) => {
      appendFileSync(file, chunk);
    });
}

/** A secret found in a log: the file, the line, and what kind of secret (never the secret). */
export interface Finding {
  readonly file: string;
  readonly line: number;
  readonly kind: "API key secret" | "configured secret" | "sealed argument";
}

/** Every secret in `text`: API key secrets by shape, `secrets` and `SEALED_ARGUMENT` verbatim. */
export function findSecrets(file: string, text: string, secrets: readonly string[]): Finding[] {
  const found: Finding[] = [];
  text.split("\n").forEach((line, i) => {
    const at = { file, line: i + 1 };
    if (API_KEY_SECRET.test(line)) found.push({ ...at, kind: "API key secret" });
    if (line.includes(SEALED_ARGUMENT)) found.push({ ...at, kind: "sealed argument" });
    if (secrets.some((s) => line.includes(s))) found.push({ ...at, kind: "configured secret" });
  });
  return found;
}

/** Scans every log of the run's folder for the secrets noted there. */
export function scanSuiteLogs(dir: string): { files: number; findings: Finding[] } {
  const names = readdirSync(dir);
  const secrets = [
    ...new Set(
      names
        .filter((n) => n.startsWith("secrets-"))
        .flatMap((n) => readFileSync(join(dir, n), "utf8").split("\n"))
        .filter((s) => s.length >= MIN_SECRET_LENGTH),
    ),
  ];
  const logs = names.filter((n) => n.endsWith(".log"));
  const findings = logs.flatMap((n) => findSecrets(n, readFileSync(join(dir, n), "utf8"), secrets));
  return { files: logs.length, findings };
}
