/** Keyset page tokens: opaque to clients, base64url of the last row's sort key. */

export function encodePageToken(key: readonly (string | number)[]): string {
  return Buffer.from(JSON.stringify(key)).toString("base64url");
}

export function decodePageToken(token: string): (string | number)[] | null {
  try {
    const key: unknown = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
    if (Array.isArray(key) && key.every((k) => typeof k === "string" || typeof k === "number"))
      return key;
  } catch {
    // fall through
  }
  return null;
}

/** Sort key for next-run-time order: jobs without a next run time sort last. */
export const NO_NEXT_RUN = Number.MAX_SAFE_INTEGER;
