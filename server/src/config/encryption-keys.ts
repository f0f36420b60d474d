/**
 * `METRONOME_ENCRYPTION_KEYS`: the keys that seal job data at rest (docs/security.md, "What is
 * encrypted where"), comma-separated `<key id>:<base64 of 32 bytes>`; the first seals, all open.
 * Keys are secrets: a message names the key id or the entry's position, never a key.
 */
import { z } from "zod";
import { KEY_BYTES, KEY_ID, type EnvelopeKey } from "../lib/envelope.js";

const BASE64 = /^[A-Za-z0-9+/_-]+={0,2}$/;

/** The problem with one entry (1-based `position`), or the key it holds. */
function parseEntry(entry: string, position: number, seen: Set<string>): EnvelopeKey | string {
  const colon = entry.indexOf(":");
  if (colon < 0) return `entry ${String(position)} is not <key id>:<base64 key> (value not shown)`;
  const id = entry.slice(0, colon).trim();
  const text = entry.slice(colon + 1).trim();
  if (!KEY_ID.test(id))
    return `entry ${String(position)}: the key id must be 1 to 64 of A-Z a-z 0-9 _ . - (value not shown)`;
  if (seen.has(id)) return `key id "${id}" appears twice`;
  seen.add(id);
  if (!BASE64.test(text)) return `key "${id}" is not base64 (value not shown)`;
  const key = Buffer.from(text, "base64");
  if (key.length !== KEY_BYTES)
    return `key "${id}" decodes to ${String(key.length)} bytes; AES-256 needs ${String(KEY_BYTES)} (e.g. \`openssl rand -base64 32\`)`;
  return { id, key };
}

export const ENCRYPTION_KEYS = z.string().transform((s, ctx): EnvelopeKey[] => {
  const entries = s.split(",").map((e) => e.trim());
  if (entries.length === 1 && entries[0] === "") return [];
  const seen = new Set<string>();
  const keys: EnvelopeKey[] = [];
  for (const [i, entry] of entries.entries()) {
    const parsed =
      entry === "" ? `entry ${String(i + 1)} is empty` : parseEntry(entry, i + 1, seen);
    if (typeof parsed === "string") {
      ctx.issues.push({ code: "custom", message: parsed, input: "(not shown)" });
      return z.NEVER;
    }
    keys.push(parsed);
  }
  return keys;
});
