/**
 * Jobs declared in code with the guide's decorator, `scheduler.scheduledJob(trigger, options)
 * (handler)`: their options are checked against the handler's argument types, and they are
 * added at `start()` (at once when declared after it). A declaration whose add failed is kept,
 * so that the next `start()` adds it.
 */
import type { Args, HandlerDef, Kwargs } from "../handlers.js";
import type { WorkerLogger } from "../logger.js";
import type { JobSettings } from "./jobs.js";

/** The options of `scheduledJob`: a job's, except that it always replaces an earlier one. */
export interface ScheduledJobOptions extends JobSettings {
  /** Default: the handler name. */
  readonly id?: string | undefined;
  /** Default: the handler name. */
  readonly name?: string | undefined;
  readonly paused?: boolean | undefined;
  /** Checked against the handler's parameters. */
  readonly args?: Args | undefined;
  /** Checked against the handler's parameters. */
  readonly kwargs?: Kwargs | undefined;
  /** Always true: every deploy declares the job again. */
  readonly replaceExisting?: true | undefined;
}

/** Options `O` with no member `ScheduledJobOptions` lacks (a misspelt option is an error). */
export type NoExtraOptions<O> = {
  readonly [P in Exclude<keyof O, keyof ScheduledJobOptions>]: never;
};

type ArgsFit<A extends Args, O> = O extends { readonly args: infer Given }
  ? Given extends Readonly<A>
    ? true
    : false
  : [] extends A
    ? true
    : false;

type KwargsFit<K extends Kwargs, O> = O extends { readonly kwargs: infer Given }
  ? Given extends Readonly<K>
    ? [Exclude<keyof Given, keyof K>] extends [never]
      ? true
      : false
    : false
  : Record<string, never> extends K
    ? true
    : false;

/**
 * `unknown` when options `O` fit handler `H` (args and kwargs as its parameters need them);
 * otherwise a member no handler has, so that the decorated handler is a type error naming it.
 */
export type FitsHandler<H, O> =
  H extends HandlerDef<infer A, infer K>
    ? ArgsFit<A, O> extends true
      ? KwargsFit<K, O> extends true
        ? unknown
        : { readonly "scheduledJob: its kwargs do not fit this handler": never }
      : { readonly "scheduledJob: its args do not fit this handler": never }
    : unknown;

interface Declaration {
  readonly id: string;
  add(): Promise<unknown>;
}

/** A scheduler's declared jobs. */
export class Declarations {
  /** Not added yet: declared before start(), or their add failed. */
  private readonly pending: Declaration[] = [];
  private started = false;

  constructor(private readonly log: WorkerLogger) {}

  /** A job to add at start(); added now when started already (a failure is logged). */
  declare(id: string, add: () => Promise<unknown>): void {
    if (!this.started) {
      this.pending.push({ id, add });
      return;
    }
    add().catch((err: unknown) => {
      this.log.error({ err, job: id }, "adding a scheduledJob failed");
    });
  }

  /**
   * Adds every pending declaration. Rejects with the first failure (in declaration order) once
   * all were tried; the ones that failed stay pending for the next call.
   */
  async start(): Promise<void> {
    this.started = true;
    const batch = this.pending.splice(0);
    const results = await Promise.allSettled(batch.map((d) => d.add()));
    const failed = batch.filter((_, i) => results[i]?.status === "rejected");
    this.pending.unshift(...failed);
    for (const r of results) if (r.status === "rejected") throw r.reason;
  }
}
