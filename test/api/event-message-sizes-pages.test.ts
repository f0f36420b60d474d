/**
 * ListJobs pages stay under the 4 MiB a gRPC client accepts by default: 100 jobs with 60 KB of
 * kwargs each (12 MB at the default page size of 100) are answered to @grpc/grpc-js with its
 * default settings in pages cut short by bytes, whose tokens continue to the end with every job
 * once, in order; Connect JSON pages are cut the same way. (Before, the page failed on the
 * client with RESOURCE_EXHAUSTED.)
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { postJson } from "../support/connect-json.js";
import { grpcJsClients, struct, type GrpcJsClients, type Reply } from "../support/grpc-js.js";
import { startTestNode, type TestNode } from "../support/node.js";
import { createSqliteStore, type TestStore } from "../support/stores.js";

const JOBS = 100;
const KWARGS_CHARS = 60_000;

describe("ListJobs pages under gRPC's default 4 MiB", () => {
  let db: TestStore;
  let server: TestNode;
  let c: GrpcJsClients;
  const ids = Array.from({ length: JOBS }, (_, i) => `large-${String(i).padStart(3, "0")}`);

  beforeAll(async () => {
    db = await createSqliteStore("metronome-page-sizes");
    server = await startTestNode(db.url);
    c = grpcJsClients(server.port);
    for (const [i, id] of ids.entries())
      await c.job("AddJob", {
        job: {
          scheduler: "large",
          id,
          handler: "h.large",
          trigger: { interval: { hours: 1 + i } },
          kwargs: struct({ id, blob: String(i % 10).repeat(KWARGS_CHARS) }),
        },
      });
  });
  afterAll(async () => {
    c.close();
    await server.stop();
    await db.drop();
  });

  /** Every page of a listing through `list`, from the first to the one without a token. */
  async function walk(
    list: (pageToken: string) => Promise<{ jobs: Reply[]; next: string }>,
  ): Promise<Reply[][]> {
    const pages: Reply[][] = [];
    let pageToken = "";
    for (let n = 0; n < JOBS + 1; n++) {
      const page = await list(pageToken);
      pages.push(page.jobs);
      if (page.next === "") return pages;
      pageToken = page.next;
    }
    throw new Error("the listing never ended");
  }

  function check(pages: readonly Reply[][], idOf: (j: Reply) => unknown, kwargsJson: string): void {
    // Cut short: more than one page at the default size of 100, none empty.
    expect(pages.length).toBeGreaterThan(1);
    for (const p of pages) expect(p.length).toBeGreaterThan(0);
    const jobs = pages.flat();
    expect(jobs.map(idOf)).toEqual(ids);
    jobs.forEach((j, i) => {
      const kwargs = JSON.parse(j[kwargsJson] as string) as { id: string; blob: string };
      expect(kwargs.id).toBe(ids[i]);
      expect(kwargs.blob.length).toBe(KWARGS_CHARS);
    });
  }

  it("answers @grpc/grpc-js at the default page size, in pages that continue to the end", async () => {
    for (const order_by of ["JOB_ORDER_ID", "JOB_ORDER_NEXT_RUN_TIME"]) {
      const pages = await walk(async (page_token) => {
        const res = await c.job("ListJobs", { scheduler: "large", order_by, page_token });
        return { jobs: res.jobs as Reply[], next: res.next_page_token as string };
      });
      check(pages, (j) => j.id, "kwargs_json");
    }
  });

  it("cuts Connect JSON pages the same way", async () => {
    const pages = await walk(async (pageToken) => {
      const res = await postJson(server.port, "/metronome.v1.JobService/ListJobs", {
        scheduler: "large",
        pageToken,
      });
      expect(res.status).toBe(200);
      return {
        jobs: res.body.jobs as Reply[],
        next: (res.body.nextPageToken as string | undefined) ?? "",
      };
    });
    check(pages, (j) => j.id, "kwargsJson");
  });

  it("answers a page of one job however large, and a small page whole", async () => {
    const one = await c.job("ListJobs", { scheduler: "large", page_size: 1 });
    expect((one.jobs as Reply[]).map((j) => j.id)).toEqual([ids[0]]);
    const small = await c.job("ListJobs", { scheduler: "large", page_size: 5 });
    expect((small.jobs as Reply[]).map((j) => j.id)).toEqual(ids.slice(0, 5));
    const next = await c.job("ListJobs", {
      scheduler: "large",
      page_size: 5,
      page_token: small.next_page_token,
    });
    expect((next.jobs as Reply[]).map((j) => j.id)).toEqual(ids.slice(5, 10));
  });
});
