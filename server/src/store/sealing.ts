/**
 * Job data sealed at rest (docs/security.md, "What is encrypted where"): the records' user data
 * — a job's and a run's `args` and `kwargs`, a run's `result` and its error's `message` and
 * `stack`, and the same in events — each replaced by an envelope (lib/envelope.ts) in the record
 * the store writes, and opened again when read. Everything else stays clear: the stores index,
 * fence and decide on it.
 *
 * Associated data binds each envelope to its place: args and kwargs to their scheduler, job id
 * and field (a run's are the job's, so runs copy the job's envelopes as they are), a result and
 * an error to their run id and field (an event reporting them copies the run's). An envelope
 * moved to another job or run, or between fields, does not open.
 *
 * A value that is not an envelope is read as it is: rows written before encryption was turned
 * on still read. An opened object remembers its envelope (weakly), so writing it back unchanged
 * (a modified job's arguments, a run made from its job) costs no new encryption.
 */
import { DomainError } from "../domain/errors.js";
import type { EventData, EventDraft } from "../domain/events.js";
import type { Job, JsonObject, JsonValue } from "../domain/jobs.js";
import type { Outcome, Run, RunError } from "../domain/runs.js";
import {
  BrokenEnvelopeError,
  envelopeKeyId,
  isEnvelope,
  UnknownKeyError,
  type SealingKeys,
} from "../lib/envelope.js";
import type { IdempotentAnswer } from "./port-idempotency.js";

/** Whose answer a recorded answer is: it is bound to its principal and key. */
export interface IdempotencyPlace {
  readonly principal: string;
  readonly key: string;
}

function answerPlace(p: IdempotencyPlace): string {
  return `metronome/v1\nidempotency answer\nprincipal=${p.principal}\nkey=${p.key}`;
}

/** Sealed job data that this node cannot open. */
export class SealedDataError extends DomainError {
  readonly kind: "failed_precondition" | "data_loss";
  constructor(
    readonly keyId: string | null,
    where: string,
    cause: UnknownKeyError | BrokenEnvelopeError,
  ) {
    super(
      cause instanceof UnknownKeyError
        ? `the data of ${where} is sealed under key id "${cause.keyId}", which METRONOME_ENCRYPTION_KEYS does not hold`
        : `the sealed data of ${where} cannot be opened: ${cause.message}`,
    );
    this.name = "SealedDataError";
    this.kind = cause instanceof UnknownKeyError ? "failed_precondition" : "data_loss";
  }
}

type Field = "args" | "kwargs" | "result" | "error.message" | "error.stack";

function jobPlace(scheduler: string | null, jobId: string | null, field: Field): string {
  return `metronome/v1\n${field}\nscheduler=${scheduler ?? ""}\njob=${jobId ?? ""}`;
}

function runPlace(runId: string | null, field: Field): string {
  return `metronome/v1\n${field}\nrun=${runId ?? ""}`;
}

/**
 * What a sealed record holds in place of a value: the envelope, where the record's type names
 * the value's type (only the stores' writers and the opening below ever see it).
 */
const asArgs = (envelope: string) => envelope as unknown as JsonValue[];
const asKwargs = (envelope: string) => envelope as unknown as JsonObject;

/** Seals and opens the records of the store port under one key ring. */
export class Sealer {
  /** Opened (or sealed) objects and the envelope they came from, with its place. */
  private readonly known = new WeakMap<
    object,
    { readonly place: string; readonly envelope: string }
  >();

  constructor(private readonly ring: SealingKeys) {}

  get sealingKeyId(): string {
    return this.ring.sealingKeyId;
  }

  // ---- values ----

  /** `value` sealed for `place`; an envelope already is (it is left as it is). */
  private seal(value: JsonValue, place: string): string {
    if (isEnvelope(value)) return value;
    if (typeof value === "object" && value !== null) {
      const k = this.known.get(value);
      if (k?.place === place && envelopeKeyId(k.envelope) === this.ring.sealingKeyId)
        return k.envelope;
      const envelope = this.ring.seal(JSON.stringify(value), place);
      this.known.set(value, { place, envelope });
      return envelope;
    }
    return this.ring.seal(JSON.stringify(value), place);
  }

  /** The value of an envelope sealed for `place`; any other value as it is. */
  private open(value: JsonValue, place: string, where: () => string): JsonValue {
    if (!isEnvelope(value)) return value;
    let opened: JsonValue;
    try {
      opened = JSON.parse(this.ring.open(value, place)) as JsonValue;
    } catch (err) {
      if (err instanceof UnknownKeyError || err instanceof BrokenEnvelopeError)
        throw new SealedDataError(envelopeKeyId(value), where(), err);
      throw err;
    }
    if (typeof opened === "object" && opened !== null)
      this.known.set(opened, { place, envelope: value });
    return opened;
  }

  private openString(value: string, place: string, where: () => string): string {
    const opened = this.open(value, place, where);
    return typeof opened === "string" ? opened : JSON.stringify(opened);
  }

  private sealError(error: RunError, runId: string | null): RunError {
    return {
      ...error,
      message: this.seal(error.message, runPlace(runId, "error.message")),
      stack: this.seal(error.stack, runPlace(runId, "error.stack")),
    };
  }

  private openError(error: RunError, runId: string | null, where: () => string): RunError {
    if (!isEnvelope(error.message) && !isEnvelope(error.stack)) return error;
    return {
      ...error,
      message: this.openString(error.message, runPlace(runId, "error.message"), where),
      stack: this.openString(error.stack, runPlace(runId, "error.stack"), where),
    };
  }

  // ---- records ----

  sealJob(job: Job): Job {
    return {
      ...job,
      args: asArgs(this.seal(job.args, jobPlace(job.scheduler, job.id, "args"))),
      kwargs: asKwargs(this.seal(job.kwargs, jobPlace(job.scheduler, job.id, "kwargs"))),
    };
  }

  openJob(job: Job): Job {
    if (!isEnvelope(job.args) && !isEnvelope(job.kwargs)) return job;
    const where = () => `job ${job.id} of scheduler ${job.scheduler}`;
    return {
      ...job,
      args: this.open(job.args, jobPlace(job.scheduler, job.id, "args"), where) as JsonValue[],
      kwargs: this.open(job.kwargs, jobPlace(job.scheduler, job.id, "kwargs"), where) as JsonObject,
    };
  }

  sealRun(run: Run): Run {
    return {
      ...run,
      args: asArgs(this.seal(run.args, jobPlace(run.scheduler, run.jobId, "args"))),
      kwargs: asKwargs(this.seal(run.kwargs, jobPlace(run.scheduler, run.jobId, "kwargs"))),
      result:
        run.result === undefined ? undefined : this.seal(run.result, runPlace(run.id, "result")),
      error: run.error === null ? null : this.sealError(run.error, run.id),
    };
  }

  openRun(run: Run): Run {
    const sealed =
      isEnvelope(run.args) ||
      isEnvelope(run.kwargs) ||
      isEnvelope(run.result) ||
      (run.error !== null && (isEnvelope(run.error.message) || isEnvelope(run.error.stack)));
    if (!sealed) return run;
    const where = () => `run ${run.id} (job ${run.jobId} of scheduler ${run.scheduler})`;
    return {
      ...run,
      args: this.open(run.args, jobPlace(run.scheduler, run.jobId, "args"), where) as JsonValue[],
      kwargs: this.open(
        run.kwargs,
        jobPlace(run.scheduler, run.jobId, "kwargs"),
        where,
      ) as JsonObject,
      result:
        run.result === undefined
          ? undefined
          : this.open(run.result, runPlace(run.id, "result"), where),
      error: run.error === null ? null : this.openError(run.error, run.id, where),
    };
  }

  /**
   * A worker's report on a run, its result or error sealed for the run. Always sealed anew: a
   * worker's value that looks like an envelope is the worker's text, not one of ours (passed
   * through, it would fail every later read of the run).
   */
  sealOutcome(runId: string, outcome: Outcome): Outcome {
    const fresh = (value: JsonValue, field: Field) =>
      this.ring.seal(JSON.stringify(value), runPlace(runId, field));
    return outcome.kind === "success"
      ? {
          kind: "success",
          result: outcome.result === undefined ? undefined : fresh(outcome.result, "result"),
        }
      : {
          kind: "error",
          error: {
            ...outcome.error,
            message: fresh(outcome.error.message, "error.message"),
            stack: fresh(outcome.error.stack, "error.stack"),
          },
        };
  }

  /**
   * A recorded answer of an idempotent call (its response message's bytes: an AddJob's holds the
   * job's arguments) sealed for its key, as the envelope's UTF-8 bytes. Errors stay clear: their
   * messages are the server's.
   */
  sealAnswer(answer: IdempotentAnswer, place: IdempotencyPlace): IdempotentAnswer {
    if (!answer.ok) return answer;
    const envelope = this.seal(Buffer.from(answer.response).toString("base64"), answerPlace(place));
    return { ok: true, response: Buffer.from(envelope, "utf8") };
  }

  /** A recorded answer opened (one stored before encryption was turned on reads as it is). */
  openAnswer(answer: IdempotentAnswer, place: IdempotencyPlace): IdempotentAnswer {
    if (!answer.ok) return answer;
    const text = Buffer.from(answer.response).toString("utf8");
    if (!isEnvelope(text)) return answer;
    const opened = this.open(text, answerPlace(place), () => "an idempotency key's answer");
    if (typeof opened !== "string")
      throw new SealedDataError(
        envelopeKeyId(text),
        "an idempotency key's answer",
        new BrokenEnvelopeError(envelopeKeyId(text), "not a sealed answer"),
      );
    return { ok: true, response: Buffer.from(opened, "base64") };
  }

  /** An event with the result or error it reports sealed (as its run's are). */
  sealEvent<E extends EventDraft>(event: E): E {
    const d = event.data;
    const clearResult = d.result !== undefined && !isEnvelope(d.result);
    const clearError =
      d.error !== undefined && !(isEnvelope(d.error.message) && isEnvelope(d.error.stack));
    if (!clearResult && !clearError) return event;
    const data: EventData = {
      ...d,
      ...(d.result === undefined
        ? {}
        : { result: this.seal(d.result, runPlace(event.runId, "result")) }),
      ...(d.error === undefined ? {} : { error: this.sealError(d.error, event.runId) }),
    };
    return { ...event, data };
  }

  /**
   * An event with its result or error opened. Events are read for every subscriber at once, so a
   * payload this node cannot open does not fail the read: the event goes out without its result,
   * its error's message saying why.
   */
  openEvent<E extends EventDraft>(event: E): E {
    const d = event.data;
    if (
      !isEnvelope(d.result) &&
      (d.error === undefined || (!isEnvelope(d.error.message) && !isEnvelope(d.error.stack)))
    )
      return event;
    const where = () => `run ${event.runId ?? ""}`;
    let data: EventData;
    try {
      data = {
        ...d,
        ...(d.result === undefined
          ? {}
          : { result: this.open(d.result, runPlace(event.runId, "result"), where) }),
        ...(d.error === undefined ? {} : { error: this.openError(d.error, event.runId, where) }),
      };
    } catch (err) {
      if (!(err instanceof SealedDataError)) throw err;
      const rest: EventData = { ...d };
      delete (rest as { result?: JsonValue }).result;
      data =
        d.error === undefined
          ? rest
          : { ...rest, error: { ...d.error, message: err.message, stack: "" } };
    }
    return { ...event, data };
  }
}
