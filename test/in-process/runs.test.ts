/**
 * RunService and the run side of JobService through Connect clients on a router transport, in
 * process (test/support/in-process.ts), on a manual clock and with no worker: manual runs stay
 * pending, so listing, paging, cancelling and the cancellation of a removed job's runs are what
 * the server recorded.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JobService } from "../../server/src/gen/metronome/v1/job_service_pb.js";
import { RunStatus } from "../../server/src/gen/metronome/v1/run_pb.js";
import { RunService } from "../../server/src/gen/metronome/v1/run_service_pb.js";
import { SchedulerService } from "../../server/src/gen/metronome/v1/scheduler_service_pb.js";
import { ManualClock } from "../support/clock.js";
import { startInProcessNode, type InProcessNode } from "../support/in-process.js";

const NOW = Date.parse("2026-03-02T08:00:00Z");

describe("runs through the router, in process", () => {
  const clock = new ManualClock(NOW);
  let node: InProcessNode;

  beforeAll(async () => {
    node = await startInProcessNode({ clock });
  });
  afterAll(() => node.stop());

  const codeOf = (p: Promise<unknown>) =>
    p.then(
      () => "OK",
      (err: unknown) => {
        const e = ConnectError.from(err);
        return `${Code[e.code]}: ${e.rawMessage}`;
      },
    );

  it("lists manual runs newest first in pages bound to their filters, gets and cancels them", async () => {
    const jobs = node.client(JobService);
    const runs = node.client(RunService);
    const trigger = { kind: { case: "crontab" as const, value: { expression: "0 3 * * *" } } };
    await jobs.addJob({ job: { id: "r", handler: "runs.h", trigger } });
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const { run } = await jobs.runJobNow({ jobId: "r" });
      expect(run).toMatchObject({ jobId: "r", manual: true, status: RunStatus.PENDING });
      ids.push(run?.runId ?? "");
      clock.advance(1000);
    }

    const first = await runs.listRuns({ jobId: "r", pageSize: 2 });
    expect(first.runs.map((r) => r.runId)).toEqual([ids[2], ids[1]]);
    const second = await runs.listRuns({ jobId: "r", pageSize: 2, pageToken: first.nextPageToken });
    expect(second.runs.map((r) => r.runId)).toEqual([ids[0]]);
    expect(second.nextPageToken).toBe("");
    // A token is for the listing it came from.
    expect(await codeOf(runs.listRuns({ pageSize: 2, pageToken: first.nextPageToken }))).toBe(
      "InvalidArgument: page_token: is not a token of this listing (same scheduler, job_id and statuses)",
    );

    // A reason is stored as plain text (PostgreSQL refuses a NUL in it): no control characters.
    expect(await codeOf(runs.cancelRun({ runId: ids[1] ?? "", reason: "not\u0000today" }))).toBe(
      "InvalidArgument: reason: must not contain control characters",
    );
    const cancelled = await runs.cancelRun({ runId: ids[1] ?? "", reason: "not today" });
    expect(cancelled.run).toMatchObject({ status: RunStatus.CANCELLED, statusReason: "not today" });
    // Cancelling it again changes nothing and says so by answering the run as it is.
    expect((await runs.cancelRun({ runId: ids[1] ?? "", reason: "again" })).run).toMatchObject({
      status: RunStatus.CANCELLED,
      statusReason: "not today",
    });
    const pending = await runs.listRuns({ jobId: "r", statuses: [RunStatus.PENDING] });
    expect(pending.runs.map((r) => r.runId)).toEqual([ids[2], ids[0]]);
    expect((await runs.getRun({ runId: ids[1] ?? "" })).run?.status).toBe(RunStatus.CANCELLED);
    expect(await codeOf(runs.getRun({ runId: "no-such-run" }))).toBe(
      "NotFound: run no-such-run not found",
    );
  });

  it("cancels the runs of a removed job that have not started, in the same call", async () => {
    const jobs = node.client(JobService);
    const runs = node.client(RunService);
    const trigger = { kind: { case: "crontab" as const, value: { expression: "0 4 * * *" } } };
    await jobs.addJob({ job: { id: "gone", handler: "runs.h", trigger } });
    await jobs.addJob({ job: { id: "stays", handler: "runs.h", trigger } });
    const gone = (await jobs.runJobNow({ jobId: "gone" })).run?.runId ?? "";
    const stays = (await jobs.runJobNow({ jobId: "stays" })).run?.runId ?? "";
    await jobs.removeJob({ jobId: "gone" });
    expect((await runs.getRun({ runId: gone })).run).toMatchObject({
      status: RunStatus.CANCELLED,
    });
    expect((await runs.getRun({ runId: stays })).run?.status).toBe(RunStatus.PENDING);
    expect(await codeOf(jobs.runJobNow({ jobId: "gone" }))).toBe(
      'NotFound: job "gone" in scheduler "default" not found',
    );
  });

  it("runs a paused job now, and refuses a job of a paused scheduler (which creates no runs)", async () => {
    const jobs = node.client(JobService);
    const runs = node.client(RunService);
    const schedulers = node.client(SchedulerService);
    const trigger = { kind: { case: "crontab" as const, value: { expression: "0 5 * * *" } } };
    await jobs.addJob({ job: { id: "p", handler: "runs.h", trigger, scheduler: "quiet" } });
    await jobs.pauseJob({ scheduler: "quiet", jobId: "p" });
    const manual = (await jobs.runJobNow({ scheduler: "quiet", jobId: "p" })).run;
    expect(manual).toMatchObject({ manual: true, status: RunStatus.PENDING });

    await schedulers.pauseScheduler({ name: "quiet" });
    expect(await codeOf(jobs.runJobNow({ scheduler: "quiet", jobId: "p" }))).toBe(
      'FailedPrecondition: scheduler "quiet" is paused and creates no runs: resume it, or pause only the jobs that must not run',
    );
    const listed = await runs.listRuns({ scheduler: "quiet", jobId: "p" });
    expect(listed.runs.map((r) => r.runId)).toEqual([manual?.runId]);
    await schedulers.resumeScheduler({ name: "quiet" });
    expect((await jobs.runJobNow({ scheduler: "quiet", jobId: "p" })).run?.status).toBe(
      RunStatus.PENDING,
    );
  });
});
