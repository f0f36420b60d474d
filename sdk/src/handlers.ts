/**
 * Handlers defined once with their argument types. A `HandlerDef` is both what a worker
 * registers (`worker.register(def)`) and what `scheduler.addJob(def, …)` refers to, so that
 * `args` and `kwargs` of a job are checked against the handler's parameters at compile time.
 *
 * ```ts
 * export const processUser = defineHandler(
 *   "users.process",
 *   async ([userId]: [string], { action = "default" }: { action?: string }) => { … },
 * );
 * await scheduler.addJob(processUser, "cron", { hour: 3, args: ["user123"], kwargs: { action: "sync" } });
 * ```
 */
import type { JsonValue } from "@bufbuild/protobuf";
import type { RunContext } from "./worker/worker.js";

/** Positional arguments: a JSON array. */
export type Args = readonly JsonValue[];
/** Keyword arguments: a JSON object (optional members allowed). */
export type Kwargs = { readonly [key: string]: JsonValue | undefined };

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

/** A handler with typed arguments (inferred from `fn`'s parameters). */
export function defineHandler<A extends Args = [], K extends Kwargs = Record<string, never>>(
  name: string,
  fn: HandlerFn<A, K>,
): HandlerDef<A, K> {
  return { name, fn };
}
