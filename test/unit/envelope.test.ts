/**
 * Sealed envelopes (server/src/lib/envelope.ts): AES-256-GCM under a ring of keys, the first
 * sealing, every one opening; bound to their place by associated data.
 */
import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  BrokenEnvelopeError,
  envelopeKeyId,
  isEnvelope,
  SealingKeys,
  shown,
  UnknownKeyError,
} from "../../server/src/lib/envelope.js";

const k1 = { id: "k1", key: randomBytes(32) };
const k2 = { id: "k2", key: randomBytes(32) };
const PLACE = "metronome/v1\nargs\nscheduler=default\njob=j1";

/** The envelope with one base64url character of its ciphertext changed. */
function flipped(envelope: string): string {
  const parts = envelope.split(":");
  const data = parts[4] ?? "";
  const c = data.charAt(3) === "A" ? "B" : "A";
  parts[4] = data.slice(0, 3) + c + data.slice(4);
  return parts.join(":");
}

describe("sealed envelopes", () => {
  it("round-trip: what was sealed opens to the same text, and the envelope names its key", () => {
    const ring = new SealingKeys([k1]);
    const text = JSON.stringify(["secret-argument", { n: 1 }, "ünïcödé ✓"]);
    const envelope = ring.seal(text, PLACE);
    expect(isEnvelope(envelope)).toBe(true);
    expect(envelope.startsWith("mtn-sealed:v1:k1:")).toBe(true);
    expect(envelopeKeyId(envelope)).toBe("k1");
    expect(envelope).not.toContain("secret-argument");
    expect(ring.open(envelope, PLACE)).toBe(text);
  });

  it("a fresh IV for each value: the same text seals differently every time", () => {
    const ring = new SealingKeys([k1]);
    const a = ring.seal("same", PLACE);
    const b = ring.seal("same", PLACE);
    expect(a).not.toBe(b);
    expect(a.split(":")[3]).not.toBe(b.split(":")[3]);
  });

  it("a changed ciphertext, IV or place is refused (authentication fails)", () => {
    const ring = new SealingKeys([k1]);
    const envelope = ring.seal("payload", PLACE);
    expect(() => ring.open(flipped(envelope), PLACE)).toThrow(BrokenEnvelopeError);
    const parts = envelope.split(":");
    parts[3] = randomBytes(12).toString("base64url");
    expect(() => ring.open(parts.join(":"), PLACE)).toThrow(BrokenEnvelopeError);
    // Moved to another job's place.
    expect(() => ring.open(envelope, PLACE.replace("job=j1", "job=j2"))).toThrow(
      /failed authentication \(key id "k1"\)/,
    );
    expect(() => ring.open("mtn-sealed:v1:k1:short", PLACE)).toThrow(/malformed/);
    expect(() => ring.open("mtn-sealed:v9:k1:AAAA:AAAA", PLACE)).toThrow(/unknown version "v9"/);
  });

  it("an envelope under a key id the ring does not hold names the id, never a key", () => {
    const envelope = new SealingKeys([k1]).seal("payload", PLACE);
    const other = new SealingKeys([k2]);
    let caught: unknown;
    try {
      other.open(envelope, PLACE);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(UnknownKeyError);
    expect((caught as UnknownKeyError).keyId).toBe("k1");
    const message = (caught as Error).message;
    for (const k of [k1, k2]) {
      expect(message).not.toContain(k.key.toString("base64"));
      expect(message).not.toContain(k.key.toString("base64url"));
    }
    // The same key under another id does not open it either: the id picks the key.
    expect(() => new SealingKeys([{ id: "k9", key: k1.key }]).open(envelope, PLACE)).toThrow(
      UnknownKeyError,
    );
  });

  it("rotation: the first key seals, every key opens", () => {
    const old = new SealingKeys([k1]).seal("old row", PLACE);
    const rotated = new SealingKeys([k2, k1]);
    expect(rotated.sealingKeyId).toBe("k2");
    expect(rotated.open(old, PLACE)).toBe("old row");
    const fresh = rotated.seal("new row", PLACE);
    expect(envelopeKeyId(fresh)).toBe("k2");
    expect(new SealingKeys([k2]).open(fresh, PLACE)).toBe("new row");
  });

  it("refuses a ring of bad keys, naming the key id", () => {
    expect(() => new SealingKeys([])).toThrow(/at least one key/);
    expect(() => new SealingKeys([{ id: "short", key: randomBytes(16) }])).toThrow(
      'key "short" has 16 bytes, not 32',
    );
    expect(() => new SealingKeys([k1, { id: "k1", key: randomBytes(32) }])).toThrow(
      'key id "k1" appears twice',
    );
    expect(() => new SealingKeys([{ id: "a:b", key: randomBytes(32) }])).toThrow(/key id "a:b"/);
  });

  it("shows an envelope as (sealed) in log lines, other text as it is", () => {
    expect(shown(new SealingKeys([k1]).seal("x", PLACE))).toBe("(sealed)");
    expect(shown("plain error")).toBe("plain error");
  });
});
