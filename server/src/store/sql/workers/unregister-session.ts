import type { EventDraft } from "../../../domain/events.js";
import { appendEvents } from "../events/append-events.js";
import { exec, type Tx } from "../runner.js";

/** Deletes a session's rows (it drained or ended), with its events. */
export function* unregisterSession(sessionId: string, events: readonly EventDraft[]): Tx<void> {
  yield* exec("DELETE FROM `worker_handlers` WHERE `session_id` = ?", [sessionId]);
  yield* appendEvents(events);
}
