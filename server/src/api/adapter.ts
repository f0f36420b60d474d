/**
 * The router as a Node request handler (what `connectNodeAdapter` does), with one addition: a
 * binary unary request message that does not decode ends the call with INVALID_ARGUMENT
 * (undecodable.ts: Connect answers it with INTERNAL before any interceptor could map it). Over
 * gRPC, the status of Connect's answer is replaced in its trailers, before they are sent, so the
 * message is decoded once, by Connect; over gRPC-Web and Connect's protocol (whose errors travel
 * in the body), the message is decoded here once before Connect sees it. A stream's messages are
 * not decoded here: Connect decodes them as the service reads them, and the request interceptor
 * maps a failure there (undecodable.ts `decodeErrors`), so a worker's results are decoded once.
 *
 * Binary messages come enveloped (gRPC, gRPC-Web, Connect streaming: a flags byte and a 4-byte
 * length before each) or as the whole body (Connect unary, `application/proto`). A compressed
 * message (gzip or br, as its encoding header says) is decompressed here to be checked, within
 * the read limit; one that does not decompress, or is larger, is Connect's to refuse (it answers
 * INVALID_ARGUMENT and RESOURCE_EXHAUSTED). JSON bodies are Connect's: it answers an invalid one
 * with INVALID_ARGUMENT already.
 */
import { brotliDecompressSync, gunzipSync } from "node:zlib";
import { fromBinary, type DescMessage } from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  createConnectRouter,
  type ConnectRouter,
  type ConnectRouterOptions,
  type ContextValues,
} from "@connectrpc/connect";
import type {
  UniversalHandler,
  UniversalServerRequest,
  UniversalServerResponse,
} from "@connectrpc/connect/protocol";
import {
  compressionBrotli,
  compressionGzip,
  universalRequestFromNodeRequest,
  universalResponseToNodeResponse,
} from "@connectrpc/connect-node";
import type { OutgoingHttpHeaders } from "node:http";
import type { Logger } from "../logger.js";
import { respecGrpcMessage } from "./grpc-message.js";
import { parseFailureReason, undecodable } from "./undecodable.js";
import type { RequestHandler } from "./listen.js";

/** The enveloped binary protocols whose unary bodies are decoded here (not gRPC: see above). */
const ENVELOPED = /^application\/(?:grpc-web(?:\+proto)?|connect\+proto)$/i;
const WHOLE_BODY = /^application\/proto$/i;
const COMPRESSED_FLAG = 0x01;
/** gRPC proper (not gRPC-Web, whose trailers travel in the body). */
const GRPC = /^application\/grpc(?:\+proto)?(?:;|$)/i;
const GRPC_STATUS = "grpc-status";
const GRPC_MESSAGE = "grpc-message";

/** Throws INVALID_ARGUMENT when `bytes` is not a `schema` message. */
function check(schema: DescMessage, bytes: Uint8Array): void {
  try {
    fromBinary(schema, bytes);
  } catch (err) {
    throw undecodable(schema, err instanceof Error ? err.message : String(err));
  }
}

/** How to undo an encoding header's compression, up to `max` bytes; undefined if unknown. */
type Inflate = (bytes: Uint8Array, max: number) => Uint8Array;

const INFLATE: Readonly<Record<string, Inflate>> = {
  gzip: (bytes, max) => gunzipSync(bytes, { maxOutputLength: max }),
  br: (bytes, max) => brotliDecompressSync(bytes, { maxOutputLength: max }),
};

/**
 * Checks a compressed message: throws INVALID_ARGUMENT when it decompresses but is not a
 * `schema` message. What does not decompress (or is over `max`) is left to Connect.
 */
function checkCompressed(
  schema: DescMessage,
  bytes: Uint8Array,
  inflate: Inflate | undefined,
  max: number,
): void {
  if (inflate === undefined) return;
  let plain: Uint8Array;
  try {
    plain = inflate(bytes, max);
  } catch {
    return;
  }
  check(schema, plain);
}

/**
 * The body's envelopes, each uncompressed message checked, passed on unchanged. Chunks are joined
 * only once they hold the next whole envelope: a large message (a worker's batch of results)
 * comes in many HTTP/2 frames, and joining at every frame copied it over and over.
 */
export async function* checkEnvelopes(
  body: AsyncIterable<Uint8Array>,
  schema: DescMessage,
  inflate: Inflate | undefined,
  max: number,
): AsyncGenerator<Uint8Array> {
  const pending: Uint8Array[] = [];
  let size = 0;
  // Bytes the pending chunks must hold before the next envelope can be checked.
  let need = 5;
  for await (const chunk of body) {
    pending.push(chunk);
    size += chunk.length;
    if (size < need) continue;
    const buffered = pending.length === 1 ? chunk : Buffer.concat(pending, size);
    let start = 0;
    need = 5;
    while (buffered.length - start >= 5) {
      const view = new DataView(buffered.buffer, buffered.byteOffset + start, 5);
      const length = view.getUint32(1);
      if (buffered.length - start < 5 + length) {
        need = 5 + length;
        break;
      }
      const flags = view.getUint8(0);
      const message = buffered.subarray(start + 5, start + 5 + length);
      if ((flags & COMPRESSED_FLAG) === 0) check(schema, message);
      else checkCompressed(schema, message, inflate, max);
      start += 5 + length;
    }
    pending.length = 0;
    size = buffered.length - start;
    if (size > 0) pending.push(buffered.subarray(start));
    if (start > 0) yield buffered.subarray(0, start);
  }
  // An incomplete envelope is Connect's to refuse.
  if (size > 0) yield Buffer.concat(pending, size);
}

/** A whole-body message (Connect unary), checked (decompressed first when `encoding` says). */
async function* checkWhole(
  body: AsyncIterable<Uint8Array>,
  schema: DescMessage,
  encoding: string,
  max: number,
): AsyncGenerator<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of body) chunks.push(chunk);
  const bytes = Buffer.concat(chunks);
  if (encoding === "identity") check(schema, bytes);
  else checkCompressed(schema, bytes, INFLATE[encoding], max);
  yield bytes;
}

/** The encoding named by `header` (lower case; identity when absent). */
function encodingOf(req: UniversalServerRequest, header: string): string {
  return (req.header.get(header) ?? "identity").trim().toLowerCase();
}

function checkedBody(
  req: UniversalServerRequest,
  schema: DescMessage,
  max: number,
): UniversalServerRequest {
  const body = req.body;
  if (!(typeof body === "object" && body !== null && Symbol.asyncIterator in body)) return req;
  const type = (req.header.get("content-type") ?? "").split(";")[0]?.trim() ?? "";
  if (ENVELOPED.test(type)) {
    // gRPC-Web names the messages' compression in grpc-encoding, Connect streaming in
    // connect-content-encoding.
    const header = /^application\/connect/i.test(type)
      ? "connect-content-encoding"
      : "grpc-encoding";
    return { ...req, body: checkEnvelopes(body, schema, INFLATE[encodingOf(req, header)], max) };
  }
  if (WHOLE_BODY.test(type))
    return { ...req, body: checkWhole(body, schema, encodingOf(req, "content-encoding"), max) };
  return req;
}

/**
 * A gRPC answer whose status is Connect's parse failure of the request (INTERNAL, "parse binary:
 * …"), answered INVALID_ARGUMENT instead, in place. The status is in the trailers, and a unary
 * call that failed to parse has ended before its answer is handed over.
 */
function parseFailureAsInvalid(
  res: UniversalServerResponse,
  schema: DescMessage,
): UniversalServerResponse {
  const trailer = res.trailer;
  if (trailer?.get(GRPC_STATUS) !== String(Code.Internal)) return res;
  let message: string;
  try {
    message = decodeURIComponent(trailer.get(GRPC_MESSAGE) ?? "");
  } catch {
    return res;
  }
  const reason = parseFailureReason(message);
  if (reason === undefined) return res;
  const err = undecodable(schema, reason);
  trailer.set(GRPC_STATUS, String(err.code));
  // Connect's encoding of grpc-message (re-encoded the spec's way as it is written: grpc-message.ts).
  trailer.set(GRPC_MESSAGE, encodeURIComponent(err.rawMessage));
  return res;
}

function checked(handler: UniversalHandler, max: number): UniversalHandler {
  // A stream's messages are decoded once, by Connect, as the service reads them (see above).
  if (handler.method.methodKind !== "unary") return handler;
  const schema = handler.method.input;
  return Object.assign(
    async (req: UniversalServerRequest) =>
      GRPC.test(req.header.get("content-type") ?? "")
        ? parseFailureAsInvalid(await handler(req), schema)
        : handler(checkedBody(req, schema, max)),
    { ...handler },
  );
}

export interface AdapterOptions extends ConnectRouterOptions {
  readonly routes: (router: ConnectRouter) => void;
  readonly log: Logger;
  /** The context values of a request (its client certificate: peer-certificate.ts). */
  readonly contextValues?: ((req: Parameters<RequestHandler>[0]) => ContextValues) | undefined;
}

/**
 * `res` with the `grpc-message` of its headers (a trailers-only answer) and trailers encoded as
 * the gRPC spec says (grpc-message.ts).
 */
function respecGrpcMessages(res: Parameters<RequestHandler>[1]): void {
  // The two calls connect-node's universalResponseToNodeResponse makes, in the form it makes them.
  const w = res as unknown as {
    addTrailers(headers: OutgoingHttpHeaders): void;
    writeHead(status: number, headers?: OutgoingHttpHeaders): unknown;
  };
  const addTrailers = w.addTrailers.bind(w);
  const writeHead = w.writeHead.bind(w);
  w.addTrailers = (headers) => {
    respecGrpcMessage(headers);
    addTrailers(headers);
  };
  w.writeHead = (status, headers) => {
    respecGrpcMessage(headers);
    return writeHead(status, headers);
  };
}

/** The router as a Node request handler: unknown paths get a bare 404. */
export function nodeAdapter(options: AdapterOptions): RequestHandler {
  const router = createConnectRouter({
    acceptCompression: [compressionGzip, compressionBrotli],
    ...options,
  });
  options.routes(router);
  const paths = new Map<string, UniversalHandler>();
  // Connect's own limit on a decompressed message (its default when unset).
  const max = options.readMaxBytes ?? 0xffffffff;
  for (const handler of router.handlers) paths.set(handler.requestPath, checked(handler, max));
  return (req, res) => {
    const handler = paths.get((req.url ?? "").split("?", 2)[0] ?? "");
    if (!handler) {
      res.writeHead(404);
      res.end();
      return;
    }
    const uReq = universalRequestFromNodeRequest(req, res, undefined, options.contextValues?.(req));
    if (GRPC.test(req.headers["content-type"] ?? "")) respecGrpcMessages(res);
    handler(uReq)
      .then((uRes) => universalResponseToNodeResponse(uRes, res))
      .catch((err: unknown) => {
        if (ConnectError.from(err).code === Code.Aborted) return;
        options.log.error(
          { err, rpc: `${handler.service.typeName}/${handler.method.name}` },
          "writing a response failed",
        );
      });
  };
}
