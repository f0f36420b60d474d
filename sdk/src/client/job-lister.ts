/**
 * `getJobs`: every job of a scheduler that matches a filter, read page after page (ListJobs
 * with page tokens). Pages hold 100 jobs (the server's default page), fewer when the server's
 * largest page (METRONOME_MAX_PAGE_SIZE) is smaller: the page is halved until the server
 * accepts it, and that size is kept.
 */
import { JobOrder, type ListJobsResponse } from "../gen/metronome/v1/job_service_pb.js";
import { InvalidArgumentError, call } from "../rpc-errors.js";
import { jobFromProto, type Job } from "./jobs.js";
import type { ClientServices } from "./services.js";

/** Which jobs `getJobs` reads, and in which order. */
export interface JobFilter {
  readonly handler?: string;
  readonly paused?: boolean;
  readonly idPrefix?: string;
  readonly namePrefix?: string;
  readonly orderBy?: "id" | "next_run_time";
}

export class JobLister {
  /** Jobs per page. */
  private pageSize = 100;

  constructor(
    private readonly client: Pick<ClientServices, "jobs" | "headers">,
    private readonly scheduler: string,
  ) {}

  async all(filter: JobFilter): Promise<Job[]> {
    const jobs: Job[] = [];
    let pageToken = "";
    for (;;) {
      let page: ListJobsResponse;
      try {
        page = await call(
          this.client.jobs.listJobs(
            {
              scheduler: this.scheduler,
              handler: filter.handler ?? "",
              ...(filter.paused === undefined ? {} : { paused: filter.paused }),
              idPrefix: filter.idPrefix ?? "",
              namePrefix: filter.namePrefix ?? "",
              orderBy: filter.orderBy === "next_run_time" ? JobOrder.NEXT_RUN_TIME : JobOrder.ID,
              pageSize: this.pageSize,
              pageToken,
            },
            { headers: this.client.headers },
          ),
        );
      } catch (err) {
        if (!(err instanceof InvalidArgumentError && err.field === "page_size")) throw err;
        if (this.pageSize === 1) throw err;
        this.pageSize = Math.ceil(this.pageSize / 2);
        continue;
      }
      for (const j of page.jobs) jobs.push(jobFromProto(j));
      pageToken = page.nextPageToken;
      if (pageToken === "") return jobs;
    }
  }
}
