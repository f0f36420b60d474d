/**
 * The production path runs compiled JavaScript (as the Docker image does): `npm run build`, then
 * `node server/dist/cli.js`, with no TypeScript loader in the process. It prints its version,
 * serves, answers its probes and stops cleanly on SIGINT.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cleanEnv, startLogged } from "../support/logged-process.js";
import { repoRoot } from "../support/paths.js";

const run = promisify(execFile);
const CLI = "server/dist/cli.js";
const VERSION = (
  JSON.parse(readFileSync(join(repoRoot, "server", "package.json"), "utf8")) as { version: string }
).version;
const dir = mkdtempSync(join(tmpdir(), "metronome-dist-"));

describe("the compiled build", () => {
  beforeAll(async () => {
    await run("npm", ["run", "-s", "build"], { cwd: repoRoot });
  }, 300_000);
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it("prints its version", async () => {
    const { stdout } = await run(process.execPath, [CLI, "--version"], { cwd: repoRoot });
    expect(stdout).toBe(`${VERSION}\n`);
  });

  it("serves, answers /readyz and stops on SIGINT with exit code 0", async () => {
    const p = startLogged(
      process.execPath,
      [CLI, "serve"],
      cleanEnv({
        METRONOME_HOST: "127.0.0.1",
        METRONOME_PORT: "0",
        SCHEDULER__JOBSTORE_URL: `sqlite:///${join(dir, "m.db")}`,
      }),
    );
    try {
      const line = await p.waitFor((e) => e.msg === "metronome listening");
      expect(line.version).toBe(VERSION);
      const { port } = line.address as { port: number };
      const res = await fetch(`http://127.0.0.1:${String(port)}/readyz`);
      expect(res.status).toBe(200);
      process.kill(-p.pgid, "SIGINT");
      expect(await p.exited, p.output()).toEqual({ code: 0, signal: null });
    } finally {
      p.killGroup();
    }
  }, 60_000);
});
