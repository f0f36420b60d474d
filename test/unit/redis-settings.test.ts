/**
 * The Redis store's start-up warnings (store/redis/persistence.ts): Redis without the append-only
 * file, and Redis that evicts keys when full (it loses records and leaves their indexes behind).
 */
import type { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import { persistenceWarnings } from "../../server/src/store/redis/persistence.js";

/** A connection whose CONFIG GET answers these settings (or fails, as a disabled CONFIG does). */
function server(settings: Record<string, string> | "disabled"): Redis {
  const config = (_get: string, name: string): Promise<string[]> =>
    settings === "disabled"
      ? Promise.reject(new Error("ERR unknown command 'CONFIG'"))
      : Promise.resolve(name in settings ? [name, settings[name] ?? ""] : []);
  return { config } as unknown as Redis;
}

describe("the Redis store's start-up warnings", () => {
  it("say nothing with the append-only file on and no eviction", async () => {
    expect(
      await persistenceWarnings(server({ appendonly: "yes", "maxmemory-policy": "noeviction" })),
    ).toEqual([]);
  });

  it("warn when Redis evicts keys when full, naming the policy and noeviction", async () => {
    const warnings = await persistenceWarnings(
      server({ appendonly: "yes", "maxmemory-policy": "allkeys-lru" }),
    );
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain("maxmemory-policy allkeys-lru");
    expect(warnings[0]).toContain("noeviction");
  });

  it("warn of both when Redis runs without the append-only file and evicts", async () => {
    const warnings = await persistenceWarnings(
      server({ appendonly: "no", "maxmemory-policy": "volatile-lru" }),
    );
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toContain("appendonly no");
    expect(warnings[1]).toContain("volatile-lru");
  });

  it("say nothing where CONFIG is disabled", async () => {
    expect(await persistenceWarnings(server("disabled"))).toEqual([]);
  });
});
