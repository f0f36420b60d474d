/** The `api_keys` table's rows, the same in every SQL store, and their mapping to keys. */
import type { ApiKeyRecord } from "../../../domain/keys.js";
import { num, numOrNull, strOrNull, type Param, type Row } from "../runner.js";

/** The columns and how a key fills each (scopes as a JSON array). */
const KEY_FIELDS: readonly (readonly [column: string, cell: (k: ApiKeyRecord) => Param])[] = [
  ["id", (k) => k.id],
  ["name", (k) => k.name],
  ["scopes", (k) => JSON.stringify(k.scopes)],
  ["hash", (k) => k.hash],
  ["salt", (k) => k.salt],
  ["created_at", (k) => k.createdAt],
  ["created_by", (k) => k.createdBy],
  ["expires_at", (k) => k.expiresAt],
  ["revoked_at", (k) => k.revokedAt],
  ["revoked_by", (k) => k.revokedBy],
];

export const KEY_COLUMNS = KEY_FIELDS.map(([column]) => column);

/** Every column of a key, for a SELECT. */
export const KEY_SELECT = KEY_COLUMNS.map((c) => `\`${c}\``).join(", ");

export function keyCells(k: ApiKeyRecord): Param[] {
  return KEY_FIELDS.map(([, cell]) => cell(k));
}

export function keyFromRow(r: Row): ApiKeyRecord {
  return {
    id: String(r.id),
    name: strOrNull(r.name) ?? "",
    scopes: JSON.parse(strOrNull(r.scopes) ?? "[]") as string[],
    hash: String(r.hash),
    salt: String(r.salt),
    createdAt: num(r.created_at),
    createdBy: strOrNull(r.created_by) ?? "",
    expiresAt: numOrNull(r.expires_at),
    revokedAt: numOrNull(r.revoked_at),
    revokedBy: strOrNull(r.revoked_by),
  };
}
