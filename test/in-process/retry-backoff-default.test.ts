/**
 * A retry policy's unset max_backoff: 5 minutes, or initial_backoff when that is longer. Before
 * the fix the default was 5 minutes whatever initial_backoff was, so a policy with
 * initial_backoff above 300 s and no max_backoff was refused with INVALID_ARGUMENT on
 * `job.retry_policy.max_backoff`, a field the caller never set. Connect JSON to a node in process.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startInProcessNode, type InProcessNode } from "../support/in-process.js";

type Reply = Record<string, unknown>;

describe("a retry policy's default max_backoff", () => {
  let node: InProcessNode;
  beforeAll(async () => {
    node = await startInProcessNode();
  });
  afterAll(() => node.stop());

  const call = (method: string, body: unknown) =>
    node.postJson(`/metronome.v1.JobService/${method}`, body);
  const job = (id: string, retryPolicy: object) => ({
    id,
    handler: "retry.h",
    trigger: { cron: { hour: "3" } },
    retryPolicy,
  });

  it("is initial_backoff when that is longer than 5 minutes (AddJob)", async () => {
    const added = await call("AddJob", {
      job: job("long", { maxAttempts: 3, initialBackoff: "600s" }),
    });
    expect(added.status).toBe(200);
    expect((added.body.job as Reply).retryPolicy).toMatchObject({
      maxAttempts: 3,
      initialBackoff: "600s",
      maxBackoff: "600s",
    });
  });

  it("is initial_backoff when ModifyJob sets a longer one without max_backoff", async () => {
    await call("AddJob", { job: job("mod", { maxAttempts: 2 }) });
    const modified = await call("ModifyJob", {
      job: { id: "mod", retryPolicy: { maxAttempts: 2, initialBackoff: "3600s" } },
      updateMask: "retryPolicy",
    });
    expect(modified.status).toBe(200);
    expect((modified.body.job as Reply).retryPolicy).toMatchObject({
      initialBackoff: "3600s",
      maxBackoff: "3600s",
    });
  });

  it("stays 5 minutes for a shorter initial_backoff", async () => {
    const added = await call("AddJob", {
      job: job("short", { maxAttempts: 3, initialBackoff: "10s" }),
    });
    expect((added.body.job as Reply).retryPolicy).toMatchObject({ maxBackoff: "300s" });
  });

  it("a max_backoff set below initial_backoff is still refused, naming it", async () => {
    const refused = await call("AddJob", {
      job: job("below", { maxAttempts: 3, initialBackoff: "600s", maxBackoff: "60s" }),
    });
    expect(refused.status).toBe(400);
    expect(refused.body.message).toMatch(
      /^job\.retry_policy\.max_backoff: must be from initial_backoff to 1 day/,
    );
  });
});
