/**
 * Who the work under way is done for (the audit's actor: an API key's id, `env:<n>` or
 * `anonymous`), carried through async calls like the deadline (call-storage.ts): the API's
 * interceptor sets it around each unary call; the use cases that record a change ask for it,
 * without every layer in between passing it on. Work not started by a call (the engine's loops,
 * worker sessions) has none.
 */
import { CallStorage, type Binding } from "./call-storage.js";

const storage = new CallStorage<string>();

/** Runs `fn` with `actor` as the actor of everything it starts and awaits. */
export function withActor<T>(actor: string, fn: () => Promise<T>): Promise<T> {
  return storage.run(actor, fn);
}

/** `actor` as the actor of the work run with it (call-storage.ts: runWith). */
export function actorBinding(actor: string): Binding {
  return storage.bind(actor);
}

/** The actor of the current work, if it was started by a call. */
export function currentActor(): string | undefined {
  return storage.get();
}
