/**
 * The client certificate of a request's TLS connection, as the interceptor's context value
 * {@link PEER_CERTIFICATE} (null without TLS or without a certificate). The TLS server asks every
 * client for a certificate but accepts connections without one, or with one its client CA did
 * not sign (api/listen.ts): whether it verified is part of what is passed on, and the key ring
 * (management/key-ring.ts) decides what a call may do with it.
 *
 * A connection's certificate is read once (connections are kept per session or socket in a
 * WeakMap). Node gives the subject alternative names as one string (`DNS:a, URI:spiffe://b`),
 * with a value that could be misread quoted as a JSON string literal (its documented format
 * since CVE-2021-44532): {@link parseSubjectAltNames} reads it that way.
 */
import http2 from "node:http2";
import type { IncomingMessage } from "node:http";
import type { PeerCertificate as TlsPeerCertificate } from "node:tls";
import { createContextKey, createContextValues, type ContextValues } from "@connectrpc/connect";
import {
  certificateIdentities,
  type CertificateName,
  type PeerCertificate,
} from "../domain/client-identities.js";

export const PEER_CERTIFICATE = createContextKey<PeerCertificate | null>(null, {
  description: "the client certificate of the call's TLS connection",
});

/** The kinds Node names in `subjectaltname`, as identities name them. */
const KINDS: Readonly<Record<string, string>> = { URI: "uri", DNS: "dns", email: "email" };

/**
 * The names in Node's `subjectaltname` string: `KIND:value` entries joined by `, `, where a
 * value may be a JSON string literal. An entry that cannot be read ends the list (what was read
 * before it stands; a certificate is never given an identity it does not hold).
 */
export function parseSubjectAltNames(text: string): CertificateName[] {
  const names: CertificateName[] = [];
  let i = 0;
  while (i < text.length) {
    const colon = text.indexOf(":", i);
    if (colon < 0) break;
    const kind = text.slice(i, colon);
    let value: string;
    let end: number;
    if (text[colon + 1] === '"') {
      end = colon + 2;
      while (end < text.length && text[end] !== '"') end += text[end] === "\\" ? 2 : 1;
      if (end >= text.length) break;
      end += 1;
      try {
        value = JSON.parse(text.slice(colon + 1, end)) as string;
      } catch {
        break;
      }
    } else {
      const comma = text.indexOf(", ", colon + 1);
      end = comma < 0 ? text.length : comma;
      value = text.slice(colon + 1, end);
    }
    const as = KINDS[kind];
    if (as !== undefined) names.push({ kind: as, value });
    if (end === text.length) break;
    if (!text.startsWith(", ", end)) break;
    i = end + 2;
  }
  return names;
}

/** What a client certificate says, for the key ring. */
function describe(cert: TlsPeerCertificate, authorized: boolean, error: unknown): PeerCertificate {
  // Node gives a subject with several common names as an array (its types say string).
  const cn: unknown = (cert.subject as Partial<TlsPeerCertificate["subject"]> | undefined)?.CN;
  const commonNames = (Array.isArray(cn) ? (cn as unknown[]) : [cn]).filter(
    (v): v is string => typeof v === "string",
  );
  const alternative = parseSubjectAltNames(cert.subjectaltname ?? "");
  // The common name counts only for a certificate without URI, DNS or email names (RFC 6125):
  // a CA that vouches for the SAN names may let the requester choose the common name.
  const names: CertificateName[] =
    alternative.length > 0 ? alternative : commonNames.map((value) => ({ kind: "cn", value }));
  const notAfter = Date.parse(cert.valid_to);
  return {
    trusted: authorized,
    reason: authorized ? null : reasonOf(error),
    identities: certificateIdentities(names),
    notAfter: Number.isNaN(notAfter) ? 0 : notAfter,
  };
}

/** OpenSSL's code for a failed verification (Node sets `authorizationError` to the code). */
function reasonOf(error: unknown): string {
  if (typeof error === "string" && error !== "") return error;
  if (error instanceof Error) return error.message;
  return "not verified";
}

/** The TLS side of a socket, as much of it as is read here. */
interface TlsSide {
  readonly authorized?: boolean;
  readonly authorizationError?: unknown;
  getPeerCertificate?: (detailed?: boolean) => TlsPeerCertificate;
}

const seen = new WeakMap<object, PeerCertificate | null>();

/** The client certificate of a request's connection; null without TLS or a certificate. */
export function peerCertificate(
  req: IncomingMessage | http2.Http2ServerRequest,
): PeerCertificate | null {
  // An HTTP/2 request's own socket is a proxy per stream: the session is the connection.
  const owner: object | undefined =
    req instanceof http2.Http2ServerRequest ? req.stream.session : req.socket;
  if (owner === undefined) return null;
  const known = seen.get(owner);
  if (known !== undefined) return known;
  const socket = (
    req instanceof http2.Http2ServerRequest ? req.stream.session?.socket : req.socket
  ) as TlsSide | undefined;
  let found: PeerCertificate | null = null;
  if (typeof socket?.getPeerCertificate === "function") {
    const cert = socket.getPeerCertificate(false);
    // Without a certificate Node gives an empty object.
    if (Object.keys(cert).length > 0)
      found = describe(cert, socket.authorized === true, socket.authorizationError);
  }
  seen.set(owner, found);
  return found;
}

/** The context values of a request: its client certificate. */
export function peerContext(req: IncomingMessage | http2.Http2ServerRequest): ContextValues {
  return createContextValues().set(PEER_CERTIFICATE, peerCertificate(req));
}
