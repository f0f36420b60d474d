/**
 * One listening port for every protocol: gRPC and gRPC-Web and Connect over HTTP/2, and Connect
 * JSON over HTTP/1.1 (plain `curl`). In plaintext the first bytes of each connection decide: the
 * HTTP/2 preface (`PRI * HTTP/2.0`) goes to an h2c server, anything else to an HTTP/1.1 server.
 * With TLS, ALPN decides (`allowHTTP1`); with a client CA, clients are asked for a certificate
 * (mTLS, docs/security.md).
 *
 * Hostile traffic is bounded at every stage (docs/security.md): the sniffing stage must see the
 * first bytes within the headers timeout; HTTP/1.1 has Node's header and request timeouts;
 * HTTP/2 sessions have limits on concurrent streams, invalid frames and refused streams, and
 * session-guard.ts closes those that open no stream, stay idle or reset streams too fast.
 */
import { readFileSync } from "node:fs";
import http from "node:http";
import http2 from "node:http2";
import net from "node:net";
import type { AddressInfo } from "node:net";
import { guardSession } from "./session-guard.js";

export type RequestHandler = (
  req: http.IncomingMessage | http2.Http2ServerRequest,
  res: http.ServerResponse | http2.Http2ServerResponse,
) => void;

export interface ListenOptions {
  readonly host: string;
  readonly port: number;
  readonly tls?: TlsFiles | undefined;
  readonly onError?: ((err: Error) => void) | undefined;
  readonly limits: TransportLimits;
}

export interface TlsFiles {
  readonly certFile: string;
  readonly keyFile: string;
  /**
   * mTLS: the CA certificates (PEM) of client certificates. Every client is asked for one; a
   * connection without one, or with one this CA did not sign, is still accepted (bearer tokens
   * work on it), and the certificate identifies no one (api/peer-certificate.ts).
   */
  readonly client?: { readonly caFile: string } | undefined;
}

/** Bounds on what one connection may cost (configuration keys METRONOME_HEADERS_TIMEOUT, …). */
export interface TransportLimits {
  /**
   * Time to send the first bytes (sniffing), a request's headers (HTTP/1.1), or to open the
   * first stream of an HTTP/2 session.
   */
  readonly headersTimeoutMs: number;
  /** Time to send a whole HTTP/1.1 request, body included. */
  readonly requestTimeoutMs: number;
  /** Time an HTTP/2 session may have no open stream before it is closed. */
  readonly idleTimeoutMs: number;
  /** Concurrent streams one HTTP/2 session may open (SETTINGS_MAX_CONCURRENT_STREAMS). */
  readonly maxConcurrentStreams: number;
  /** Streams an HTTP/2 peer may reset within 10 s before its session is destroyed. */
  readonly maxResets: number;
  /** Invalid frames (and streams refused past the limit) an HTTP/2 session may send. */
  readonly maxInvalidFrames: number;
}

export interface Listener {
  readonly address: AddressInfo;
  /** Stop accepting; let open requests finish for up to `graceMs`, then cut every connection. */
  close(graceMs: number): Promise<void>;
}

const PREFACE = "PRI * HTTP/2.0";

function http2Options(limits: TransportLimits): http2.ServerOptions {
  return {
    settings: { maxConcurrentStreams: limits.maxConcurrentStreams },
    maxSessionInvalidFrames: limits.maxInvalidFrames,
    maxSessionRejectedStreams: limits.maxInvalidFrames,
  };
}

/**
 * The handler for HTTP/2 requests, one turn of the event loop later: a client that opens and
 * resets streams in one burst (rapid reset) has its resets read in the same turn, so the streams
 * it reset cost nothing more than their frames.
 */
function skipReset(handler: RequestHandler): RequestHandler {
  return (req, res) => {
    // With TLS, HTTP/1.1 requests come this way too.
    if (!(req instanceof http2.Http2ServerRequest)) {
      handler(req, res);
      return;
    }
    setImmediate(() => {
      if (req.stream.destroyed || req.stream.closed) return;
      handler(req, res);
    });
  };
}

export async function listen(handler: RequestHandler, options: ListenOptions): Promise<Listener> {
  const limits = options.limits;
  const sessions = new Set<http2.ServerHttp2Session>();
  const sockets = new Set<net.Socket>();
  const onSession = (s: http2.ServerHttp2Session): void => {
    sessions.add(s);
    s.on("close", () => sessions.delete(s));
    // A session's errors (a peer that vanished, a flood cut off) end it; nothing to report.
    s.on("error", () => undefined);
    guardSession(s, limits);
  };
  let h1: http.Server | undefined;
  let front: net.Server;

  if (options.tls) {
    const secure = http2.createSecureServer(
      {
        ...http2Options(limits),
        cert: readFileSync(options.tls.certFile),
        key: readFileSync(options.tls.keyFile),
        ...(options.tls.client === undefined
          ? {}
          : {
              ca: readFileSync(options.tls.client.caFile),
              requestCert: true,
              rejectUnauthorized: false,
            }),
        allowHTTP1: true,
        handshakeTimeout: limits.headersTimeoutMs,
      },
      skipReset(handler),
    );
    secure.on("session", onSession);
    front = secure;
  } else {
    const h2 = http2.createServer(http2Options(limits), skipReset(handler));
    h2.on("session", onSession);
    const plain = http.createServer(
      {
        headersTimeout: limits.headersTimeoutMs,
        requestTimeout: limits.requestTimeoutMs,
        // How often those two are checked.
        connectionsCheckingInterval: Math.min(1000, limits.headersTimeoutMs),
      },
      handler,
    );
    // Node enforces headersTimeout and requestTimeout only for the connections of a server
    // that emitted "listening" (it starts its connection tracking then). This one never
    // listens, the front server hands it its connections, so it is told it listens.
    plain.emit("listening");
    h1 = plain;
    // No Nagle: small HTTP/2 frames must not wait ~40 ms for the peer's delayed ACK.
    front = net.createServer({ noDelay: true }, (socket) => {
      sockets.add(socket);
      socket.on("close", () => sockets.delete(socket));
      // A connection that does not say which protocol it speaks within the bound is dropped,
      // however slowly it trickles its bytes.
      const sniffTimer = setTimeout(() => socket.destroy(), limits.headersTimeoutMs);
      sniffTimer.unref();
      socket.once("close", () => {
        clearTimeout(sniffTimer);
      });
      let head = Buffer.alloc(0);
      const onData = (chunk: Buffer): void => {
        head = Buffer.concat([head, chunk]);
        const text = head.toString("latin1");
        // Wait while the bytes so far could still be the start of the preface.
        if (head.length < PREFACE.length && PREFACE.startsWith(text)) return;
        clearTimeout(sniffTimer);
        socket.off("data", onData);
        socket.pause();
        socket.unshift(head);
        if (text.startsWith(PREFACE)) {
          // An HTTP/2 session takes the bytes already buffered on the socket (readableLength)
          // before reading its native handle; resuming here would hand them to nobody.
          h2.emit("connection", socket);
        } else {
          plain.emit("connection", socket);
          socket.resume();
        }
      };
      socket.on("data", onData);
      socket.on("error", () => socket.destroy());
    });
  }

  await new Promise<void>((resolve, reject) => {
    front.once("error", (err) => {
      h1?.close();
      reject(err);
    });
    front.listen(options.port, options.host, () => {
      front.removeAllListeners("error");
      // After start-up an accept error (e.g. out of file descriptors) is logged, not fatal.
      front.on("error", (err) => options.onError?.(err));
      resolve();
    });
  });

  return {
    address: front.address() as AddressInfo,
    close: async (graceMs: number) => {
      const closed = new Promise<void>((resolve) =>
        front.close(() => {
          resolve();
        }),
      );
      for (const s of sessions) s.close();
      h1?.closeIdleConnections();
      const timer = setTimeout(() => {
        for (const s of sessions) s.destroy();
        h1?.closeAllConnections();
        for (const socket of sockets) socket.destroy();
      }, graceMs);
      timer.unref();
      await closed;
      clearTimeout(timer);
      // Stops its connection checks (it never listened: closing only clears them).
      h1?.close();
    },
  };
}
