/**
 * One listening port for every protocol: gRPC and gRPC-Web and Connect over HTTP/2, and Connect
 * JSON over HTTP/1.1 (plain `curl`). In plaintext the first bytes of each connection decide: the
 * HTTP/2 preface (`PRI * HTTP/2.0`) goes to an h2c server, anything else to an HTTP/1.1 server.
 * With TLS, ALPN decides (`allowHTTP1`).
 */
import { readFileSync } from "node:fs";
import http from "node:http";
import http2 from "node:http2";
import net from "node:net";
import type { AddressInfo } from "node:net";

export type RequestHandler = (
  req: http.IncomingMessage | http2.Http2ServerRequest,
  res: http.ServerResponse | http2.Http2ServerResponse,
) => void;

export interface ListenOptions {
  readonly host: string;
  readonly port: number;
  readonly tls?: { readonly certFile: string; readonly keyFile: string } | undefined;
  readonly onError?: ((err: Error) => void) | undefined;
}

export interface Listener {
  readonly address: AddressInfo;
  /** Stop accepting; let open requests finish for up to `graceMs`, then cut every connection. */
  close(graceMs: number): Promise<void>;
}

const PREFACE = "PRI * HTTP/2.0";
const SNIFF_TIMEOUT_MS = 10_000;

export async function listen(handler: RequestHandler, options: ListenOptions): Promise<Listener> {
  const sessions = new Set<http2.ServerHttp2Session>();
  const sockets = new Set<net.Socket>();
  let h1: http.Server | undefined;
  let front: net.Server;

  if (options.tls) {
    const secure = http2.createSecureServer(
      {
        cert: readFileSync(options.tls.certFile),
        key: readFileSync(options.tls.keyFile),
        allowHTTP1: true,
      },
      handler,
    );
    secure.on("session", (s) => {
      sessions.add(s);
      s.on("close", () => sessions.delete(s));
    });
    front = secure;
  } else {
    const h2 = http2.createServer({}, handler);
    h2.on("session", (s) => {
      sessions.add(s);
      s.on("close", () => sessions.delete(s));
    });
    const plain = http.createServer(handler);
    h1 = plain;
    // No Nagle: small HTTP/2 frames must not wait ~40 ms for the peer's delayed ACK.
    front = net.createServer({ noDelay: true }, (socket) => {
      sockets.add(socket);
      socket.on("close", () => sockets.delete(socket));
      let head = Buffer.alloc(0);
      const onData = (chunk: Buffer): void => {
        head = Buffer.concat([head, chunk]);
        const text = head.toString("latin1");
        // Wait while the bytes so far could still be the start of the preface.
        if (head.length < PREFACE.length && PREFACE.startsWith(text)) return;
        socket.off("data", onData);
        socket.setTimeout(0);
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
      // A connection that never says which protocol it speaks is dropped.
      socket.setTimeout(SNIFF_TIMEOUT_MS, () => socket.destroy());
    });
  }

  await new Promise<void>((resolve, reject) => {
    front.once("error", reject);
    front.listen(options.port, options.host, () => {
      front.off("error", reject);
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
    },
  };
}
