import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { repoRoot, triggersFile } from "../support/paths.js";

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), "metronome-conformance-"));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

async function conformance(file: string): Promise<{ code: number; lines: string[] }> {
  try {
    const { stdout } = await run("npm", ["run", "-s", "conformance", "--", file], {
      cwd: repoRoot,
    });
    return { code: 0, lines: stdout.trim().split("\n") };
  } catch (err) {
    const e = err as { code: number; stdout: string };
    return { code: e.code, lines: e.stdout.trim().split("\n") };
  }
}

describe("npm run -s conformance -- FILE", () => {
  it("passes every case of test/conformance/triggers.json and ends with the count line", async () => {
    const { code, lines } = await conformance(triggersFile);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^(\d+) passed, 0 failed$/);
    expect(code).toBe(0);
  });

  it("prints one line per failing case (id, expected, got) and exits non-zero", async () => {
    const file = join(dir, "cases.json");
    const trigger = { type: "crontab", expression: "0 9 * * *", timezone: "UTC" };
    writeFileSync(
      file,
      JSON.stringify({
        format: 1,
        cases: [
          {
            id: "ok-1",
            trigger,
            after: "2026-01-01T00:00:00Z",
            count: 1,
            expect: ["2026-01-01T09:00:00Z"],
          },
          // The same instant written with another offset still passes: instants are compared.
          {
            id: "ok-2",
            trigger,
            after: "2026-01-01T00:00:00Z",
            count: 1,
            expect: ["2026-01-01T10:00:00+01:00"],
          },
          {
            id: "wrong-1",
            trigger,
            after: "2026-01-01T00:00:00Z",
            count: 1,
            expect: ["2026-01-01T10:00:00Z"],
          },
          {
            id: "invalid-1",
            trigger: { type: "crontab", expression: "0 25 * * *", timezone: "UTC" },
            after: "2026-01-01T00:00:00Z",
            count: 1,
            expect: [],
          },
        ],
      }),
    );
    const { code, lines } = await conformance(file);
    expect(code).not.toBe(0);
    expect(lines).toEqual([
      'wrong-1: expected ["2026-01-01T10:00:00Z"] got ["2026-01-01T09:00:00Z"]',
      'invalid-1: expected [] got error: crontab.expression: hour field "25": 25 is out of range 0-23',
      "2 passed, 2 failed",
    ]);
  });
});
