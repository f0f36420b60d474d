/**
 * A node whose SQLite file's disk is full answers its calls UNAVAILABLE (SQLITE_FULL, or an I/O
 * error, through storeError in server/src/store/sqlite/runner.ts), not INTERNAL, and goes on once
 * there is room again. The disk is a small tmpfs mounted for the file; where mounting is not
 * permitted (not root, no CAP_SYS_ADMIN) the suite is skipped and says so.
 */
import { execFileSync } from "node:child_process";
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startInProcessNode, type InProcessNode } from "../support/in-process.js";

const SIZE = "1m";

function mount(dir: string): void {
  execFileSync("mount", ["-t", "tmpfs", "-o", `size=${SIZE}`, "tmpfs", dir], { stdio: "ignore" });
}

function unmount(dir: string): void {
  execFileSync("umount", [dir], { stdio: "ignore" });
}

/** Whether this process may mount a tmpfs (tried on a folder of its own, then undone). */
function mayMount(): boolean {
  const probe = mkdtempSync(join(tmpdir(), "metronome-mount-probe-"));
  try {
    mount(probe);
    unmount(probe);
    return true;
  } catch {
    return false;
  } finally {
    rmSync(probe, { recursive: true, force: true });
  }
}

/** Writes `file` until the disk is full. */
function fill(file: string): void {
  const fd = openSync(file, "w");
  const chunk = Buffer.alloc(4096, 1);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOSPC") throw err;
  } finally {
    closeSync(fd);
  }
}

const permitted = mayMount();

describe(
  "SQLite on a full disk",
  permitted
    ? {}
    : {
        skip: true,
        meta: { skippedBecause: `needs to mount a ${SIZE} tmpfs (run as root)` },
      },
  () => {
    let dir = "";
    let mounted = false;
    let node: InProcessNode | undefined;

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), "metronome-sqlite-full-"));
      mount(dir);
      mounted = true;
      node = await startInProcessNode({
        env: { SCHEDULER__JOBSTORE_URL: `sqlite:///${join(dir, "metronome.db")}` },
      });
    }, 30_000);

    afterAll(async () => {
      await node?.stop();
      if (mounted) unmount(dir);
      rmSync(dir, { recursive: true, force: true });
    }, 30_000);

    it("answers UNAVAILABLE while the disk is full, and takes the call once there is room", async () => {
      const n = node as InProcessNode;
      const add = (id: string) =>
        n.postJson("/metronome.v1.JobService/AddJob", {
          job: {
            id,
            handler: "reports.daily",
            trigger: { interval: { seconds: 60 } },
            kwargs: { text: "x".repeat(20_000) },
          },
        });
      expect((await add("before")).status).toBe(200);
      const filler = join(dir, "filler");
      fill(filler);
      // The first writes may still fit in pages the database or its WAL already has.
      let reply = await add("full-0");
      for (let i = 1; reply.status === 200 && i < 100; i++) reply = await add(`full-${String(i)}`);
      expect(reply.body.code).toBe("unavailable");
      expect(reply.status).toBe(503);

      rmSync(filler);
      expect((await add("after")).status).toBe(200);
    }, 60_000);
  },
);
