/**
 * The store port's part about API keys (docs/security.md): each key's hash, salt, scopes,
 * expiry and revocation, never its secret. Part of the one `Store` interface (port.ts, which
 * re-exports this file).
 *
 * Implemented by the SQL stores (sql/keys/) and the Redis store (redis/api-keys.ts).
 *
 * Every node reads the whole list every few seconds (management/key-ring.ts): the list is small
 * (keys are made by people), and reading it in the background keeps authentication off the
 * store on every call.
 */
import type { EventDraft } from "../domain/events.js";
import type { ApiKeyRecord } from "../domain/keys.js";

export interface KeyStore {
  /** Inserts a key with its events; false (nothing written) when its id exists. */
  insertKey(key: ApiKeyRecord, events?: readonly EventDraft[]): Promise<boolean>;
  /** A key by id, revoked and expired ones included. */
  getKey(id: string): Promise<ApiKeyRecord | null>;
  /** Every key, newest first, revoked and expired ones included. */
  listKeys(): Promise<ApiKeyRecord[]>;
  /**
   * Marks a key revoked at `at` by `by`, with the events `events` makes of it, unless it is
   * revoked already (then nothing changes and no event is written). Answers the key as it is
   * afterwards and whether this call revoked it; null when it does not exist.
   */
  revokeKey(
    id: string,
    at: number,
    by: string,
    events?: (revoked: ApiKeyRecord) => readonly EventDraft[],
  ): Promise<{ readonly key: ApiKeyRecord; readonly revoked: boolean } | null>;
}
