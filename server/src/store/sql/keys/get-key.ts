import type { ApiKeyRecord } from "../../../domain/keys.js";
import { all, type Tx } from "../runner.js";
import { KEY_SELECT, keyFromRow } from "./key-rows.js";

export function* getKey(id: string): Tx<ApiKeyRecord | null> {
  const rows = yield* all(`SELECT ${KEY_SELECT} FROM \`api_keys\` WHERE \`id\` = ?`, [id]);
  return rows[0] === undefined ? null : keyFromRow(rows[0]);
}
