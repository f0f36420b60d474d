/**
 * The `grpc-message` of gRPC responses, percent-encoded as the gRPC spec says (PROTOCOL-HTTP2:
 * every byte of the UTF-8 message outside 0x20–0x7E, and `%`, as `%XX`; everything else as it
 * is). Connect writes it with `encodeURIComponent`, which also encodes `:`, `,`, `/`, `[` … —
 * and @grpc/grpc-js decodes it with `decodeURI`, which leaves those encoded: its users read
 * `job.args%3A must be …`. Re-encoded the spec's way, every client reads the message as sent
 * (Connect's own clients decode either form with `decodeURIComponent`).
 */
import type { OutgoingHttpHeaders } from "node:http";

const HEADER = "grpc-message";

/** `message` percent-encoded the gRPC spec's way. */
export function encodeGrpcMessage(message: string): string {
  let out = "";
  for (const byte of Buffer.from(message, "utf8")) {
    out +=
      byte >= 0x20 && byte <= 0x7e && byte !== 0x25
        ? String.fromCharCode(byte)
        : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

/** Connect's encoding of `grpc-message` in `headers` replaced by the spec's (in place). */
export function respecGrpcMessage(headers: OutgoingHttpHeaders | undefined): void {
  const value = headers?.[HEADER];
  if (headers === undefined || typeof value !== "string") return;
  let message: string;
  try {
    message = decodeURIComponent(value);
  } catch {
    return; // not Connect's encoding: left as it is
  }
  headers[HEADER] = encodeGrpcMessage(message);
}
