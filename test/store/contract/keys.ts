/** API keys (store/port-keys.ts): stored with their hash, listed newest first, revoked once. */
import { describe, expect, it } from "vitest";
import { keyEvent } from "../../../server/src/domain/events.js";
import type { ApiKeyRecord } from "../../../server/src/domain/keys.js";
import { allEvents, S, T0, useStores, type StoreFactory } from "./fixtures.js";

const key = (id: string, createdAt: number, extra: Partial<ApiKeyRecord> = {}): ApiKeyRecord => ({
  id,
  name: `key ${id}`,
  scopes: ["read:s1", "worker:reports.*"],
  hash: "ab".repeat(32),
  salt: "cd".repeat(16),
  createdAt,
  createdBy: "env:1",
  expiresAt: null,
  revokedAt: null,
  revokedBy: null,
  ...extra,
});

export function keysContract(factory: StoreFactory): void {
  describe("API keys", () => {
    const stores = useStores(factory);

    it("inserts, reads, lists newest first, and refuses a repeated id", async () => {
      const { store } = stores;
      const a = key("00000000000000aa", T0, { expiresAt: T0 + 60 * S, name: "名前 with ünïcode" });
      const b = key("00000000000000bb", T0 + S);
      expect(await store.insertKey(a, [keyEvent("key_created", a.id, T0, "n1", "env:1")])).toBe(
        true,
      );
      expect(await store.insertKey(b)).toBe(true);
      expect(await store.insertKey({ ...b, name: "again" })).toBe(false);
      expect(await store.getKey(a.id)).toEqual(a);
      expect(await store.getKey("00000000000000cc")).toBeNull();
      expect(await store.listKeys()).toEqual([b, a]);
      const events = await allEvents(store);
      expect(events.map((e) => [e.type, e.data.keyId, e.data.actor])).toEqual([
        ["key_created", a.id, "env:1"],
      ]);
    });

    it("revokes a key once, with its events; a second revoke changes nothing", async () => {
      const { store } = stores;
      const a = key("00000000000000dd", T0);
      await store.insertKey(a);
      const first = await store.revokeKey(a.id, T0 + S, "k1", (k) => [
        keyEvent("key_revoked", k.id, T0 + S, "n1", "k1"),
      ]);
      expect(first).toEqual({ key: { ...a, revokedAt: T0 + S, revokedBy: "k1" }, revoked: true });
      const again = await store.revokeKey(a.id, T0 + 2 * S, "k2", (k) => [
        keyEvent("key_revoked", k.id, T0 + 2 * S, "n1", "k2"),
      ]);
      expect(again).toEqual({ key: { ...a, revokedAt: T0 + S, revokedBy: "k1" }, revoked: false });
      expect(await store.getKey(a.id)).toEqual(first?.key);
      expect(await store.revokeKey("00000000000000ee", T0, "k1")).toBeNull();
      const events = await allEvents(store);
      expect(events.filter((e) => e.type === "key_revoked").map((e) => e.data.actor)).toEqual([
        "k1",
      ]);
    });
  });
}
