/**
 * A key created on another node since this node's last read of the keys is read by id; at most
 * four such reads run at once, so a flood of unknown key ids cannot become a store round trip
 * per call. A call that finds those reads busy waits for the next refresh of the keys (which
 * reads them all) instead of being refused: a new key's first call is delayed by a flood, not
 * refused. The store is a real one (SQLite in memory); the reads of the garbage ids are held
 * until the test lets them go, so that they occupy the four reads.
 */
import { describe, expect, it } from "vitest";
import type { ApiKeyRecord } from "../../server/src/domain/keys.js";
import { createLogger } from "../../server/src/logger.js";
import { KeyRing, newSecret } from "../../server/src/management/key-ring.js";
import { openStore } from "../../server/src/store/open.js";
import type { KeyStore } from "../../server/src/store/port.js";
import { ManualClock } from "../support/clock.js";

const NOW = Date.parse("2026-06-01T00:00:00Z");

describe("reads of unknown key ids", () => {
  it("make a new key's first call wait for the next refresh when they are busy, not fail", async () => {
    const store = openStore({ kind: "sqlite", path: ":memory:" });
    await store.migrate();
    let letGo = (): void => undefined;
    const gate = new Promise<void>((resolve) => (letGo = resolve));
    const readById: string[] = [];
    const held: KeyStore = {
      insertKey: (k, e) => store.insertKey(k, e),
      listKeys: () => store.listKeys(),
      revokeKey: (id, at, by, e) => store.revokeKey(id, at, by, e),
      getKey: async (id) => {
        readById.push(id);
        await gate;
        return store.getKey(id);
      },
    };
    const ring = new KeyRing(held, new ManualClock(NOW), createLogger("silent"), {
      tokens: ["bootstrap"],
      refreshMs: 50,
    });
    ring.start();
    try {
      await ring.refresh();
      // Four garbage ids (well-formed secrets of keys that do not exist) occupy the reads by id.
      const garbage = await Promise.all([1, 2, 3, 4].map(() => newSecret()));
      const refused = garbage.map((g) =>
        ring.authenticate(`Bearer ${g.secret}`).then(() => "ok", String),
      );
      // A key made on another node after this node's last read.
      const made = await newSecret();
      const record: ApiKeyRecord = {
        id: made.id,
        name: "deploy-bot",
        scopes: ["read:reports"],
        hash: made.hash,
        salt: made.salt,
        createdAt: NOW,
        createdBy: "env:1",
        expiresAt: null,
        revokedAt: null,
        revokedBy: null,
      };
      expect(await store.insertKey(record)).toBe(true);
      const principal = await ring.authenticate(`Bearer ${made.secret}`);
      expect([principal.keyId, principal.scopes.list]).toEqual([made.id, ["read:reports"]]);
      // It was not read by id: the four reads were busy, the refresh read it.
      expect(readById.sort()).toEqual(garbage.map((g) => g.id).sort());
      // A fifth garbage id waits for a refresh too, and is refused after it.
      const fifth = await newSecret();
      await expect(ring.authenticate(`Bearer ${fifth.secret}`)).rejects.toThrow(
        "missing or invalid bearer token",
      );
      letGo();
      expect(await Promise.all(refused)).toEqual(
        garbage.map(() => "UnauthenticatedError: missing or invalid bearer token"),
      );
    } finally {
      letGo();
      await ring.stop();
      await store.close();
    }
  });
});
