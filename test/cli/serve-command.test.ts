/** `metronome serve` as a process: start-up errors name the key; SIGTERM stops it cleanly. */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { repoRoot } from "../support/paths.js";
import { startServerProcess } from "../support/processes.js";

const dir = mkdtempSync(join(tmpdir(), "metronome-serve-"));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function metronome(args: string[], env: Record<string, string> = {}) {
  return spawn(process.execPath, ["--import", "tsx", "server/src/cli.ts", ...args], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
}

function finish(
  child: ReturnType<typeof metronome>,
): Promise<{ code: number | null; stderr: string; stdout: string }> {
  let stderr = "";
  let stdout = "";
  child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
  child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
  return new Promise((resolve) =>
    child.on("close", (code) => {
      resolve({ code, stderr, stdout });
    }),
  );
}

const VERSION = (
  JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as { version: string }
).version;

describe("metronome --version", () => {
  it.each(["--version", "-v"])("%s prints the package's version", async (flag) => {
    expect(await finish(metronome([flag]))).toEqual({
      code: 0,
      stdout: `${VERSION}\n`,
      stderr: "",
    });
  });
});

describe("metronome serve", () => {
  it.each([
    // A value from a flag is reported naming the flag; one from the environment, the key.
    [
      ["--store", "postgresql://u@h"],
      {},
      "\n--store: expected postgresql://user:password@host[:port]/database",
    ],
    [
      ["--store", "redis://localhost:6379/first"],
      {},
      "\n--store: expected redis://[user:password@]host[:port][/db]",
    ],
    [
      [],
      { SCHEDULER__MAX_INSTANCES: "zero" },
      'SCHEDULER__MAX_INSTANCES: expected a whole number from 1 to 10000, got "zero"',
    ],
    [[], { SCHEDULER__TIMEZONE: "Mars/Olympus" }, "SCHEDULER__TIMEZONE"],
    [["--port", "99999"], {}, '\n--port: expected a whole number from 0 to 65535, got "99999"'],
  ])("refuses to start with %j %j", async (args, env, message) => {
    const { code, stderr } = await finish(metronome(["serve", ...args], env));
    expect(code).toBe(1);
    expect(stderr).toContain(message);
  });

  it("names --port for a bad --port, and METRONOME_PORT for a bad METRONOME_PORT", async () => {
    const expected = 'expected a whole number from 0 to 65535, got "abc"';
    const flag = await finish(metronome(["serve", "--port", "abc"], { METRONOME_PORT: "8080" }));
    expect(flag).toMatchObject({ code: 1, stdout: "" });
    expect(flag.stderr).toBe(`metronome: invalid configuration\n--port: ${expected}\n`);
    const env = await finish(metronome(["serve"], { METRONOME_PORT: "abc" }));
    expect(env).toMatchObject({ code: 1, stdout: "" });
    expect(env.stderr).toBe(`metronome: invalid configuration\nMETRONOME_PORT: ${expected}\n`);
  });

  it("serves until SIGTERM, then stops cleanly", async () => {
    const server = await startServerProcess("sigterm", `sqlite:///${join(dir, "m.db")}`);
    expect(await server.stop()).toEqual({ code: 0, signal: null });
    const entries = server
      .output()
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line) as { msg: string; version?: string });
    // The start-up line says which version runs.
    expect(entries.find((e) => e.msg === "metronome listening")?.version).toBe(VERSION);
    const messages = entries.map((e) => e.msg);
    expect(messages).toEqual(
      expect.arrayContaining(["metronome listening", "shutting down", "metronome stopped"]),
    );
  });
});
