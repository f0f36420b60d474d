import type { ApiKeyRecord } from "../../../domain/keys.js";
import { all, type Tx } from "../runner.js";
import { KEY_SELECT, keyFromRow } from "./key-rows.js";

/** Every key, newest first (ids break ties). */
export function* listKeys(): Tx<ApiKeyRecord[]> {
  const rows = yield* all(
    `SELECT ${KEY_SELECT} FROM \`api_keys\` ORDER BY \`created_at\` DESC, \`id\` DESC`,
  );
  return rows.map(keyFromRow);
}
