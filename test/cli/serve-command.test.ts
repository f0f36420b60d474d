/** `metronome serve` as a process: start-up errors name the key; SIGTERM stops it cleanly. */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterAll, describe, expect, it } from "vitest";
import { repoRoot } from "../support/paths.js";

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
): Promise<{ code: number | null; stderr: string }> {
  let stderr = "";
  child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve) =>
    child.on("exit", (code) => {
      resolve({ code, stderr });
    }),
  );
}

describe("metronome serve", () => {
  it.each([
    [
      ["--store", "postgresql://u@h/db"],
      {},
      "SCHEDULER__JOBSTORE_URL: PostgreSQL job stores are not supported yet",
    ],
    [
      ["--store", "redis://localhost:6379/0"],
      {},
      "SCHEDULER__JOBSTORE_URL: Redis job stores are not supported yet",
    ],
    [
      [],
      { SCHEDULER__MAX_INSTANCES: "zero" },
      'SCHEDULER__MAX_INSTANCES: expected a whole number >= 1, got "zero"',
    ],
    [[], { SCHEDULER__TIMEZONE: "Mars/Olympus" }, "SCHEDULER__TIMEZONE"],
    [["--port", "99999"], {}, "METRONOME_PORT"],
  ])("refuses to start with %j %j", async (args, env, message) => {
    const { code, stderr } = await finish(metronome(["serve", ...args], env));
    expect(code).toBe(1);
    expect(stderr).toContain(message);
  });

  it("serves until SIGTERM, then stops cleanly", async () => {
    const child = metronome([
      "serve",
      "--port",
      "0",
      "--host",
      "127.0.0.1",
      "--store",
      `sqlite:///${join(dir, "m.db")}`,
      "--log-level",
      "info",
    ]);
    const done = finish(child);
    const lines = createInterface({ input: child.stdout });
    const messages: string[] = [];
    for await (const line of lines) {
      const entry = JSON.parse(line) as { msg: string };
      messages.push(entry.msg);
      if (entry.msg === "metronome listening") child.kill("SIGTERM");
      if (entry.msg === "metronome stopped") break;
    }
    const { code } = await done;
    expect(code).toBe(0);
    expect(messages).toEqual(
      expect.arrayContaining(["metronome listening", "shutting down", "metronome stopped"]),
    );
  });
});
