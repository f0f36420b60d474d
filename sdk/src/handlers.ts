/**
 * The handler contract: what a handler is given (`args`, `kwargs` and a `RunContext`) and how it
 * is defined once with its argument types. A `HandlerDef` is both what a worker registers
 * (`worker.register(def)`) and what `scheduler.addJob(def, …)` refers to, so that `args` and
 * `kwargs` of a job are checked against the handler's parameters at compile time.
 *
 * ```ts
 * export const processUser = defineHandler(
 *   "users.process",
 *   async ([userId]: [string], { action = "default" }: { action?: string }) => { … },
 * );
 * await scheduler.addJob(processUser, "cron", { hour: 3, args: ["user123"], kwargs: { action: "sync" } });
 * ```
 *
 * The worker (worker/) builds a `RunContext` for each run it executes; `@metronome/sdk/testing`
 * builds one for unit tests of handlers.
 */
import type { JsonObject, JsonValue } from "@bufbuild/protobuf";
import type { WorkerLogger } from "./logger.js";

/** Positional arguments: a JSON array. */
export type Args = readonly JsonValue[];
/** Keyword arguments: a JSON object (optional members allowed). */
export type Kwargs = { readonly [key: string]: JsonValue | undefined };

/** What a handler knows about the run it executes. */
export interface RunContext {
  /**
   * Fires when the run must stop: cancelled, timed out, lease lost, or `stop()`'s grace ran
   * out. `signal.reason` is a `RunAbortedError` saying which. Pass it to fetch, database drivers…
   */
  readonly signal: AbortSignal;
  readonly runId: string;
  /** 1 for the first delivery, one more for each retry. */
  readonly attempt: number;
  /** The job's total attempts (1 without a retry policy): `attempt === maxAttempts` is the last. */
  readonly maxAttempts: number;
  readonly scheduler: string;
  readonly jobId: string;
  readonly jobName: string;
  readonly handler: string;
  /** The nominal fire time (before jitter); for a manual run, when it was requested. */
  readonly scheduledTime: Date;
  /** When the run became due (scheduled time plus jitter). */
  readonly fireTime: Date;
  /** True for a run started with RunJobNow. */
  readonly manual: boolean;
  /** The job's timeout for this attempt, counted by the server from the assignment; null: none. */
  readonly timeoutMs: number | null;
  /** The worker's logger with `runId`, `attempt`, `handler` and `jobId` bound. */
  readonly log: WorkerLogger;
  /**
   * Queues a heartbeat for all held leases now instead of at the next interval (e.g. after a long
   * synchronous stretch). Resolves once queued; does nothing while disconnected, since the next
   * session resumes the leases anyway.
   */
  heartbeat(): Promise<void>;
}

/** A handler: called with the job's args and kwargs; its return value (JSON) is the result. */
export type Handler = (args: JsonValue[], kwargs: JsonObject, ctx: RunContext) => unknown;

/** A handler with typed arguments. */
export type HandlerFn<A extends Args, K extends Kwargs> = (
  args: A,
  kwargs: K,
  ctx: RunContext,
) => unknown;

export interface HandlerDef<A extends Args = Args, K extends Kwargs = Kwargs> {
  /** The handler name jobs refer to (1 to 191 of `A-Z a-z 0-9 . _ : -`). */
  readonly name: string;
  readonly fn: HandlerFn<A, K>;
}

/** `args` as a handler of these argument types needs them: required unless it takes none. */
export type ArgsInput<A extends Args> = [] extends A ? { readonly args?: A } : { readonly args: A };
/** `kwargs` as a handler of these types needs them: required when a member is required. */
export type KwargsInput<K extends Kwargs> =
  Record<string, never> extends K ? { readonly kwargs?: K } : { readonly kwargs: K };

/** A handler with typed arguments (inferred from `fn`'s parameters). */
export function defineHandler<A extends Args = [], K extends Kwargs = Record<string, never>>(
  name: string,
  fn: HandlerFn<A, K>,
): HandlerDef<A, K> {
  return { name, fn };
}
