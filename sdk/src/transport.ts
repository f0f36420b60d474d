/**
 * The one transport set-up of the SDK, for the worker and the client alike: a gRPC transport
 * over HTTP/2 built from `baseUrl` (with keepalive pings), or a transport the caller made, and
 * the bearer token as headers.
 */
import type { Transport } from "@connectrpc/connect";
import { Http2SessionManager, createGrpcTransport } from "@connectrpc/connect-node";

/** How to reach the server: exactly one of `baseUrl` and `transport`. */
export interface ConnectionOptions {
  /** The server, e.g. `http://127.0.0.1:8080` (gRPC over HTTP/2; `https://` for TLS). */
  readonly baseUrl?: string | undefined;
  /** A ready transport instead of `baseUrl` (custom TLS, interceptors, ...); not closed by the SDK. */
  readonly transport?: Transport | undefined;
  /** Sent as `authorization: Bearer <token>`. */
  readonly token?: string | undefined;
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
 * URL, a scheme other than http:// and https://.
 */
export function connect(owner: string, options: ConnectionOptions): Connection {
  if ((options.baseUrl === undefined) === (options.transport === undefined)) {
    throw new TypeError(`${owner}: pass exactly one of baseUrl and transport`);
  }
  const headers: Record<string, string> =
    options.token === undefined ? {} : { authorization: `Bearer ${options.token}` };
  if (options.transport !== undefined) {
    return { transport: options.transport, headers, close: () => undefined };
  }
  const baseUrl = String(options.baseUrl);
  const url = new URL(baseUrl); // throws on a malformed URL, now rather than at the first call
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new TypeError(`${owner}: baseUrl must be http:// or https://, got ${baseUrl}`);
  }
  const sessionManager = new Http2SessionManager(url, KEEPALIVE);
  return {
    transport: createGrpcTransport({ baseUrl, sessionManager }),
    headers,
    close: () => {
      sessionManager.abort();
    },
  };
}
