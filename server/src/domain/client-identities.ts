/**
 * Client certificates as identities (mTLS, docs/security.md), pure: how an identity is written,
 * the identities a certificate carries in the order they are matched, and the table that maps
 * identities to scopes (the file METRONOME_TLS_CLIENT_IDENTITIES names).
 *
 * An identity is `<kind>:<value>`: `uri:` a URI subject alternative name (a SPIFFE id such as
 * `uri:spiffe://example.org/ns/prod/sa/billing`), `dns:` a DNS name (compared in lower case),
 * `email:` an email address, `cn:` the subject's common name. A certificate's identities are
 * tried in that order (its URI names, then DNS names, then email addresses, then its common
 * name; within a kind, in the certificate's order), and the first one the table holds decides
 * alone: scopes of several entries are never merged.
 */
import { InvalidArgumentError } from "./errors.js";

export const IDENTITY_KINDS = ["uri", "dns", "email", "cn"] as const;
export type IdentityKind = (typeof IDENTITY_KINDS)[number];

/** What the TLS layer saw of a client's certificate. */
export interface PeerCertificate {
  /** Whether it verified against the client CA (signature, chain, validity dates, purpose). */
  readonly trusted: boolean;
  /** Why not (OpenSSL's code, e.g. `UNABLE_TO_VERIFY_LEAF_SIGNATURE`); null when trusted. */
  readonly reason: string | null;
  /** Its identities in match order (see {@link certificateIdentities}). */
  readonly identities: readonly string[];
  /** When it expires, epoch milliseconds. */
  readonly notAfter: number;
}

/** A name in a certificate: a subject alternative name, or the subject's common name. */
export interface CertificateName {
  /** `uri`, `dns`, `email`, `cn`; other kinds (IP addresses, …) are never identities. */
  readonly kind: string;
  readonly value: string;
}

/** The longest identity: its actor, `cert:<identity>`, fits the stores' 191-character columns. */
export const MAX_IDENTITY_LENGTH = 186;

/** The audit's actor of a call made with a certificate. */
export const certActor = (identity: string): string => `cert:${identity}`;

/** Printable ASCII (spaces allowed: common names have them). */
const PRINTABLE = /^[\x20-\x7e]+$/;

/** `<kind>:<value>` in its compared form: a DNS name in lower case. */
function canonical(kind: IdentityKind, value: string): string {
  return `${kind}:${kind === "dns" ? value.toLowerCase() : value}`;
}

/**
 * An identity as configured, checked and in its compared form. Throws InvalidArgumentError
 * (`field` empty) saying what is wrong.
 */
export function parseIdentity(text: string): string {
  const colon = text.indexOf(":");
  const kind = text.slice(0, Math.max(colon, 0));
  const value = text.slice(colon + 1);
  if (colon < 0 || !(IDENTITY_KINDS as readonly string[]).includes(kind))
    throw new InvalidArgumentError(
      "",
      `expected uri:<URI>, dns:<name>, email:<address> or cn:<common name>, got ${JSON.stringify(text.slice(0, 200))}`,
    );
  if (value === "" || !PRINTABLE.test(value) || value.trim() !== value)
    throw new InvalidArgumentError(
      "",
      `the value after ${kind}: must be printable ASCII without leading or trailing spaces, got ${JSON.stringify(text.slice(0, 200))}`,
    );
  if (text.length > MAX_IDENTITY_LENGTH)
    throw new InvalidArgumentError("", `at most ${String(MAX_IDENTITY_LENGTH)} characters`);
  return canonical(kind as IdentityKind, value);
}

/** A certificate's identities, in match order, in their compared form; other names dropped. */
export function certificateIdentities(names: readonly CertificateName[]): string[] {
  const out: string[] = [];
  for (const kind of IDENTITY_KINDS)
    for (const n of names)
      if (n.kind === kind && n.value !== "") out.push(canonical(kind, n.value));
  return out;
}

/** Which certificate identities get which scopes. */
export class ClientIdentities {
  /** `table`: identities in their compared form (parseIdentity) to their (checked) scopes. */
  constructor(private readonly table: ReadonlyMap<string, readonly string[]>) {}

  /** Every identity of the table with its scopes. */
  entries(): IterableIterator<[string, readonly string[]]> {
    return this.table.entries();
  }

  /** The first of `identities` the table holds, with its scopes. */
  match(
    identities: readonly string[],
  ): { identity: string; scopes: readonly string[] } | undefined {
    for (const identity of identities) {
      const scopes = this.table.get(identity);
      if (scopes !== undefined) return { identity, scopes };
    }
    return undefined;
  }
}
