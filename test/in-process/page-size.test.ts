/**
 * `page_size` over the server's largest page (METRONOME_MAX_PAGE_SIZE, here 5) is capped at it,
 * not refused: ListJobs, ListRuns and ListSchedulers answer a full page of 5 and a token, and
 * every item is read page after page, whatever size the client asks for (the CLI asks for 500,
 * the dashboard for 1,000). 0 (100 by default) is capped too; a negative size is still refused.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JobService } from "../../server/src/gen/metronome/v1/job_service_pb.js";
import { RunService } from "../../server/src/gen/metronome/v1/run_service_pb.js";
import { SchedulerService } from "../../server/src/gen/metronome/v1/scheduler_service_pb.js";
import { ManualClock } from "../support/clock.js";
import { startInProcessNode, type InProcessNode } from "../support/in-process.js";

const MAX = 5;
const COUNT = 12;

describe("page_size over METRONOME_MAX_PAGE_SIZE", () => {
  const clock = new ManualClock(Date.parse("2026-03-02T08:00:00Z"));
  let node: InProcessNode;

  beforeAll(async () => {
    node = await startInProcessNode({ clock, env: { METRONOME_MAX_PAGE_SIZE: String(MAX) } });
    const jobs = node.client(JobService);
    const schedulers = node.client(SchedulerService);
    const trigger = { kind: { case: "crontab" as const, value: { expression: "0 3 * * *" } } };
    for (let i = 0; i < COUNT; i++) {
      const id = `job-${String(i).padStart(2, "0")}`;
      await jobs.addJob({ job: { id, handler: "pages.h", trigger } });
      await jobs.runJobNow({ jobId: id });
      clock.advance(1000);
      await schedulers.configureScheduler({ name: `sched-${String(i).padStart(2, "0")}` });
    }
  });
  afterAll(() => node.stop());

  /** Every page of a listing read with `size`: each page's length, and every item. */
  async function readAll(
    size: number,
    list: (pageSize: number, pageToken: string) => Promise<{ items: string[]; next: string }>,
  ): Promise<{ lengths: number[]; items: string[] }> {
    const lengths: number[] = [];
    const items: string[] = [];
    let token = "";
    do {
      const page = await list(size, token);
      lengths.push(page.items.length);
      items.push(...page.items);
      token = page.next;
    } while (token !== "" && lengths.length < 100);
    return { lengths, items };
  }

  const listJobs = async (pageSize: number, pageToken: string) => {
    const r = await node.client(JobService).listJobs({ pageSize, pageToken });
    return { items: r.jobs.map((j) => j.id), next: r.nextPageToken };
  };
  const listRuns = async (pageSize: number, pageToken: string) => {
    const r = await node.client(RunService).listRuns({ pageSize, pageToken });
    return { items: r.runs.map((x) => x.jobId), next: r.nextPageToken };
  };
  const listSchedulers = async (pageSize: number, pageToken: string) => {
    const r = await node.client(SchedulerService).listSchedulers({ pageSize, pageToken });
    return { items: r.schedulers.map((s) => s.name), next: r.nextPageToken };
  };

  const jobIds = Array.from({ length: COUNT }, (_, i) => `job-${String(i).padStart(2, "0")}`);

  it.each([
    ["a size over the maximum", 500],
    ["1,000", 1000],
    ["0 (100 by default)", 0],
  ])("ListJobs with %s answers pages of the maximum and reads every job", async (_, size) => {
    const { lengths, items } = await readAll(size, listJobs);
    expect(lengths).toEqual([5, 5, 2]);
    expect(items).toEqual(jobIds);
  });

  it("ListRuns with a size over the maximum reads every run, newest first", async () => {
    const { lengths, items } = await readAll(500, listRuns);
    expect(lengths).toEqual([5, 5, 2]);
    expect(items).toEqual([...jobIds].reverse());
  });

  it("ListSchedulers with a size over the maximum reads every scheduler", async () => {
    const { lengths, items } = await readAll(1000, listSchedulers);
    expect(lengths.every((n) => n <= MAX)).toBe(true);
    expect(lengths[0]).toBe(MAX);
    const names = Array.from({ length: COUNT }, (_, i) => `sched-${String(i).padStart(2, "0")}`);
    expect(items).toEqual(["default", ...names]);
  });

  it("a size within the maximum is kept", async () => {
    expect((await listJobs(3, "")).items).toEqual(jobIds.slice(0, 3));
  });

  it("a negative size is refused, naming page_size", async () => {
    const refused = await listJobs(-1, "").then(
      () => undefined,
      (err: unknown) => ConnectError.from(err),
    );
    expect(refused?.code).toBe(Code.InvalidArgument);
    expect(refused?.rawMessage).toMatch(/^page_size: /);
  });
});
