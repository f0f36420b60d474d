/**
 * ListJobs on Redis reads a page, not every job: it read each scheduler's whole `{sched:S}:jobs`
 * and sorted it for every page (300,020 jobs: 1.2 s and 143 MB of heap for a page of 10). Now a
 * page of 10 of 20,000 jobs reads a few dozen index entries and jobs in either order; every
 * page of listings with each filter, across schedulers and among many jobs of one next run time,
 * is the reference's (the order and tokens of store/paging.ts); the index by id
 * (`{sched:S}:job-ids`) follows every job in and out, and a store written before it is listed as
 * before until migrate() builds it.
 */
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Job } from "../../server/src/domain/jobs.js";
import { comparePositions, encodePageToken, jobPosition } from "../../server/src/store/paging.js";
import type { ListJobsQuery, Page } from "../../server/src/store/port.js";
import { type Query, reference, referencePages, walk } from "../support/job-listing.js";
import { Db } from "../../server/src/store/redis/db.js";
import { indexJobIds } from "../../server/src/store/redis/job-ids.js";
import { listJobs } from "../../server/src/store/redis/list-jobs.js";
import { RedisStore } from "../../server/src/store/redis/store.js";
import { job, T0, S } from "./contract/fixtures.js";
import { createRedisStore, describeRedis, REDIS_URL } from "../support/redis.js";

/** Jobs added through the store, many at a time (its inserts go by 500 per script). */
async function insertAll(store: RedisStore, jobs: readonly Job[]): Promise<void> {
  for (let i = 0; i < jobs.length; i += 5000) {
    const inserted = await Promise.all(jobs.slice(i, i + 5000).map((j) => store.insertJob(j)));
    expect(inserted.every(Boolean)).toBe(true);
  }
}

/** The elements of a reply: an array's, nested ones included; anything else is one. */
function sizeOf(reply: unknown): number {
  if (!Array.isArray(reply)) return 1;
  return reply.reduce((n: number, r) => n + sizeOf(r), 0);
}

describeRedis("ListJobs on Redis", () => {
  let raw: Redis;
  const opened: { store: RedisStore; drop: () => Promise<void> }[] = [];

  beforeAll(() => {
    raw = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
    raw.on("error", () => undefined);
  });

  afterAll(async () => {
    raw.disconnect();
    for (const o of opened) {
      await o.store.close();
      await o.drop();
    }
  });

  /** A store of its own (listings across schedulers meet every scheduler of the store). */
  async function fresh(name: string): Promise<{ store: RedisStore; prefix: string }> {
    const db = await createRedisStore(`metronome_${name}`);
    const store = RedisStore.open(db.url);
    opened.push({ store, drop: db.drop });
    await store.migrate();
    return { store, prefix: db.name };
  }

  describe("a page of 10 among 20,000 jobs", () => {
    let store: RedisStore;
    let prefix: string;
    let all: Job[];
    let counting: Redis;
    let db: Db;
    /** The replies Redis gave while listing: HGETALLs (jobs read), and the other replies' elements. */
    const read = { jobs: 0, entries: 0 };

    beforeAll(async () => {
      ({ store, prefix } = await fresh("listing_big"));
      all = [];
      for (let i = 0; i < 20_000; i++) {
        const s = i % 10 === 0 ? "big-other" : "big";
        const paused = i % 4 === 0; // 5,000 jobs without a next run time: one score
        all.push(
          job(`job-${String(i).padStart(5, "0")}`, {
            scheduler: s,
            handler: i % 1000 === 7 ? "h.rare" : "h.common",
            paused,
            nextRunTime: paused ? null : T0 + (i % 3000) * S,
          }),
        );
      }
      await insertAll(store, all);
      // A connection of its own whose replies are counted as they arrive.
      counting = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
      counting.on("error", () => undefined);
      const send = counting.sendCommand.bind(counting);
      counting.sendCommand = (...args: Parameters<Redis["sendCommand"]>) => {
        const [command] = args;
        command.promise.then(
          (reply: unknown) => {
            if (command.name === "hgetall") read.jobs++;
            else read.entries += sizeOf(reply);
          },
          () => undefined,
        );
        return send(...args);
      };
      db = new Db(counting, prefix);
    }, 120_000);

    afterAll(() => {
      counting.disconnect();
    });

    async function measured(
      q: ListJobsQuery,
    ): Promise<{ page: Page<Job>; jobs: number; entries: number }> {
      read.jobs = 0;
      read.entries = 0;
      const page = await listJobs(db, q);
      // Replies resolve before the listing goes on; the counts are complete here.
      return { page, jobs: read.jobs, entries: read.entries };
    }

    const cases: { name: string; q: () => Query }[] = [
      { name: "by id", q: () => ({ scheduler: "big", orderBy: "id", pageSize: 10 }) },
      {
        name: "by next run time",
        q: () => ({ scheduler: "big", orderBy: "next_run_time", pageSize: 10 }),
      },
      { name: "by id, all schedulers", q: () => ({ orderBy: "id", pageSize: 10 }) },
      {
        name: "by next run time, all schedulers",
        q: () => ({ orderBy: "next_run_time", pageSize: 10 }),
      },
    ];

    for (const c of cases) {
      // A page inside the 5,000 jobs of one next run time (paused: none) in that order.
      for (const where of ["the first page", "a page after a paused job", "a page mid-way"]) {
        it(`${c.name}: ${where} reads a bounded number of entries and jobs`, async () => {
          const q = c.q();
          const expected = reference(all, q);
          const at =
            where === "the first page"
              ? -1
              : where === "a page mid-way"
                ? 9_000
                : expected.findIndex((j) => j.paused) + 2_000;
          const pageToken =
            at < 0 ? "" : encodePageToken(jobPosition(q.orderBy, expected[at] as Job));
          const { page, jobs, entries } = await measured({ ...q, pageToken });
          expect(page.items.map((j) => j.id)).toEqual(
            expected.slice(at + 1, at + 11).map((j) => j.id),
          );
          expect(page.nextPageToken).toBe(
            encodePageToken(jobPosition(q.orderBy, expected[at + 10] as Job)),
          );
          // The page and one more, in parts of at least 10 per scheduler, each next part of a
          // scheduler twice its last: at most 40 jobs of two schedulers (10 + 10 + 20), and
          // their index entries (twice as many elements with scores). The whole index is 20,000.
          expect(jobs).toBeGreaterThanOrEqual(11);
          expect(jobs).toBeLessThanOrEqual(40);
          expect(entries).toBeLessThanOrEqual(2 * 40 + 3);
        });
      }
    }

    for (const c of [
      { orderBy: "next_run_time", pageSize: 10, paused: true },
      { orderBy: "id", pageSize: 2, handler: "h.rare" },
    ] as const) {
      it(`a filter (${JSON.stringify(c)}) reads the jobs it passes by, not every job`, async () => {
        const q: Query = { scheduler: "big", ...c };
        const expected = reference(all, q);
        const { page, jobs } = await measured({ ...q, pageToken: "" });
        expect(page.items.map((j) => j.id)).toEqual(expected.slice(0, q.pageSize).map((j) => j.id));
        // Every job up to the one after the page is read, and at most one part (1,000) more.
        const unfiltered = reference(all, { scheduler: "big", orderBy: q.orderBy, pageSize: 1 });
        const through = unfiltered.findIndex((j) => j.id === expected[q.pageSize]?.id) + 1;
        expect(through).toBeGreaterThan(1000);
        expect(jobs).toBeGreaterThanOrEqual(through);
        expect(jobs).toBeLessThanOrEqual(through + 1000);
        expect(jobs).toBeLessThan(unfiltered.length);
      });
    }
  });

  describe("pages", () => {
    let store: RedisStore;
    let all: Job[];
    const schedulers = ["eq-a", "eq-b", "eq-c"];
    /** The next run time that many jobs of each scheduler share. */
    const SHARED = T0 + 500 * S;

    beforeAll(async () => {
      ({ store } = await fresh("listing_pages"));
      // Ids with every kind of character an id may have (in byte order - . 0-9 : A-Z _ a-z),
      // which Redis orders by their bytes and the listing's positions as strings.
      const stems = ["job-", "Job.", "a_", "z:", "0", "B-", "b.", "_x", "-y", ".z", "job_"];
      all = [];
      let n = 0;
      for (const s of schedulers) {
        for (let i = 0; i < 330; i++) {
          const stem = stems[(i * 7) % stems.length] as string;
          const id = `${stem}${String((i * 37) % 1000)}${i % 5 === 0 ? "" : `-${String(i)}`}`;
          const paused = i % 6 === 1; // without a next run time: one score, 55 per scheduler
          // A third share one time (110 per scheduler, across schedulers too), the others have
          // one of 40 times (ties again).
          const nextRunTime = paused ? null : i % 3 === 0 ? SHARED : T0 + ((i * 13) % 40) * S;
          all.push(
            job(id, {
              scheduler: s,
              handler: ["h.one", "h.two", "h.three"][i % 3] as string,
              name: `${["nightly", "hourly", "Nightly"][(i + n) % 3] as string} ${id}`,
              paused,
              nextRunTime,
            }),
          );
        }
        n++;
      }
      await insertAll(store, all);
    }, 60_000);

    const filters: Partial<Query>[] = [
      {},
      { handler: "h.two" },
      { paused: true },
      { paused: false },
      { namePrefix: "nightly" },
      { idPrefix: "job" },
      { idPrefix: "job-" },
      { idPrefix: "a_", handler: "h.one" },
      { idPrefix: "0", paused: false, namePrefix: "hourly" },
      { idPrefix: "nothing" },
    ];

    for (const orderBy of ["id", "next_run_time"] as const) {
      for (const scheduler of [undefined, "eq-b"]) {
        it(`${orderBy}, ${scheduler ?? "all schedulers"}: every page with each filter is the reference's`, async () => {
          for (const f of filters) {
            for (const pageSize of [7, 100]) {
              const q: Query = { orderBy, pageSize, ...(scheduler ? { scheduler } : {}), ...f };
              const pages = await walk((x) => store.listJobs(x), q);
              expect(pages, JSON.stringify(q)).toEqual(referencePages(reference(all, q), q));
            }
          }
        });
      }
    }

    it("pages of one job walk through a block of jobs of one next run time", async () => {
      const q: Query = { scheduler: "eq-c", orderBy: "next_run_time", pageSize: 1, paused: false };
      const pages = await walk((x) => store.listJobs(x), q);
      expect(pages).toEqual(referencePages(reference(all, q), q));
      expect(reference(all, q).filter((j) => j.nextRunTime === SHARED).length).toBeGreaterThan(100);
    });

    it("a page resumes after its token's position when that job is gone or moved", async () => {
      const later = (j: Job): Job => ({ ...j, nextRunTime: T0 + 900 * S });
      for (const change of ["gone", "moved"] as const) {
        for (const orderBy of ["id", "next_run_time"] as const) {
          for (const scheduler of [undefined, "eq-b"]) {
            const q: Query = { orderBy, pageSize: 25, ...(scheduler ? { scheduler } : {}) };
            const shared = reference(all, q).filter(
              (j) => j.scheduler === "eq-b" && j.nextRunTime === SHARED,
            );
            const token = shared[40] as Job;
            const at = jobPosition(orderBy, token);
            const now = all.flatMap((j) =>
              j !== token ? [j] : change === "gone" ? [] : [later(j)],
            );
            if (change === "gone") await store.deleteJob(token.scheduler, token.id);
            else await store.updateJob(token.scheduler, token.id, later);
            try {
              const rest = reference(now, q).filter(
                (j) => comparePositions(jobPosition(orderBy, j), at) > 0,
              );
              const page = await store.listJobs({ ...q, pageToken: encodePageToken(at) });
              expect(page.items.map((j) => `${j.scheduler}/${j.id}`)).toEqual(
                rest.slice(0, 25).map((j) => `${j.scheduler}/${j.id}`),
              );
            } finally {
              if (change === "gone") await store.insertJob(token);
              else
                await store.updateJob(token.scheduler, token.id, (j) => ({
                  ...j,
                  nextRunTime: SHARED,
                }));
            }
          }
        }
      }
      // A token of no job at all (an id between two of the shared time's) resumes after it too.
      const q: Query = { scheduler: "eq-a", orderBy: "next_run_time", pageSize: 30 };
      const at = [SHARED, "eq-a", "job-5"];
      const page = await store.listJobs({ ...q, pageToken: encodePageToken(at) });
      const rest = reference(all, q).filter(
        (j) => comparePositions(jobPosition(q.orderBy, j), at) > 0,
      );
      expect(page.items.map((j) => j.id)).toEqual(rest.slice(0, 30).map((j) => j.id));
    });
  });

  describe("the index by id", () => {
    it("follows every job in and out: added, changed, removed, all removed", async () => {
      const { store, prefix } = await fresh("listing_index");
      const ids = (s: string) => raw.zrange(`${prefix}{sched:${s}}:job-ids`, 0, -1);
      const jobs = (s: string) => raw.zrange(`${prefix}{sched:${s}}:jobs`, 0, -1);
      const added = ["b", "a", "c:1", "C", "d.2"].map((id) => job(id, { scheduler: "ix" }));
      await insertAll(store, added);
      await store.insertJob(job("alone", { scheduler: "ix" }));
      expect(await ids("ix")).toEqual(["C", "a", "alone", "b", "c:1", "d.2"]);
      expect((await raw.zscore(`${prefix}{sched:ix}:job-ids`, "a")) ?? "").toBe("0");
      await store.updateJob("ix", "a", (j) => ({ ...j, paused: true, nextRunTime: null }));
      expect(await ids("ix")).toEqual(["C", "a", "alone", "b", "c:1", "d.2"]);
      expect(await store.deleteJob("ix", "b")).toBe(true);
      expect(await ids("ix")).toEqual(["C", "a", "alone", "c:1", "d.2"]);
      expect((await ids("ix")).sort()).toEqual((await jobs("ix")).sort());
      expect(await store.deleteAllJobs("ix")).toBe(5);
      expect(await raw.exists(`${prefix}{sched:ix}:job-ids`)).toBe(0);
    });

    it("a store written before it is listed as before; migrate() builds it, part by part", async () => {
      const { store, prefix } = await fresh("listing_migration");
      const all: Job[] = [];
      for (let i = 0; i < 400; i++)
        all.push(
          job(`old-${String((i * 7919) % 400)}`, { scheduler: i % 4 === 0 ? "m-b" : "m-a" }),
        );
      await insertAll(store, all);
      // As a store written by an earlier version: no index by id, and not migrated to one.
      await raw.del(`${prefix}{sched:m-a}:job-ids`, `${prefix}{sched:m-b}:job-ids`);
      await raw.srem(`${prefix}{g}:indexed`, "job-ids");
      expect(await store.pendingMigrations()).toBe(1);
      const q: Query = { orderBy: "id", pageSize: 30 };
      expect(await walk((x) => store.listJobs(x), q)).toEqual(referencePages(reference(all, q), q));
      // A job added meanwhile is indexed by its write, a job removed leaves with it.
      const late = job("late", { scheduler: "m-a" });
      await store.insertJob(late);
      all.push(late);
      expect(await raw.zrange(`${prefix}{sched:m-a}:job-ids`, 0, -1)).toEqual(["late"]);
      const removed = all.find((j) => j.scheduler === "m-a") as Job;
      expect(await store.deleteJob("m-a", removed.id)).toBe(true);
      all.splice(all.indexOf(removed), 1);

      // A part of about 20 jobs per script call: a scan of each scheduler's jobs in steps.
      await indexJobIds(new Db(raw, prefix), 20);
      expect(await store.pendingMigrations()).toBe(0);
      for (const s of ["m-a", "m-b"]) {
        expect(await raw.zrange(`${prefix}{sched:${s}}:job-ids`, 0, -1)).toEqual(
          all
            .filter((j) => j.scheduler === s)
            .map((j) => j.id)
            .sort(),
        );
      }
      expect(await walk((x) => store.listJobs(x), q)).toEqual(referencePages(reference(all, q), q));

      // migrate() does it too.
      await raw.del(`${prefix}{sched:m-a}:job-ids`);
      await raw.srem(`${prefix}{g}:indexed`, "job-ids");
      expect(await store.pendingMigrations()).toBe(1);
      await store.migrate();
      expect(await store.pendingMigrations()).toBe(0);
      expect(await walk((x) => store.listJobs(x), q)).toEqual(referencePages(reference(all, q), q));
    });
  });
});
