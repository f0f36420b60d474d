/**
 * ListJobs page tokens are bound to their listing (job_service.proto: "only valid with the same
 * scheduler, filters and order"): a token used with another scheduler, filter or order is
 * INVALID_ARGUMENT naming page_token, never another listing's jobs or an empty end; with its own
 * listing (any page size) it continues where its page ended.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  JobOrder,
  JobService,
  type ListJobsRequest,
} from "../../server/src/gen/metronome/v1/job_service_pb.js";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { ListJobsRequestSchema } from "../../server/src/gen/metronome/v1/job_service_pb.js";
import { startInProcessNode, type InProcessNode } from "../support/in-process.js";

type Query = MessageInitShape<typeof ListJobsRequestSchema>;

describe("ListJobs page tokens", () => {
  let n: InProcessNode;
  const jobs = () => n.client(JobService);

  beforeAll(async () => {
    n = await startInProcessNode();
    for (const scheduler of ["rev", "revw", "zz-sched"])
      await jobs().addJobs({
        jobs: Array.from({ length: 6 }, (_, i) => ({
          scheduler,
          id: `job-${String(i)}`,
          name: `name-${String(i)}`,
          handler: i % 2 === 0 ? "h.even" : "h.odd",
          trigger: { kind: { case: "interval", value: { hours: i + 1 } } },
        })),
      });
    await jobs().pauseJob({ scheduler: "rev", jobId: "job-5" });
  });
  afterAll(async () => {
    await n.stop();
  });

  const ids = (r: { jobs: { scheduler: string; id: string }[] }) =>
    r.jobs.map((j) => `${j.scheduler}/${j.id}`);

  async function refusal(req: Query): Promise<string> {
    try {
      const res = await jobs().listJobs(req);
      return `answered ${JSON.stringify(ids(res))}, next ${JSON.stringify(res.nextPageToken)}`;
    } catch (err) {
      const e = ConnectError.from(err);
      return `${Code[e.code]}: ${e.rawMessage}`;
    }
  }

  /** The first page's token of a listing. */
  async function tokenOf(req: Query): Promise<string> {
    const res = await jobs().listJobs({ ...req, pageSize: 2 });
    expect(res.nextPageToken).not.toBe("");
    return res.nextPageToken;
  }

  const NOT_THIS = "InvalidArgument: page_token: is not a token of this listing";

  it("refuses a token of another scheduler", async () => {
    const rev = await tokenOf({ scheduler: "rev" });
    expect(await refusal({ scheduler: "revw", pageSize: 2, pageToken: rev })).toMatch(NOT_THIS);
    const zz = await tokenOf({ scheduler: "zz-sched" });
    expect(await refusal({ scheduler: "rev", pageSize: 2, pageToken: zz })).toMatch(NOT_THIS);
    const byTime = await tokenOf({ scheduler: "zz-sched", orderBy: JobOrder.NEXT_RUN_TIME });
    expect(
      await refusal({
        scheduler: "rev",
        orderBy: JobOrder.NEXT_RUN_TIME,
        pageSize: 2,
        pageToken: byTime,
      }),
    ).toMatch(NOT_THIS);
  });

  it("refuses a token with other filters or another order", async () => {
    const base: Query = { scheduler: "rev" };
    const others: Query[] = [
      { scheduler: "rev", handler: "h.even" },
      { scheduler: "rev", paused: false },
      { scheduler: "rev", paused: true },
      { scheduler: "rev", idPrefix: "job-" },
      { scheduler: "rev", namePrefix: "name-" },
      { scheduler: "rev", orderBy: JobOrder.NEXT_RUN_TIME },
    ];
    const token = await tokenOf(base);
    for (const other of others)
      expect(await refusal({ ...other, pageSize: 2, pageToken: token })).toMatch(NOT_THIS);
    // And the other way round: a filtered listing's token on the unfiltered one, or on another
    // value of the same filter.
    const even = await tokenOf({ scheduler: "rev", idPrefix: "job-" });
    expect(await refusal({ ...base, pageSize: 2, pageToken: even })).toMatch(NOT_THIS);
    expect(
      await refusal({ scheduler: "rev", idPrefix: "job", pageSize: 2, pageToken: even }),
    ).toMatch(NOT_THIS);
  });

  it("continues its own listing to the end, each job once, whatever the page size", async () => {
    const listings: Query[] = [
      { scheduler: "rev" },
      { scheduler: "rev", orderBy: JobOrder.NEXT_RUN_TIME },
      { scheduler: "rev", handler: "h.odd", paused: false, idPrefix: "job-", namePrefix: "name" },
    ];
    for (const q of listings) {
      const all = ids(await jobs().listJobs({ ...q, pageSize: 100 }));
      const walked: string[] = [];
      let pageToken = "";
      for (let size = 1; ; size++) {
        const res = await jobs().listJobs({ ...q, pageSize: size, pageToken });
        walked.push(...ids(res));
        if (res.nextPageToken === "") break;
        pageToken = res.nextPageToken;
      }
      expect(walked).toEqual(all);
      expect(all.length).toBeGreaterThan(1);
    }
  });

  it("takes a token that holds only a position (before tokens named their listing) for its scheduler only", async () => {
    // As nodes of the previous version issued them: base64url of [scheduler, id] by id.
    const legacy = Buffer.from(JSON.stringify(["rev", "job-1"])).toString("base64url");
    const res = await jobs().listJobs({ scheduler: "rev", pageSize: 100, pageToken: legacy });
    expect(ids(res)).toEqual(["rev/job-2", "rev/job-3", "rev/job-4", "rev/job-5"]);
    expect(await refusal({ scheduler: "revw", pageSize: 2, pageToken: legacy })).toMatch(NOT_THIS);
    expect(await refusal({ scheduler: "zz-sched", pageSize: 2, pageToken: legacy })).toMatch(
      NOT_THIS,
    );
  });

  it("answers the same in Connect JSON", async () => {
    const first = await n.postJson("/metronome.v1.JobService/ListJobs", {
      scheduler: "rev",
      pageSize: 2,
    } satisfies Partial<Record<keyof ListJobsRequest, unknown>>);
    const token = String(first.body.nextPageToken);
    const other = await n.postJson("/metronome.v1.JobService/ListJobs", {
      scheduler: "revw",
      pageSize: 2,
      pageToken: token,
    });
    expect(other.body).toMatchObject({ code: "invalid_argument" });
    expect(String(other.body.message)).toMatch(/^page_token: /);
  });
});
