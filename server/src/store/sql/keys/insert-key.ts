import type { EventDraft } from "../../../domain/events.js";
import type { ApiKeyRecord } from "../../../domain/keys.js";
import { appendEvents } from "../events/append-events.js";
import { exec, placeholders, type Tx } from "../runner.js";
import { KEY_COLUMNS, keyCells } from "./key-rows.js";

/** Inserts a key with its events (a duplicate id throws: the store answers false). */
export function* insertKey(key: ApiKeyRecord, events: readonly EventDraft[]): Tx<boolean> {
  yield* exec(
    `INSERT INTO \`api_keys\` (${KEY_COLUMNS.map((c) => `\`${c}\``).join(", ")}) VALUES (${placeholders(KEY_COLUMNS.length)})`,
    keyCells(key),
  );
  yield* appendEvents(events);
  return true;
}
