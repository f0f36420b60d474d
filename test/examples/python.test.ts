/**
 * The polyglot proof: examples/python/metronome_example.py, with Debian's python3-grpcio and
 * nothing generated in the repository (its message classes come from a descriptor set that buf
 * compiles from proto/ here), adds a job, executes it as a worker and reads its events, against
 * a real node on the embedded SQLite store. Without Python's grpc module the suite is skipped
 * with a line saying what it needs, except under CI=true (.ci/run installs python3-grpcio and
 * python3-grpc-tools).
 */
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestNode, type TestNode } from "../support/node.js";
import { repoRoot } from "../support/paths.js";
import { describeIf, requireUnderCi, type Requirement } from "../support/requirements.js";
import { createSqliteStore, type TestStore } from "../support/stores.js";

/** Debian's interpreter, where apt puts python3-grpcio (a pyenv python3 may shadow it). */
const PYTHON = ["/usr/bin/python3", "python3"].find(
  (p) => spawnSync(p, ["-c", "import grpc, google.protobuf"]).status === 0,
);
const PYTHON_GRPC: Requirement = {
  met: PYTHON !== undefined,
  needs:
    "needs Python 3 with the grpc module at /usr/bin/python3 (Debian: " +
    "apt-get install python3-grpcio python3-grpc-tools)",
};
requireUnderCi(PYTHON_GRPC);

describeIf(PYTHON_GRPC, "the Python example", () => {
  describe("against a node on the embedded SQLite store", () => {
    let db: TestStore;
    let node: TestNode;
    let dir: string;

    beforeAll(async () => {
      db = await createSqliteStore("metronome-py");
      node = await startTestNode(db.url);
      dir = mkdtempSync(join(tmpdir(), "metronome-py-"));
      execFileSync(
        join(repoRoot, "node_modules", ".bin", "buf"),
        ["build", "proto", "--as-file-descriptor-set", "-o", join(dir, "metronome.binpb")],
        { cwd: repoRoot },
      );
    });
    afterAll(async () => {
      rmSync(dir, { recursive: true, force: true });
      await node.stop();
      await db.drop();
    });

    it("adds a job, runs it as a worker and reads its events", async () => {
      // Not spawnSync: the server answering it runs in this process.
      const child = spawn(PYTHON ?? "python3", [
        join(repoRoot, "examples", "python", "metronome_example.py"),
        `127.0.0.1:${String(node.port)}`,
        join(dir, "metronome.binpb"),
      ]);
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
      child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
      const [status] = (await once(child, "exit")) as [number | null];
      expect(stderr).toBe("");
      expect(status).toBe(0);
      const out = JSON.parse(stdout) as Record<string, unknown>;
      expect(out).toMatchObject({
        ok: true,
        job: "python-job",
        events: ["EVENT_TYPE_JOB_AT_RISK", "EVENT_TYPE_JOB_SUBMITTED", "EVENT_TYPE_JOB_EXECUTED"],
        result: { echo: ["hello", 21, 2 ** 40], kwargs: { from: "python", count: 3 } },
      });
      // Integers came back as integers (Python prints a float as 21.0).
      expect(stdout).toContain('"echo": ["hello", 21, 1099511627776]');
    });
  });
});
