/**
 * Who a call comes from: the node's view of the API keys (docs/security.md), kept in memory so
 * that authenticating a call costs no store round trip.
 *
 * - Every `refreshMs` (2 s) the ring reads every key from the store; a key revoked or expired
 *   since (on any node) stops authenticating, and the `ended` signal of its principal aborts,
 *   which ends the worker sessions and event subscriptions it opened. So a revocation takes
 *   effect everywhere within one refresh (plus the time of a read).
 * - A key not known yet (created on another node since the last read) is read once by id; an
 *   unknown id is remembered as unknown until the next refresh, and at most a few such reads run
 *   at once, so garbage tokens cannot turn into a store round trip each. A call that finds those
 *   reads busy waits for the next refresh instead of being refused: a flood of unknown ids
 *   delays a new key's first calls (at most one refresh) but does not make them fail.
 * - A secret is checked with scrypt (its salt is the key's own) once; a check that passed is
 *   remembered for `verifiedMs` (60 s) as a SHA-256 of the secret, compared in constant time.
 * - The tokens of METRONOME_AUTH_TOKENS are bootstrap admin keys (actor `env:<n>`). Without
 *   tokens the server runs without authentication: every call is `anonymous` with every scope.
 * - With a client CA (mTLS), a call without a bearer token is judged by its client certificate:
 *   the first of its identities in the table gets that entry's scopes (actor `cert:<identity>`).
 *   A call with a bearer token is judged by the token alone. Client certificates turn
 *   authentication on by themselves, API keys included.
 */
import { createHash, randomBytes, scrypt, timingSafeEqual } from "node:crypto";
import type { Clock } from "../clock.js";
import {
  certActor,
  type ClientIdentities,
  type PeerCertificate,
} from "../domain/client-identities.js";
import { UnauthenticatedError } from "../domain/errors.js";
import { ANONYMOUS, Scopes, envActor, keyActive, type ApiKeyRecord } from "../domain/keys.js";
import type { Logger } from "../logger.js";
import type { KeyStore } from "../store/port.js";

/** Who a call comes from and what it may do. */
export interface Principal {
  /** The audit's actor: the key's id, `env:<n>`, `cert:<identity>` or `anonymous`. */
  readonly actor: string;
  /** The API key's id; null for bootstrap tokens, certificates and anonymous calls. */
  readonly keyId: string | null;
  readonly scopes: Scopes;
  /** Aborts when the key is revoked or expires (never for tokens, certificates, anonymous calls). */
  readonly ended: AbortSignal;
}

const NEVER = new AbortController().signal;

export const ANONYMOUS_PRINCIPAL: Principal = {
  actor: ANONYMOUS,
  keyId: null,
  scopes: Scopes.ADMIN,
  ended: NEVER,
};

/** `mtk_<16 hex id>_<43 base64url characters>`. */
const SECRET_RE = /^mtk_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

const SCRYPT = { N: 16_384, r: 8, p: 1, maxmem: 64 * 1024 * 1024 } as const;
const HASH_BYTES = 32;

/** scrypt of a secret under a salt (hex in, hex out). */
export function hashSecret(secret: string, saltHex: string): Promise<string> {
  return new Promise((resolve, reject) => {
    scrypt(secret, Buffer.from(saltHex, "hex"), HASH_BYTES, SCRYPT, (err, key) => {
      if (err) reject(err);
      else resolve(key.toString("hex"));
    });
  });
}

/** A new key's id, secret, salt and hash. */
export async function newSecret(): Promise<{
  id: string;
  secret: string;
  salt: string;
  hash: string;
}> {
  const id = randomBytes(8).toString("hex");
  const secret = `mtk_${id}_${randomBytes(32).toString("base64url")}`;
  const salt = randomBytes(16).toString("hex");
  return { id, secret, salt, hash: await hashSecret(secret, salt) };
}

const sha256 = (s: string): Buffer => createHash("sha256").update(s).digest();

interface Known {
  readonly record: ApiKeyRecord;
  readonly principal: Principal;
  readonly end: AbortController;
  /** SHA-256 of the secret that passed scrypt, and until when that holds. */
  verified?: { digest: Buffer; until: number };
}

export interface KeyRingOptions {
  readonly tokens: readonly string[];
  /** mTLS: the scopes of client certificate identities (METRONOME_TLS_CLIENT_IDENTITIES). */
  readonly clientIdentities?: ClientIdentities | undefined;
  readonly refreshMs?: number;
  readonly verifiedMs?: number;
}

/** The most reads of unknown key ids at once. */
const MAX_LOOKUPS = 4;

export class KeyRing {
  private readonly tokens: readonly Buffer[];
  /** The principal of each identity of the client certificate table. */
  private readonly certificates: ReadonlyMap<string, Principal> | undefined;
  private readonly clientIdentities: ClientIdentities | undefined;
  private readonly refreshMs: number;
  private readonly verifiedMs: number;
  private readonly known = new Map<string, Known>();
  /** Ids read and not found, until the next refresh. */
  private readonly unknown = new Set<string>();
  private lookups = 0;
  private timer: NodeJS.Timeout | undefined;
  private refreshing: Promise<void> | undefined;
  /** Calls waiting for the next refresh (their id's read could not run: see lookUp). */
  private waiting: (() => void)[] = [];

  constructor(
    private readonly store: KeyStore,
    private readonly clock: Clock,
    private readonly log: Logger,
    options: KeyRingOptions,
  ) {
    this.tokens = options.tokens.map((t) => sha256(t));
    this.clientIdentities = options.clientIdentities;
    this.certificates =
      options.clientIdentities === undefined
        ? undefined
        : new Map(
            [...options.clientIdentities.entries()].map(([identity, scopes]) => [
              identity,
              { actor: certActor(identity), keyId: null, scopes: Scopes.of(scopes), ended: NEVER },
            ]),
          );
    this.refreshMs = options.refreshMs ?? 2000;
    this.verifiedMs = options.verifiedMs ?? 60_000;
  }

  /** Whether calls need credentials (tokens or client certificates are configured). */
  get enabled(): boolean {
    return this.tokens.length > 0 || this.certificates !== undefined;
  }

  /** Whether calls are judged by their client certificates (a client CA is configured). */
  get readsCertificates(): boolean {
    return this.certificates !== undefined;
  }

  /** Reads the keys now and then every refreshMs. */
  start(): void {
    if (!this.enabled || this.timer !== undefined) return;
    const tick = (): void => {
      void this.refresh().finally(() => {
        if (this.timer !== undefined) this.timer = setTimeout(tick, this.refreshMs);
      });
    };
    this.timer = setTimeout(tick, 0);
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.refreshing;
    this.wakeWaiting();
  }

  /** Reads every key and applies revocations and expiries (one read at a time). */
  refresh(): Promise<void> {
    this.refreshing ??= this.readAll().finally(() => {
      this.refreshing = undefined;
      this.wakeWaiting();
    });
    return this.refreshing;
  }

  private wakeWaiting(): void {
    const woken = this.waiting;
    this.waiting = [];
    for (const wake of woken) wake();
  }

  /** A key changed through this node: applied at once rather than at the next refresh. */
  changed(record: ApiKeyRecord): void {
    this.apply(record);
  }

  /**
   * The principal of a call from its `authorization` header or, when it has none, from its
   * client certificate (`peer`, null when it sent none or the connection is not TLS).
   */
  async authenticate(
    authorization: string | null,
    peer: PeerCertificate | null = null,
  ): Promise<Principal> {
    if (!this.enabled) return ANONYMOUS_PRINCIPAL;
    if (authorization === null && this.certificates !== undefined) return this.ofCertificate(peer);
    const m = /^Bearer\s+(\S+)$/i.exec(authorization ?? "");
    const token = m?.[1];
    if (token === undefined) throw new UnauthenticatedError("missing or invalid bearer token");
    const digest = sha256(token);
    const n = this.tokens.findIndex((t) => timingSafeEqual(t, digest));
    if (n >= 0) return { actor: envActor(n + 1), keyId: null, scopes: Scopes.ADMIN, ended: NEVER };
    const parts = SECRET_RE.exec(token);
    if (!parts?.[1]) throw new UnauthenticatedError("missing or invalid bearer token");
    const known = this.known.get(parts[1]) ?? (await this.lookUp(parts[1]));
    const now = this.clock.now();
    if (known === undefined || !keyActive(known.record, now)) {
      if (known !== undefined) this.apply(known.record);
      throw new UnauthenticatedError("missing or invalid bearer token");
    }
    const v = known.verified;
    if (v !== undefined && v.until > now && timingSafeEqual(v.digest, digest))
      return known.principal;
    const hash = await hashSecret(token, known.record.salt);
    if (!timingSafeEqual(Buffer.from(hash, "hex"), Buffer.from(known.record.hash, "hex")))
      throw new UnauthenticatedError("missing or invalid bearer token");
    known.verified = { digest, until: now + this.verifiedMs };
    return known.principal;
  }

  /** The principal of a client certificate: trusted, unexpired, its identity in the table. */
  private ofCertificate(peer: PeerCertificate | null): Principal {
    if (peer === null) throw new UnauthenticatedError("no bearer token and no client certificate");
    if (!peer.trusted)
      throw new UnauthenticatedError(
        `the client certificate is not trusted (${peer.reason ?? "not verified"}): it must be signed by the client CA and valid`,
      );
    if (peer.notAfter <= this.clock.now())
      throw new UnauthenticatedError(
        `the client certificate expired at ${new Date(peer.notAfter).toISOString()}`,
      );
    const match = this.clientIdentities?.match(peer.identities);
    const principal = match && this.certificates?.get(match.identity);
    if (principal === undefined) {
      const shown = peer.identities.slice(0, 5).map((i) => JSON.stringify(i.slice(0, 200)));
      throw new UnauthenticatedError(
        `the client certificate's identities (${shown.length > 0 ? shown.join(", ") : "none"}) have no scopes in METRONOME_TLS_CLIENT_IDENTITIES`,
      );
    }
    return principal;
  }

  private async lookUp(id: string): Promise<Known | undefined> {
    if (this.unknown.has(id)) return undefined;
    if (this.lookups >= MAX_LOOKUPS) {
      // Reads by id are busy (garbage tokens, likely): the next refresh reads every key.
      if (this.timer === undefined) return undefined;
      await new Promise<void>((resolve) => this.waiting.push(resolve));
      return this.known.get(id);
    }
    this.lookups++;
    try {
      const record = await this.store.getKey(id);
      if (record === null) {
        this.unknown.add(id);
        return undefined;
      }
      this.apply(record);
      return this.known.get(id);
    } finally {
      this.lookups--;
    }
  }

  private async readAll(): Promise<void> {
    let records: ApiKeyRecord[];
    try {
      records = await this.store.listKeys();
    } catch (err) {
      this.log.warn({ err }, "could not read the API keys; keeping the last ones read");
      return;
    }
    this.unknown.clear();
    const seen = new Set<string>();
    for (const r of records) {
      seen.add(r.id);
      this.apply(r);
    }
    // A key deleted from the store (by hand) authenticates nothing either.
    for (const [id, k] of this.known) {
      if (!seen.has(id)) {
        k.end.abort(new UnauthenticatedError("the API key was removed"));
        this.known.delete(id);
      }
    }
  }

  /** Records a key's latest state: an inactive one is forgotten and its streams end. */
  private apply(record: ApiKeyRecord): void {
    const current = this.known.get(record.id);
    if (!keyActive(record, this.clock.now())) {
      if (current !== undefined) {
        current.end.abort(
          new UnauthenticatedError(
            `the API key ${record.id} was ${record.revokedAt === null ? "expired" : "revoked"}`,
          ),
        );
        this.known.delete(record.id);
      }
      // Remembered as inactive so that its next call costs no lookup.
      const end = new AbortController();
      end.abort();
      this.known.set(record.id, { record, principal: this.principal(record, end), end });
      return;
    }
    if (current !== undefined && keyActive(current.record, this.clock.now())) {
      // Scopes and expiry do not change after creation; only revocation does.
      return;
    }
    const end = new AbortController();
    this.known.set(record.id, { record, principal: this.principal(record, end), end });
  }

  private principal(record: ApiKeyRecord, end: AbortController): Principal {
    return {
      actor: record.id,
      keyId: record.id,
      scopes: Scopes.of(record.scopes),
      ended: end.signal,
    };
  }
}
