/**
 * Sealed envelopes: a value encrypted with AES-256-GCM under one of several keys, written as one
 * self-describing string that fits wherever a JSON value was stored:
 *
 *   mtn-sealed:v1:<key id>:<iv>:<ciphertext and tag>
 *
 * the IV (96 random bits, fresh for each value) and the ciphertext followed by its 16-byte tag in
 * base64url. The key id says which key opens it, so keys rotate: the first key of the ring seals,
 * every key of the ring opens. Associated data (not stored) binds an envelope to its place: an
 * envelope copied elsewhere does not open there.
 *
 * Errors never carry key material or plaintext: an unknown key id names the id, a failed
 * authentication says so.
 */
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";

export const ENVELOPE_PREFIX = "mtn-sealed:";
const VERSION = "v1";
const IV_BYTES = 12;
const TAG_BYTES = 16;
export const KEY_BYTES = 32;
/** Key ids: what a configuration may name (no `:`, which separates the envelope's parts). */
export const KEY_ID = /^[A-Za-z0-9_.-]{1,64}$/;

export interface EnvelopeKey {
  readonly id: string;
  /** 32 bytes. */
  readonly key: Buffer;
}

/** An envelope sealed under a key id the ring does not hold. */
export class UnknownKeyError extends Error {
  constructor(readonly keyId: string) {
    super(`sealed under key id "${keyId}", which is not configured`);
    this.name = "UnknownKeyError";
  }
}

/** An envelope that is malformed, or whose authentication failed (tampered, or misplaced). */
export class BrokenEnvelopeError extends Error {
  constructor(
    readonly keyId: string | null,
    reason: string,
  ) {
    super(keyId === null ? reason : `${reason} (key id "${keyId}")`);
    this.name = "BrokenEnvelopeError";
  }
}

/** Whether `value` is written as an envelope (of any version). */
export function isEnvelope(value: unknown): value is string {
  return typeof value === "string" && value.startsWith(ENVELOPE_PREFIX);
}

/** The key id an envelope names, or null when it is not one of this version. */
export function envelopeKeyId(envelope: string): string | null {
  const parts = envelope.split(":");
  return parts.length === 5 && parts[1] === VERSION ? (parts[2] ?? null) : null;
}

/**
 * The keys: the first seals, all open. Checks them once (ids, lengths, duplicates); messages
 * name the key id, never the key.
 */
export class SealingKeys {
  private readonly byId: ReadonlyMap<string, Buffer>;
  readonly sealingKeyId: string;

  constructor(keys: readonly EnvelopeKey[]) {
    const first = keys[0];
    if (first === undefined) throw new Error("a key ring needs at least one key");
    const byId = new Map<string, Buffer>();
    for (const k of keys) {
      if (!KEY_ID.test(k.id)) throw new Error(`key id "${k.id}" is not of [A-Za-z0-9_.-]{1,64}`);
      if (k.key.length !== KEY_BYTES)
        throw new Error(
          `key "${k.id}" has ${String(k.key.length)} bytes, not ${String(KEY_BYTES)}`,
        );
      if (byId.has(k.id)) throw new Error(`key id "${k.id}" appears twice`);
      byId.set(k.id, Buffer.from(k.key));
    }
    this.byId = byId;
    this.sealingKeyId = first.id;
  }

  /** `plaintext` sealed under the sealing key, bound to `aad`. */
  seal(plaintext: string, aad: string): string {
    const key = this.byId.get(this.sealingKeyId);
    if (key === undefined) throw new UnknownKeyError(this.sealingKeyId);
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv("aes-256-gcm", key, iv);
    cipher.setAAD(Buffer.from(aad, "utf8"));
    const data = Buffer.concat([
      cipher.update(plaintext, "utf8"),
      cipher.final(),
      cipher.getAuthTag(),
    ]);
    return `${ENVELOPE_PREFIX}${VERSION}:${this.sealingKeyId}:${iv.toString("base64url")}:${data.toString("base64url")}`;
  }

  /** The plaintext of an envelope sealed with `aad`; throws UnknownKeyError, BrokenEnvelopeError. */
  open(envelope: string, aad: string): string {
    const parts = envelope.split(":");
    if (parts.length !== 5 || parts[0] !== ENVELOPE_PREFIX.slice(0, -1))
      throw new BrokenEnvelopeError(null, "malformed sealed value");
    const [, version, keyId = "", ivText = "", dataText = ""] = parts;
    if (version !== VERSION)
      throw new BrokenEnvelopeError(null, `sealed value of unknown version "${String(version)}"`);
    const key = this.byId.get(keyId);
    if (key === undefined) throw new UnknownKeyError(keyId);
    const iv = Buffer.from(ivText, "base64url");
    const data = Buffer.from(dataText, "base64url");
    if (iv.length !== IV_BYTES || data.length < TAG_BYTES)
      throw new BrokenEnvelopeError(keyId, "malformed sealed value");
    const decipher = createDecipheriv("aes-256-gcm", key, iv);
    decipher.setAAD(Buffer.from(aad, "utf8"));
    decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
    try {
      return Buffer.concat([
        decipher.update(data.subarray(0, data.length - TAG_BYTES)),
        decipher.final(),
      ]).toString("utf8");
    } catch {
      throw new BrokenEnvelopeError(keyId, "sealed value failed authentication");
    }
  }
}

/** Text for a log line or a trace: an envelope shows as `(sealed)`, never its ciphertext. */
export function shown(text: string): string {
  return isEnvelope(text) ? "(sealed)" : text;
}
