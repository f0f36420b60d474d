/**
 * One store test suite, run against every store (SQLite and MySQL): the scheduler semantics the
 * rest of the server relies on.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Job, Scheduler } from "../../server/src/domain/jobs.js";
import type { Store } from "../../server/src/store/port.js";

export function scheduler(name: string, overrides: Partial<Scheduler> = {}): Scheduler {
  return {
    name,
    timezone: "UTC",
    defaults: { coalesce: true, maxInstances: 1, misfireGraceTimeMs: 60_000 },
    paused: false,
    createdAt: 1_000,
    updatedAt: 1_000,
    version: 1,
    ...overrides,
  };
}

export function job(id: string, overrides: Partial<Job> = {}): Job {
  return {
    scheduler: "default",
    id,
    name: `job ${id}`,
    handler: "reports.daily",
    trigger: { type: "crontab", expression: "0 2 * * *", timezone: "UTC" },
    args: ["user123", 1, true, null, { nested: [1.5] }],
    kwargs: { action: "sync", "unicode ✓": "数据同步" },
    coalesce: true,
    maxInstances: 1,
    misfireGraceTimeMs: 60_000,
    timeoutMs: null,
    retry: null,
    paused: false,
    nextRunTime: 5_000,
    createdAt: 1_000,
    updatedAt: 1_000,
    version: 1,
    ...overrides,
  };
}

export function storeSuite(
  name: string,
  open: () => Promise<{ store: Store; cleanup: () => Promise<void> }>,
): void {
  describe(`${name} store`, () => {
    let store: Store;
    let cleanup: () => Promise<void>;

    beforeAll(async () => {
      ({ store, cleanup } = await open());
      await store.migrate();
      await store.migrate(); // idempotent
    });
    afterAll(async () => {
      await store.close();
      await cleanup();
    });

    it("answers ping", async () => {
      await expect(store.ping()).resolves.toBeUndefined();
    });

    it("inserts schedulers once and updates them under a lock", async () => {
      expect(await store.getScheduler("s1")).toBeNull();
      expect(await store.insertScheduler(scheduler("s1"))).toBe(true);
      expect(await store.insertScheduler(scheduler("s1"))).toBe(false);
      const paused = scheduler("s1", {
        paused: true,
        version: 2,
        timezone: "Asia/Shanghai",
        defaults: { coalesce: false, maxInstances: 3, misfireGraceTimeMs: null },
      });
      expect(await store.updateScheduler("s1", () => paused)).toEqual(paused);
      expect(await store.getScheduler("s1")).toEqual(paused);
      expect(await store.updateScheduler("nobody", () => paused)).toBeNull();
      expect(await store.insertScheduler(scheduler("a0"))).toBe(true);
      expect((await store.listSchedulers()).map((s) => s.name)).toEqual(["a0", "s1"]);
    });

    it("round-trips a job exactly, and refuses a duplicate id", async () => {
      const j = job("j1", {
        retry: { maxAttempts: 3, initialBackoffMs: 1000, maxBackoffMs: 60_000, multiplier: 2 },
        timeoutMs: 300_000,
        misfireGraceTimeMs: null,
      });
      expect(await store.insertJob(j)).toBe(true);
      expect(await store.insertJob(job("j1", { name: "other" }))).toBe(false);
      expect(await store.getJob("default", "j1")).toEqual(j);
      expect(await store.getJob("other", "j1")).toBeNull();
      // Ids are case-sensitive (a binary collation on MySQL).
      expect(await store.insertJob(job("J1"))).toBe(true);
      expect((await store.getJob("default", "J1"))?.id).toBe("J1");
      // The same id in another scheduler is another job.
      expect(await store.insertJob(job("j1", { scheduler: "other" }))).toBe(true);
    });

    it("concurrent inserts and reads: each row once, duplicates refused, misses null", async () => {
      // Issued together, these go out in shared statements on MySQL (store/batcher.ts): a
      // duplicate in a batch must not lose the other rows, and each caller gets its own answer.
      expect(await store.insertJob(job("b-existing"))).toBe(true);
      const ids = Array.from({ length: 60 }, (_, i) => `b-${String(i)}`);
      const inserted = await Promise.all([
        ...ids.map((id) => store.insertJob(job(id, { name: `name ${id}` }))),
        store.insertJob(job("b-existing", { name: "second" })),
        store.insertJob(job("b-7", { name: "twin" })),
      ]);
      expect(inserted.slice(0, 60).every((x) => x)).toBe(true);
      expect(inserted.slice(60)).toEqual([false, false]);
      const read = await Promise.all([
        ...ids.map((id) => store.getJob("default", id)),
        store.getJob("default", "b-missing"),
        store.getJob("other", "b-3"),
        store.getJob("default", "B-3"),
      ]);
      expect(read.slice(0, 60).map((j) => j?.name)).toEqual(ids.map((id) => `name ${id}`));
      expect(read.slice(60)).toEqual([null, null, null]);
      expect((await store.getJob("default", "b-existing"))?.name).toBe(job("b-existing").name);
    });

    it("updates a job under a lock: concurrent changes all apply, none is lost", async () => {
      await store.insertJob(job("locked"));
      const bump = (j: Job): Job => ({
        ...j,
        version: j.version + 1,
        args: [...j.args, j.version],
      });
      await Promise.all(
        Array.from({ length: 20 }, () => store.updateJob("default", "locked", bump)),
      );
      const after = await store.getJob("default", "locked");
      expect(after?.version).toBe(21);
      expect(after?.args.slice(5)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
      expect(await store.updateJob("default", "missing", bump)).toBeNull();
    });

    it("rolls back when the change throws, and hands back the current row", async () => {
      await store.insertJob(job("same"));
      const before = await store.getJob("default", "same");
      expect(await store.updateJob("default", "same", (j) => j)).toEqual(before);
      // The change writes a new version, then fails: nothing of it may stay.
      await expect(
        store.updateJob("default", "same", (j) => {
          if (j.version === 1) throw new Error("abort");
          return { ...j, version: j.version + 1 };
        }),
      ).rejects.toThrow("abort");
      expect(await store.getJob("default", "same")).toEqual(before);
    });

    it("lists with filters, both orders, and keyset pages", async () => {
      const s = "listing";
      const ids = ["b", "a", "d", "c", "e"];
      for (const [i, id] of ids.entries()) {
        await store.insertJob(
          job(id, {
            scheduler: s,
            name: i % 2 ? `nightly ${id}` : `hourly ${id}`,
            handler: i < 2 ? "h.one" : "h.two",
            nextRunTime: i === 4 ? null : 10_000 - i,
            paused: i === 4,
          }),
        );
      }
      const all = async (orderBy: "id" | "next_run_time", pageSize: number, extra: object = {}) => {
        const out: string[] = [];
        let pageToken = "";
        for (;;) {
          const p = await store.listJobs({ scheduler: s, orderBy, pageSize, pageToken, ...extra });
          out.push(...p.items.map((x) => x.id));
          if (!p.nextPageToken) return out;
          pageToken = p.nextPageToken;
        }
      };
      expect(await all("id", 2)).toEqual(["a", "b", "c", "d", "e"]);
      // next_run_time ascending, jobs without one (paused) last
      expect(await all("next_run_time", 2)).toEqual(["c", "d", "a", "b", "e"]);
      expect(await all("next_run_time", 10)).toEqual(["c", "d", "a", "b", "e"]);
      expect(await all("id", 10, { handler: "h.one" })).toEqual(["a", "b"]);
      expect(await all("id", 10, { paused: true })).toEqual(["e"]);
      expect(await all("id", 10, { paused: false })).toEqual(["a", "b", "c", "d"]);
      expect(await all("id", 10, { namePrefix: "nightly" })).toEqual(["a", "c"]);
      expect(await all("id", 10, { idPrefix: "d" })).toEqual(["d"]);
      // prefixes are case-sensitive, like the identifiers
      expect(await all("id", 10, { namePrefix: "Nightly" })).toEqual([]);
      // LIKE wildcards in a prefix are literal
      expect(await all("id", 10, { namePrefix: "%" })).toEqual([]);
    });

    it("deletes one job or all of a scheduler's", async () => {
      await store.insertJob(job("x1", { scheduler: "gone" }));
      await store.insertJob(job("x2", { scheduler: "gone" }));
      await store.insertJob(job("x1", { scheduler: "kept" }));
      expect(await store.deleteJob("gone", "x1")).toBe(true);
      expect(await store.deleteJob("gone", "x1")).toBe(false);
      expect(await store.deleteAllJobs("gone")).toBe(1);
      expect(await store.getJob("kept", "x1")).not.toBeNull();
    });
  });
}
