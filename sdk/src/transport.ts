/**
 * The one transport set-up of the SDK, for the worker and the client alike: a gRPC transport
 * over HTTP/2 built from `baseUrl` (with keepalive pings), or a transport the caller made, and
 * the bearer token as headers.
 */
import type { ClientHttp2Stream, Http2Session, SecureClientSessionOptions } from "node:http2";
import type { Transport } from "@connectrpc/connect";
import { Http2SessionManager, createGrpcTransport } from "@connectrpc/connect-node";

/**
 * TLS of the connection to an `https://` `baseUrl`; PEM text or its bytes. `cert` and `key` go
 * together: a client certificate for a server that identifies callers by certificate (mTLS,
 * the server's METRONOME_TLS_CLIENT_CA).
 */
export interface TlsOptions {
  /** The CA certificates the server's certificate must chain to; default: Node's trusted CAs. */
  readonly ca?: string | Uint8Array | undefined;
  /** The client certificate (its chain may follow it in the same PEM). */
  readonly cert?: string | Uint8Array | undefined;
  /** The client certificate's private key. */
  readonly key?: string | Uint8Array | undefined;
}

/** How to reach the server: exactly one of `baseUrl` and `transport`. */
export interface ConnectionOptions {
  /** The server, e.g. `http://127.0.0.1:8080` (gRPC over HTTP/2; `https://` for TLS). */
  readonly baseUrl?: string | undefined;
  /** A ready transport instead of `baseUrl` (custom TLS, interceptors, ...); not closed by the SDK. */
  readonly transport?: Transport | undefined;
  /** Sent as `authorization: Bearer <token>`. */
  readonly token?: string | undefined;
  /** TLS of an `https://` `baseUrl`: the server's CA, a client certificate. */
  readonly tls?: TlsOptions | undefined;
}

/** A transport, the headers of every call, and a way to close what the SDK opened. */
export interface Connection {
  readonly transport: Transport;
  /** Headers of every call (the bearer token). */
  readonly headers: Readonly<Record<string, string>>;
  /** Closes the HTTP/2 connection of a transport built from `baseUrl`; nothing otherwise. */
  close(): void;
}

/**
 * HTTP/2 keepalive of the transport built from `baseUrl`: the server sends nothing while a
 * worker is idle or an event stream is quiet, so without PINGs a dead connection would only be
 * noticed by TCP, minutes later.
 */
export const KEEPALIVE = { pingIntervalMs: 15_000, pingTimeoutMs: 10_000 };

/**
 * The connection described by `options`; `owner` ("Worker", "MetronomeClient") starts the
 * messages of the errors it throws: neither or both of `baseUrl` and `transport`, a malformed
 * URL, a scheme other than http:// and https://, `tls` without an https:// `baseUrl`, `cert`
 * without `key` or the other way round.
 */
export function connect(owner: string, options: ConnectionOptions): Connection {
  if ((options.baseUrl === undefined) === (options.transport === undefined)) {
    throw new TypeError(`${owner}: pass exactly one of baseUrl and transport`);
  }
  const headers: Record<string, string> =
    options.token === undefined ? {} : { authorization: `Bearer ${options.token}` };
  const tls = options.tls;
  if (options.transport !== undefined) {
    if (tls !== undefined)
      throw new TypeError(`${owner}: tls applies to baseUrl; give a transport its own TLS`);
    return { transport: options.transport, headers, close: () => undefined };
  }
  const baseUrl = String(options.baseUrl);
  const url = new URL(baseUrl); // throws on a malformed URL, now rather than at the first call
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new TypeError(`${owner}: baseUrl must be http:// or https://, got ${baseUrl}`);
  }
  if (tls !== undefined && url.protocol !== "https:")
    throw new TypeError(`${owner}: tls needs an https:// baseUrl, got ${baseUrl}`);
  if (tls !== undefined && (tls.cert === undefined) !== (tls.key === undefined))
    throw new TypeError(`${owner}: tls.cert and tls.key go together (a client certificate)`);
  const sessionManager = new GuardedSessionManager(url, KEEPALIVE, secureOptions(tls));
  return {
    transport: createGrpcTransport({ baseUrl, sessionManager }),
    headers,
    close: () => {
      sessionManager.abort();
    },
  };
}

/**
 * connect-node's session manager, with one more `error` listener on each HTTP/2 session it opens
 * that never goes away. connect-node 2.1 removes its own listener when the manager is closed,
 * and a session that failed just before (the URL answers, but not with HTTP/2: another service's
 * port) emits its error after that, with no listener: the process crashed ("Unhandled 'error'
 * event") even though the call had already failed and the caller had handled it. connect-node
 * 2.3 keeps its listener, but declares Node >= 22. The error itself still reaches the call.
 */
class GuardedSessionManager extends Http2SessionManager {
  private readonly guarded = new WeakSet<Http2Session>();

  override async request(
    ...args: Parameters<Http2SessionManager["request"]>
  ): Promise<ClientHttp2Stream> {
    const stream = await super.request(...args);
    const session = stream.session;
    if (session !== undefined && !this.guarded.has(session)) {
      this.guarded.add(session);
      session.on("error", () => undefined);
    }
    return stream;
  }
}

/** Node's TLS options for `tls`. */
function secureOptions(tls: TlsOptions | undefined): SecureClientSessionOptions | undefined {
  if (tls === undefined) return undefined;
  const pem = (v: string | Uint8Array): string | Buffer =>
    typeof v === "string" ? v : Buffer.from(v);
  return {
    ...(tls.ca === undefined ? {} : { ca: pem(tls.ca) }),
    ...(tls.cert === undefined ? {} : { cert: pem(tls.cert) }),
    ...(tls.key === undefined ? {} : { key: pem(tls.key) }),
  };
}
