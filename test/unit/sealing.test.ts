/**
 * The records of the store port sealed and opened (server/src/store/sealing.ts): which fields,
 * bound to which place, what reads as it is, and what a missing key or a tampered value gives.
 */
import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { runEvent, type EventDraft } from "../../server/src/domain/events.js";
import type { Job } from "../../server/src/domain/jobs.js";
import { attemptFailed, leased, succeeded } from "../../server/src/domain/run-transitions.js";
import { manualRun, type Run } from "../../server/src/domain/runs.js";
import { compileTrigger } from "../../server/src/domain/triggers/index.js";
import { envelopeKeyId, isEnvelope, SealingKeys } from "../../server/src/lib/envelope.js";
import { SealedDataError, Sealer } from "../../server/src/store/sealing.js";
import { jobRecord } from "../support/job-record.js";

const T0 = Date.parse("2026-03-02T08:00:00Z");
const k1 = { id: "k1", key: randomBytes(32) };
const k2 = { id: "k2", key: randomBytes(32) };

const JOB = jobRecord({
  args: ["arg-secret", 42],
  kwargs: { token: "kwarg-secret" },
  coalesce: false,
  timeoutMs: 30_000,
});

const runOf = (job: Job, id = "r1"): Run =>
  manualRun(job, compileTrigger(job.trigger), { now: T0, newId: () => id });
const running = (run: Run): Run =>
  leased(run, { workerId: "w", token: "tok", leaseMs: 10_000 }, T0);
const boom = {
  message: "error-secret",
  type: "ValueError",
  stack: "ValueError: error-secret\n  at handler",
  nonRetryable: true,
};

describe("sealing the store's records", () => {
  it("a job's args and kwargs are sealed in place and open again; the rest stays clear", () => {
    const sealer = new Sealer(new SealingKeys([k1]));
    const sealed = sealer.sealJob(JOB);
    expect(isEnvelope(sealed.args)).toBe(true);
    expect(isEnvelope(sealed.kwargs)).toBe(true);
    expect(JSON.stringify(sealed)).not.toMatch(/arg-secret|kwarg-secret/);
    expect({ ...sealed, args: JOB.args, kwargs: JOB.kwargs }).toEqual(JOB);
    // A fresh sealer (another node) opens it.
    expect(new Sealer(new SealingKeys([k1])).openJob(sealed)).toEqual(JOB);
  });

  it("a run made from the sealed job copies its envelopes; its result and error are sealed", () => {
    const sealer = new Sealer(new SealingKeys([k1]));
    const job = sealer.sealJob(JOB);
    const run = sealer.sealRun(runOf(job));
    expect(run.args).toBe(job.args);
    expect(run.kwargs).toBe(job.kwargs);
    const done = sealer.sealRun(succeeded(running(run), { out: "result-secret" }, T0 + 1));
    expect(isEnvelope(done.result)).toBe(true);
    const failed = sealer.sealRun(attemptFailed(running(run), boom, T0 + 1));
    expect(JSON.stringify([done, failed])).not.toMatch(/secret/);
    expect(failed.error?.type).toBe("ValueError");
    expect(failed.error?.nonRetryable).toBe(true);
    const opened = sealer.openRun(failed);
    expect(opened.args).toEqual(JOB.args);
    expect(opened.error).toEqual(boom);
    expect(sealer.openRun(done).result).toEqual({ out: "result-secret" });
  });

  it("writing back an opened value unchanged reuses its envelope; a changed one is sealed anew", () => {
    const sealer = new Sealer(new SealingKeys([k1]));
    const stored = sealer.sealJob(JOB);
    const opened = sealer.openJob(stored);
    const renamed = sealer.sealJob({ ...opened, name: "renamed" });
    expect(renamed.args).toBe(stored.args);
    const changed = sealer.sealJob({ ...opened, args: ["other"] });
    expect(changed.args).not.toBe(stored.args);
    expect(changed.kwargs).toBe(stored.kwargs);
  });

  it("after rotation, values under the old key open, and what is written is sealed under the new", () => {
    const stored = new Sealer(new SealingKeys([k1])).sealJob(JOB);
    const rotated = new Sealer(new SealingKeys([k2, k1]));
    const opened = rotated.openJob(stored);
    expect(opened).toEqual(JOB);
    const rewritten = rotated.sealJob({ ...opened, name: "x" });
    expect(envelopeKeyId(rewritten.args as unknown as string)).toBe("k2");
  });

  it("clear values (rows from before encryption) read as they are", () => {
    const sealer = new Sealer(new SealingKeys([k1]));
    expect(sealer.openJob(JOB)).toBe(JOB);
    const run = succeeded(running(runOf(JOB)), "clear result", T0 + 1);
    expect(sealer.openRun(run)).toBe(run);
  });

  it("an envelope moved to another job or field does not open: DATA_LOSS naming the job", () => {
    const sealer = new Sealer(new SealingKeys([k1]));
    const sealed = sealer.sealJob(JOB);
    const moved = { ...sealed, id: "other" };
    expect(() => sealer.openJob(moved)).toThrow(SealedDataError);
    const swapped = { ...sealed, args: sealed.kwargs as unknown as Job["args"] };
    let caught: unknown;
    try {
      sealer.openJob(swapped);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(SealedDataError);
    expect((caught as SealedDataError).kind).toBe("data_loss");
    expect((caught as Error).message).toContain("job j of scheduler default");
    expect((caught as Error).message).toContain('key id "k1"');
  });

  it("a value under a key id not configured: FAILED_PRECONDITION naming the id, never a key", () => {
    const sealed = new Sealer(new SealingKeys([k1])).sealJob(JOB);
    let caught: unknown;
    try {
      new Sealer(new SealingKeys([k2])).openJob(sealed);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(SealedDataError);
    expect((caught as SealedDataError).kind).toBe("failed_precondition");
    const message = (caught as Error).message;
    expect(message).toContain('key id "k1"');
    expect(message).toContain("METRONOME_ENCRYPTION_KEYS");
    expect(message).not.toContain(k1.key.toString("base64"));
    expect(message).not.toContain(k2.key.toString("base64"));
  });

  it("a worker's outcome is sealed for its run, as the run's result is", () => {
    const sealer = new Sealer(new SealingKeys([k1]));
    const outcome = sealer.sealOutcome("r1", { kind: "success", result: [1, "result-secret"] });
    expect(outcome.kind === "success" && isEnvelope(outcome.result)).toBe(true);
    const run = running(runOf(sealer.sealJob(JOB)));
    const done = succeeded(run, outcome.kind === "success" ? outcome.result : null, T0 + 1);
    expect(sealer.openRun(done).result).toEqual([1, "result-secret"]);
  });

  it("a worker's value that looks like an envelope is sealed as text, and reads back as sent", () => {
    const sealer = new Sealer(new SealingKeys([k1]));
    const fake = `mtn-sealed:v1:nokey:${"A".repeat(16)}:${"A".repeat(24)}`;
    const run = running(runOf(sealer.sealJob(JOB)));
    const ok = sealer.sealOutcome("r1", { kind: "success", result: fake });
    expect(ok.kind === "success" && typeof ok.result === "string" && envelopeKeyId(ok.result)).toBe(
      "k1",
    );
    const done = succeeded(run, ok.kind === "success" ? ok.result : null, T0 + 1);
    expect(sealer.openRun(done).result).toBe(fake);
    const failed = sealer.sealOutcome("r1", { kind: "error", error: { ...boom, message: fake } });
    expect(failed.kind === "error" && envelopeKeyId(failed.error.message)).toBe("k1");
  });

  it("events carry the run's envelopes; an event under a missing key is read without them", () => {
    const sealer = new Sealer(new SealingKeys([k1]));
    const run = sealer.sealRun(attemptFailed(running(runOf(sealer.sealJob(JOB))), boom, T0 + 1));
    const event = runEvent(run, T0 + 1, "n1") as EventDraft;
    expect(event.data.error?.message).toBe(run.error?.message);
    // A clear event draft is sealed on its way in; a sealed one is left as it is.
    const clear = runEvent(sealer.openRun(run), T0 + 1, "n1") as EventDraft;
    expect(JSON.stringify(sealer.sealEvent(clear))).not.toContain("error-secret");
    expect(sealer.sealEvent(event)).toBe(event);
    expect(sealer.openEvent(event).data.error).toEqual(boom);

    const elsewhere = new Sealer(new SealingKeys([k2])).openEvent(event);
    expect(elsewhere.data.error?.type).toBe("ValueError");
    expect(elsewhere.data.error?.message).toContain('key id "k1"');
    expect(JSON.stringify(elsewhere)).not.toContain("mtn-sealed");
  });
});
