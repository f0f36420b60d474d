/**
 * API key use cases (KeyService): create (the secret is answered once; only its scrypt hash is
 * stored), list, revoke. Each change records its actor on the key and in a key_created or
 * key_revoked event, and is applied to this node's key ring at once (other nodes read it at
 * their next refresh).
 */
import type { Clock } from "../clock.js";
import { InvalidArgumentError, NotFoundError } from "../domain/errors.js";
import { keyEvent } from "../domain/events.js";
import { ANONYMOUS, Scopes, type ApiKeyRecord } from "../domain/keys.js";
import { currentActor } from "../lib/actor.js";
import type { KeyStore } from "../store/port.js";
import { newSecret, type KeyRing } from "./key-ring.js";

export interface CreateKeyInput {
  readonly name: string;
  readonly scopes: readonly string[];
  /** Epoch milliseconds; undefined: never expires. */
  readonly expiresAt?: number | undefined;
}

const MAX_NAME = 191;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;
const KEY_ID_RE = /^[0-9a-f]{16}$/;

export class KeyManager {
  constructor(
    private readonly store: KeyStore,
    private readonly ring: KeyRing,
    private readonly clock: Clock,
    private readonly nodeId: string,
  ) {}

  async create(input: CreateKeyInput): Promise<{ key: ApiKeyRecord; secret: string }> {
    if (input.name === "") throw new InvalidArgumentError("name", "is required");
    if (Array.from(input.name).length > MAX_NAME || CONTROL.test(input.name))
      throw new InvalidArgumentError(
        "name",
        `must be at most ${String(MAX_NAME)} characters without control characters`,
      );
    const scopes = Scopes.parse(input.scopes, "scopes");
    const now = this.clock.now();
    if (input.expiresAt !== undefined && input.expiresAt <= now)
      throw new InvalidArgumentError("expires_at", "must be in the future");
    const actor = currentActor() ?? ANONYMOUS;
    for (;;) {
      const { id, secret, salt, hash } = await newSecret();
      const key: ApiKeyRecord = {
        id,
        name: input.name,
        scopes: scopes.list,
        hash,
        salt,
        createdAt: now,
        createdBy: actor,
        expiresAt: input.expiresAt ?? null,
        revokedAt: null,
        revokedBy: null,
      };
      // A repeated id (64 random bits) is drawn again.
      if (await this.store.insertKey(key, [keyEvent("key_created", id, now, this.nodeId, actor)])) {
        this.ring.changed(key);
        return { key, secret };
      }
    }
  }

  list(): Promise<ApiKeyRecord[]> {
    return this.store.listKeys();
  }

  async revoke(keyId: string): Promise<ApiKeyRecord> {
    if (!KEY_ID_RE.test(keyId))
      throw new InvalidArgumentError("key_id", "is not a key id (16 lowercase hex digits)");
    const now = this.clock.now();
    const actor = currentActor() ?? ANONYMOUS;
    const out = await this.store.revokeKey(keyId, now, actor, () => [
      keyEvent("key_revoked", keyId, now, this.nodeId, actor),
    ]);
    if (out === null) throw new NotFoundError(`key ${keyId}`);
    this.ring.changed(out.key);
    return out.key;
  }
}
