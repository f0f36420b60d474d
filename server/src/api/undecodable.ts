/**
 * A request message that does not decode (truncated, wrong wire types, invalid UTF-8 in a
 * string) is the client's fault: INVALID_ARGUMENT saying so, never the INTERNAL that Connect
 * answers it with (its parser cannot tell a bad body from a server bug).
 *
 * A unary call's message is decoded before any interceptor runs. Over gRPC, the adapter replaces
 * the status Connect answers a parse failure with (adapter.ts: the trailers of the answer, before
 * they are sent), so the message is decoded once; over gRPC-Web and Connect's protocol, whose
 * errors travel in the body, the adapter decodes each message once more, first. A stream's
 * messages are decoded as the service reads them, after the interceptors: there the parser's own
 * error is recognised and replaced (`decodeErrors`), so a worker's stream of results is decoded
 * once.
 */
import type { DescMessage } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";

/** INVALID_ARGUMENT: `reason` is why the bytes are not a `schema` message. */
export function undecodable(schema: DescMessage, reason: string): ConnectError {
  return new ConnectError(
    `the request does not decode as ${schema.typeName} (${reason})`,
    Code.InvalidArgument,
  );
}

/** How Connect's binary serialization (createBinarySerialization) reports a message it cannot parse. */
const PARSE_FAILED = "parse binary: ";

/**
 * Why the message did not decode, when an INTERNAL error's message is Connect's parse failure
 * ("parse binary: …"); undefined for any other message.
 */
export function parseFailureReason(rawMessage: string): string | undefined {
  return rawMessage.startsWith(PARSE_FAILED) ? rawMessage.slice(PARSE_FAILED.length) : undefined;
}

/**
 * Why the message did not decode, when `err` is Connect's parse failure (INTERNAL, "parse binary:
 * …"); undefined for any other error.
 */
export function parseFailure(err: unknown): string | undefined {
  if (!(err instanceof ConnectError) || err.code !== Code.Internal) return undefined;
  return parseFailureReason(err.rawMessage);
}

/** A stream's messages, a message that does not decode ending it with INVALID_ARGUMENT. */
export async function* decodeErrors<T>(
  messages: AsyncIterable<T>,
  schema: DescMessage,
): AsyncGenerator<T> {
  try {
    yield* messages;
  } catch (err) {
    const reason = parseFailure(err);
    throw reason === undefined ? err : undecodable(schema, reason);
  }
}
