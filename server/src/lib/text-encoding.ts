/**
 * UTF-8 for protobuf-es without a trip into C++ for short ASCII strings. protobuf-es encodes
 * every string field through the WHATWG TextEncoder, whose fixed cost per call (~300 ns on Node
 * 20) is far above the work for the short ASCII strings that make up the worker protocol (run
 * ids, lease tokens, job ids, handler names): string encoding was 5 % of a saturated node's CPU
 * (bench throughput, 2026-12-05). Short ASCII strings are copied byte for byte here (~40 ns);
 * anything else, and every string over SHORT characters, goes to the platform's encoder as
 * before, so the bytes are the same. Decoding stays the platform's (TextDecoder is fast already:
 * ~65 ns for such a string).
 */
import { configureTextEncoding, getTextEncoding } from "@bufbuild/protobuf/wire";

/** Longer strings go to TextEncoder/TextDecoder: their fixed cost no longer dominates. */
const SHORT = 64;

/** `text` as UTF-8: byte per character when it is short and ASCII, else `fallback`. */
export function encodeShortAscii(
  text: string,
  fallback: (text: string) => Uint8Array<ArrayBuffer>,
): Uint8Array<ArrayBuffer> {
  const n = text.length;
  if (n > SHORT) return fallback(text);
  const bytes = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c > 0x7f) return fallback(text);
    bytes[i] = c;
  }
  return bytes;
}

let installed = false;

/** Makes protobuf-es use the fast paths above (process-wide; once). */
export function useFastTextEncoding(): void {
  if (installed) return;
  installed = true;
  const platform = getTextEncoding();
  configureTextEncoding({
    checkUtf8: platform.checkUtf8,
    encodeUtf8: (text) => encodeShortAscii(text, platform.encodeUtf8),
    decodeUtf8: platform.decodeUtf8,
  });
}
